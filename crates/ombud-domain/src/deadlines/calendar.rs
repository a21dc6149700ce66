//! Business-hours calendars: when a team or a region works, in its own time
//! zone, with holidays and one-off exceptions.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

use crate::validation::{Collector, Invalid};

/// How far ahead a calendar is searched for working time before giving up.
const SEARCH_HORIZON_DAYS: i32 = 3 * 366;

const MINUTES_PER_DAY: u16 = 24 * 60;

/// One stretch of working time within a day, in minutes since local midnight;
/// `closes` may be 1440 (24:00), the end of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hours {
    opens: u16,
    closes: u16,
}

impl Hours {
    /// Parses `HH:MM-HH:MM`; `24:00` closes at the end of the day.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (opens, closes) = text
            .split_once('-')
            .ok_or_else(|| format!("{text:?} is not a range like \"09:00-17:30\""))?;
        let opens = minute_of_day(opens.trim())?;
        let closes = minute_of_day(closes.trim())?;
        if opens >= closes {
            return Err(format!(
                "{text:?} closes before it opens; split hours that cross midnight into two days"
            ));
        }
        Ok(Self { opens, closes })
    }

    fn length_minutes(self) -> u16 {
        self.closes - self.opens
    }
}

impl std::fmt::Display for Hours {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.opens / 60,
            self.opens % 60,
            self.closes / 60,
            self.closes % 60
        )
    }
}

fn minute_of_day(text: &str) -> Result<u16, String> {
    let parsed = (text.len() == 5 && text.as_bytes()[2] == b':')
        .then(|| {
            Some((
                text[..2].parse::<u16>().ok()?,
                text[3..].parse::<u16>().ok()?,
            ))
        })
        .flatten()
        .filter(|&(h, m)| m < 60 && (h < 24 || (h == 24 && m == 0)));
    parsed
        .map(|(h, m)| h * 60 + m)
        .ok_or_else(|| format!("{text:?} is not a time of day like \"09:00\" (00:00 to 24:00)"))
}

/// A calendar as people write it (and as the API and storage carry it):
/// an IANA time zone, weekly hours, holidays and dated exceptions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CalendarSpec {
    /// IANA time zone name, e.g. `Asia/Tokyo`.
    pub time_zone: String,
    /// Working hours per weekday (`monday` … `sunday`), each `HH:MM-HH:MM`;
    /// a day left out is closed.
    #[serde(default)]
    pub weekly: BTreeMap<String, Vec<String>>,
    /// Dates (`YYYY-MM-DD`) with no working time.
    #[serde(default)]
    pub holidays: Vec<String>,
    /// Dates whose hours differ from the weekly pattern; an empty list closes the day.
    #[serde(default)]
    pub exceptions: BTreeMap<String, Vec<String>>,
}

/// The weekdays by the names settings use, Monday first.
pub(crate) const WEEKDAYS: [(&str, Weekday); 7] = [
    ("monday", Weekday::Monday),
    ("tuesday", Weekday::Tuesday),
    ("wednesday", Weekday::Wednesday),
    ("thursday", Weekday::Thursday),
    ("friday", Weekday::Friday),
    ("saturday", Weekday::Saturday),
    ("sunday", Weekday::Sunday),
];

/// A validated calendar: it knows, for any instant, the working time ahead.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessCalendar {
    time_zone: TimeZone,
    time_zone_name: String,
    /// Monday first; each day's hours sorted and non-overlapping.
    weekly: [Vec<Hours>; 7],
    holidays: BTreeSet<Date>,
    exceptions: BTreeMap<Date, Vec<Hours>>,
}

impl BusinessCalendar {
    /// Every hour of every day, in `time_zone`: the calendar of 24/7 teams,
    /// and the governing zone of calendar-day deadlines.
    pub fn always_open(time_zone: TimeZone) -> Self {
        let name = time_zone.iana_name().unwrap_or("UTC").to_string();
        let all_day = vec![Hours {
            opens: 0,
            closes: MINUTES_PER_DAY,
        }];
        Self {
            time_zone,
            time_zone_name: name,
            weekly: std::array::from_fn(|_| all_day.clone()),
            holidays: BTreeSet::new(),
            exceptions: BTreeMap::new(),
        }
    }

    /// Monday to Friday, 09:00–17:00 in `time_zone`, no holidays: the
    /// working week assumed when a rule counts business days and the team
    /// has no calendar of its own.
    pub fn weekdays_nine_to_five(time_zone: TimeZone) -> Self {
        let mut calendar = Self::always_open(time_zone);
        for (index, day) in calendar.weekly.iter_mut().enumerate() {
            *day = if index < 5 {
                vec![Hours {
                    opens: 9 * 60,
                    closes: 17 * 60,
                }]
            } else {
                Vec::new()
            };
        }
        calendar
    }

    /// Checks a spec, naming every faulty part.
    pub fn from_spec(spec: &CalendarSpec) -> Result<Self, Invalid> {
        let mut errors = Collector::default();
        let time_zone = TimeZone::get(&spec.time_zone)
            .map_err(|_| {
                errors.push(
                    "time_zone",
                    format!(
                        "{:?} is not an IANA time zone name such as \"Asia/Tokyo\"",
                        spec.time_zone
                    ),
                )
            })
            .ok();
        let mut weekly: [Vec<Hours>; 7] = Default::default();
        for (day, hours) in &spec.weekly {
            match WEEKDAYS.iter().position(|(name, _)| name == day) {
                Some(index) => {
                    if let Some(hours) = day_hours(&mut errors, &format!("weekly.{day}"), hours) {
                        weekly[index] = hours;
                    }
                }
                None => errors.push(
                    format!("weekly.{day}"),
                    "not a weekday; use monday, tuesday, … sunday",
                ),
            }
        }
        if spec.weekly.values().all(Vec::is_empty) {
            errors.push(
                "weekly",
                "a calendar needs working hours on at least one weekday",
            );
        }
        let mut holidays = BTreeSet::new();
        for (index, text) in spec.holidays.iter().enumerate() {
            if let Some(date) = date(&mut errors, &format!("holidays[{index}]"), text) {
                holidays.insert(date);
            }
        }
        let mut exceptions = BTreeMap::new();
        for (text, hours) in &spec.exceptions {
            let field = format!("exceptions.{text}");
            let date = date(&mut errors, &field, text);
            let hours = day_hours(&mut errors, &field, hours);
            if let (Some(date), Some(hours)) = (date, hours) {
                exceptions.insert(date, hours);
            }
        }
        errors.finish()?;
        Ok(Self {
            time_zone: time_zone.expect("checked above"),
            time_zone_name: spec.time_zone.clone(),
            weekly,
            holidays,
            exceptions,
        })
    }

    /// The spec this calendar was built from, in canonical form.
    pub fn to_spec(&self) -> CalendarSpec {
        let hours_text = |hours: &[Hours]| hours.iter().map(Hours::to_string).collect::<Vec<_>>();
        CalendarSpec {
            time_zone: self.time_zone_name.clone(),
            weekly: WEEKDAYS
                .iter()
                .zip(&self.weekly)
                .filter(|(_, hours)| !hours.is_empty())
                .map(|((name, _), hours)| (name.to_string(), hours_text(hours)))
                .collect(),
            holidays: self.holidays.iter().map(Date::to_string).collect(),
            exceptions: self
                .exceptions
                .iter()
                .map(|(date, hours)| (date.to_string(), hours_text(hours)))
                .collect(),
        }
    }

    pub fn time_zone(&self) -> &TimeZone {
        &self.time_zone
    }

    /// The working hours of one local date.
    pub fn hours_on(&self, date: Date) -> &[Hours] {
        if let Some(hours) = self.exceptions.get(&date) {
            return hours;
        }
        if self.holidays.contains(&date) {
            return &[];
        }
        &self.weekly[date.weekday().to_monday_zero_offset() as usize]
    }

    /// The local date of `at` in this calendar's time zone.
    pub fn local_date(&self, at: Timestamp) -> Date {
        at.to_zoned(self.time_zone.clone()).date()
    }

    /// The instant a local date's minute of day falls on; `minute` 1440 is the
    /// next midnight. Local times skipped by a daylight-saving change resolve
    /// to the instant just after the gap, repeated ones to the earlier instant.
    pub(crate) fn instant(&self, date: Date, minute: u16) -> Timestamp {
        let (date, minute) = if minute >= MINUTES_PER_DAY {
            (date.tomorrow().unwrap_or(date), minute - MINUTES_PER_DAY)
        } else {
            (date, minute)
        };
        date.at((minute / 60) as i8, (minute % 60) as i8, 0, 0)
            .to_zoned(self.time_zone.clone())
            .map(|zoned| zoned.timestamp())
            .unwrap_or(Timestamp::MAX)
    }

    /// The working intervals from `from` on, clipped to start at `from`,
    /// merged where they touch (so 24/7 is one long interval per search
    /// horizon), in time order. Ends after a horizon of about three years
    /// without working time.
    pub fn working_intervals(&self, from: Timestamp) -> WorkingIntervals<'_> {
        WorkingIntervals {
            calendar: self,
            from,
            date: self.local_date(from).yesterday().unwrap_or(Date::MIN),
            pending: Vec::new(),
            idle_days: 0,
        }
    }

    /// The first instant at or after `at` that is working time.
    pub fn next_working_instant(&self, at: Timestamp) -> Option<Timestamp> {
        self.working_intervals(at).next().map(|(start, _)| start)
    }

    /// Minutes of working time on a date, for business-day arithmetic.
    pub(crate) fn working_minutes_on(&self, date: Date) -> u32 {
        self.hours_on(date)
            .iter()
            .map(|h| u32::from(h.length_minutes()))
            .sum()
    }

    /// Where a local minute of day lands within `date`'s hours: itself when it
    /// is working time, else the next opening that day, else that day's last closing.
    pub(crate) fn clamp_into_hours(&self, date: Date, minute: u16) -> Option<Timestamp> {
        let hours = self.hours_on(date);
        let last = hours.last()?;
        let minute = hours
            .iter()
            .find(|h| minute < h.closes)
            .map_or(last.closes, |h| minute.max(h.opens));
        Some(self.instant(date, minute))
    }

    /// The local minute of day of `at`.
    pub(crate) fn minute_of_day(&self, at: Timestamp) -> u16 {
        let time = at.to_zoned(self.time_zone.clone()).time();
        time.hour() as u16 * 60 + time.minute() as u16
    }

    /// The next date after `date` with working time, within the search horizon.
    pub(crate) fn next_working_date(&self, date: Date) -> Option<Date> {
        let mut day = date;
        for _ in 0..SEARCH_HORIZON_DAYS {
            day = day.checked_add(1.day()).ok()?;
            if self.working_minutes_on(day) > 0 {
                return Some(day);
            }
        }
        None
    }
}

fn date(errors: &mut Collector, field: &str, text: &str) -> Option<Date> {
    text.parse::<Date>()
        .map_err(|_| errors.push(field, format!("{text:?} is not a date like \"2026-12-31\"")))
        .ok()
}

fn day_hours(errors: &mut Collector, field: &str, texts: &[String]) -> Option<Vec<Hours>> {
    let mut hours = Vec::with_capacity(texts.len());
    let mut ok = true;
    for (index, text) in texts.iter().enumerate() {
        match Hours::parse(text) {
            Ok(h) => hours.push(h),
            Err(message) => {
                errors.push(format!("{field}[{index}]"), message);
                ok = false;
            }
        }
    }
    hours.sort();
    if let Some(pair) = hours.windows(2).find(|pair| pair[0].closes > pair[1].opens) {
        errors.push(
            field,
            format!("the hours {} and {} overlap", pair[0], pair[1]),
        );
        ok = false;
    }
    ok.then_some(hours)
}

/// Iterator over a calendar's working intervals; see
/// [`BusinessCalendar::working_intervals`].
#[derive(Debug)]
pub struct WorkingIntervals<'a> {
    calendar: &'a BusinessCalendar,
    from: Timestamp,
    /// The last local date whose hours were queued.
    date: Date,
    /// Intervals of the current date not yet yielded, in reverse order.
    pending: Vec<(Timestamp, Timestamp)>,
    idle_days: i32,
}

impl WorkingIntervals<'_> {
    /// The next interval before merging, or `None` past the horizon.
    fn next_raw(&mut self) -> Option<(Timestamp, Timestamp)> {
        loop {
            if let Some(interval) = self.pending.pop() {
                return Some(interval);
            }
            if self.idle_days > SEARCH_HORIZON_DAYS {
                return None;
            }
            self.date = self.date.tomorrow().ok()?;
            let intervals: Vec<_> = self
                .calendar
                .hours_on(self.date)
                .iter()
                .map(|h| {
                    (
                        self.calendar.instant(self.date, h.opens),
                        self.calendar.instant(self.date, h.closes),
                    )
                })
                .filter(|&(_, end)| end > self.from)
                .map(|(start, end)| (start.max(self.from), end))
                .filter(|(start, end)| start < end)
                .collect();
            if intervals.is_empty() {
                self.idle_days += 1;
            } else {
                self.idle_days = 0;
            }
            self.pending = intervals.into_iter().rev().collect();
        }
    }
}

impl Iterator for WorkingIntervals<'_> {
    type Item = (Timestamp, Timestamp);

    fn next(&mut self) -> Option<Self::Item> {
        let (start, mut end) = self.next_raw()?;
        // Merge intervals that touch (midnight in a 24/7 calendar), but stop
        // after a few weeks so a 24/7 calendar still yields bounded pieces.
        for _ in 0..31 {
            match self.next_raw() {
                Some((next_start, next_end)) if next_start <= end => end = end.max(next_end),
                Some(other) => {
                    self.pending.push(other);
                    break;
                }
                None => break,
            }
        }
        Some((start, end))
    }
}
