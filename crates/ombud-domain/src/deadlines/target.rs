//! Deadline targets and the arithmetic that turns a start instant into a due
//! instant. The rules, stated once (docs/deadlines.md repeats them):
//!
//! - A target in hours, minutes or seconds (`PT24H`) is elapsed time, 24/7.
//! - A target in days, weeks, months or years (`P7D`, `P2M`) is calendar time
//!   in the governing time zone: the same wall-clock time N days later, so a
//!   daylight-saving change does not move it by an hour.
//! - A business target counts only the calendar's working time: business
//!   hours (`PT8H`) add working time; business days (`P10D`) land on the same
//!   local time of day N working days later (clamped into that day's hours).
//!   A clock that starts outside working hours starts at the next opening.
//!   A due instant that falls between two stretches of working time is the
//!   earlier one, the closing: one business day from a Saturday is Monday's
//!   closing, not Tuesday's opening.
//! - A pause stops the clock: the due instant moves later by the time the
//!   clock would have consumed during the pause (elapsed time for elapsed and
//!   calendar targets, working time for business targets).

use jiff::{SignedDuration, Span, Timestamp};
use serde::{Deserialize, Serialize};

use super::calendar::BusinessCalendar;

/// Which kind of time a clock consumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClockBasis {
    /// Every second counts (24/7).
    Calendar,
    /// Only the calendar's working time counts.
    Business,
}

/// How long a clock runs, before it is anchored to a start instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Elapsed time, 24/7.
    Elapsed(SignedDuration),
    /// Months and days of the civil calendar (years count as 12 months,
    /// weeks as 7 days).
    CalendarPeriod { months: i32, days: i32 },
    /// Working time of a business calendar.
    BusinessTime(SignedDuration),
    /// Working days of a business calendar.
    BusinessDays(i32),
}

/// A target that cannot be used, with a message naming why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TargetError(pub String);

impl Target {
    /// Parses an ISO 8601 duration (`PT24H`, `P7D`, `P2M`) on a basis.
    /// Durations that mix days and hours are refused: say either.
    pub fn parse(text: &str, basis: ClockBasis) -> Result<Self, TargetError> {
        let iso = text
            .strip_prefix(['-', '+'])
            .unwrap_or(text)
            .starts_with(['P', 'p']);
        let span: Span = text.parse().ok().filter(|_| iso).ok_or_else(|| {
            TargetError(format!(
                "{text:?} is not an ISO 8601 duration such as \"PT24H\" or \"P7D\""
            ))
        })?;
        if span.is_negative() {
            return Err(TargetError(format!("{text:?} is negative")));
        }
        let has_date_units = span.get_years() != 0
            || span.get_months() != 0
            || span.get_weeks() != 0
            || span.get_days() != 0;
        let has_time_units = span.get_hours() != 0
            || span.get_minutes() != 0
            || span.get_seconds() != 0
            || span.get_milliseconds() != 0
            || span.get_microseconds() != 0
            || span.get_nanoseconds() != 0;
        if has_date_units && has_time_units {
            return Err(TargetError(format!(
                "{text:?} mixes days and hours; write it in one unit, e.g. \"PT36H\" or \"P2D\""
            )));
        }
        let time = || {
            SignedDuration::try_from(span).map_err(|_| TargetError(format!("{text:?} is too long")))
        };
        match basis {
            ClockBasis::Calendar if has_date_units => Ok(Self::CalendarPeriod {
                months: 12 * i32::from(span.get_years()) + span.get_months(),
                days: 7 * span.get_weeks() + span.get_days(),
            }),
            ClockBasis::Calendar => Ok(Self::Elapsed(time()?)),
            ClockBasis::Business if has_date_units => {
                if span.get_years() != 0 || span.get_months() != 0 {
                    return Err(TargetError(format!(
                        "{text:?}: business deadlines count days or weeks, not months or years"
                    )));
                }
                Ok(Self::BusinessDays(span.get_days() + 5 * span.get_weeks()))
            }
            ClockBasis::Business => Ok(Self::BusinessTime(time()?)),
        }
    }

    pub fn basis(self) -> ClockBasis {
        match self {
            Self::Elapsed(_) | Self::CalendarPeriod { .. } => ClockBasis::Calendar,
            Self::BusinessTime(_) | Self::BusinessDays(_) => ClockBasis::Business,
        }
    }

    /// The ISO 8601 form, as parsed.
    pub fn to_iso(self) -> String {
        match self {
            Self::Elapsed(d) | Self::BusinessTime(d) => d.to_string(),
            Self::CalendarPeriod { months, days } => {
                Span::new().months(months).days(days).to_string()
            }
            Self::BusinessDays(days) => format!("P{days}D"),
        }
    }

    /// Anchors the target at `start`: how much time of which kind the clock
    /// has to spend. `calendar` governs the time zone of calendar periods and
    /// the working time of business targets.
    pub fn budget(
        self,
        start: Timestamp,
        calendar: &BusinessCalendar,
    ) -> Result<Budget, DeadlineError> {
        match self {
            Self::Elapsed(amount) => Ok(Budget {
                basis: ClockBasis::Calendar,
                amount,
            }),
            Self::CalendarPeriod { months, days } => {
                let due = start
                    .to_zoned(calendar.time_zone().clone())
                    .checked_add(Span::new().months(months).days(days))
                    .map_err(|_| DeadlineError::OutOfRange)?
                    .timestamp();
                Ok(Budget {
                    basis: ClockBasis::Calendar,
                    amount: due.duration_since(start),
                })
            }
            Self::BusinessTime(amount) => Ok(Budget {
                basis: ClockBasis::Business,
                amount,
            }),
            Self::BusinessDays(days) => {
                let begins = calendar
                    .next_working_instant(start)
                    .ok_or(DeadlineError::NoWorkingTime)?;
                let minute = calendar.minute_of_day(begins);
                let mut date = calendar.local_date(begins);
                for _ in 0..days {
                    date = calendar
                        .next_working_date(date)
                        .ok_or(DeadlineError::NoWorkingTime)?;
                }
                let due = calendar
                    .clamp_into_hours(date, minute)
                    .ok_or(DeadlineError::NoWorkingTime)?;
                Ok(Budget {
                    basis: ClockBasis::Business,
                    amount: working_time(ClockBasis::Business, calendar, begins, due, &[]),
                })
            }
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_iso())
    }
}

/// Why a due instant cannot be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DeadlineError {
    #[error("the business calendar has no working time within three years")]
    NoWorkingTime,
    #[error("the deadline falls outside the supported range of dates")]
    OutOfRange,
}

/// A stretch during which a clock stood still; `until` is `None` while it
/// still stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pause {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub from: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub until: Option<Timestamp>,
}

/// An amount of elapsed or working time a clock may spend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Budget {
    pub basis: ClockBasis,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub amount: SignedDuration,
}

impl Budget {
    /// The instant the clock has spent `fraction` of its budget (1.0: due),
    /// counting from `start`, skipping `pauses` (sorted, non-overlapping).
    /// `None` while a pause is open and the instant is not reached before it.
    pub fn instant_at(
        self,
        fraction: f64,
        start: Timestamp,
        calendar: &BusinessCalendar,
        pauses: &[Pause],
    ) -> Result<Option<Timestamp>, DeadlineError> {
        let wanted = self.amount.mul_f64(fraction.max(0.0));
        let mut left = wanted;
        for (from, until) in active_intervals(self.basis, calendar, start, pauses) {
            let until = match until {
                Some(until) => until,
                // The clock runs on forever from here.
                None => return Ok(Some(add(from, left)?)),
            };
            let length = until.duration_since(from);
            if left <= length {
                return Ok(Some(add(from, left)?));
            }
            left -= length;
        }
        if open_pause(pauses).is_some() {
            Ok(None)
        } else {
            Err(DeadlineError::NoWorkingTime)
        }
    }

    /// The due instant; `None` while the clock is paused.
    pub fn due(
        self,
        start: Timestamp,
        calendar: &BusinessCalendar,
        pauses: &[Pause],
    ) -> Result<Option<Timestamp>, DeadlineError> {
        self.instant_at(1.0, start, calendar, pauses)
    }

    /// How much of the budget was spent between `start` and `now`.
    pub fn spent(
        self,
        start: Timestamp,
        now: Timestamp,
        calendar: &BusinessCalendar,
        pauses: &[Pause],
    ) -> SignedDuration {
        let closed: Vec<Pause> = pauses
            .iter()
            .map(|p| Pause {
                from: p.from,
                until: Some(p.until.unwrap_or(now)),
            })
            .collect();
        working_time(self.basis, calendar, start, now, &closed)
    }
}

fn add(at: Timestamp, duration: SignedDuration) -> Result<Timestamp, DeadlineError> {
    at.checked_add(duration)
        .map_err(|_| DeadlineError::OutOfRange)
}

fn open_pause(pauses: &[Pause]) -> Option<Timestamp> {
    pauses.iter().find(|p| p.until.is_none()).map(|p| p.from)
}

/// The time of `basis` between `from` and `to`, outside `pauses`.
fn working_time(
    basis: ClockBasis,
    calendar: &BusinessCalendar,
    from: Timestamp,
    to: Timestamp,
    pauses: &[Pause],
) -> SignedDuration {
    let mut total = SignedDuration::ZERO;
    for (start, end) in active_intervals(basis, calendar, from, pauses) {
        if start >= to {
            break;
        }
        total += end.unwrap_or(to).min(to).duration_since(start);
        if end.is_none_or(|end| end >= to) {
            break;
        }
    }
    total
}

/// The intervals from `start` on during which a clock of `basis` runs, in
/// order: working time (or all time) minus `pauses` (sorted by start, not
/// overlapping). An interval with no end runs forever; the sequence ends at
/// an open pause.
fn active_intervals<'a>(
    basis: ClockBasis,
    calendar: &'a BusinessCalendar,
    start: Timestamp,
    pauses: &'a [Pause],
) -> impl Iterator<Item = (Timestamp, Option<Timestamp>)> + 'a {
    let running: Box<dyn Iterator<Item = (Timestamp, Option<Timestamp>)> + 'a> = match basis {
        ClockBasis::Calendar => Box::new(std::iter::once((start, None))),
        ClockBasis::Business => Box::new(
            calendar
                .working_intervals(start)
                .map(|(from, until)| (from, Some(until))),
        ),
    };
    running
        .flat_map(|(from, until)| cut_by_pauses(from, until, pauses))
        .map_while(|piece| match piece {
            Piece::Runs(from, until) => Some((from, until)),
            Piece::Stops => None,
        })
}

enum Piece {
    Runs(Timestamp, Option<Timestamp>),
    /// An open pause: the clock stands still from here on.
    Stops,
}

/// What remains of the interval `[from, until)` once `pauses` are cut out.
fn cut_by_pauses(from: Timestamp, until: Option<Timestamp>, pauses: &[Pause]) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut at = from;
    for pause in pauses {
        if pause.until.is_some_and(|resume| resume <= at) {
            continue;
        }
        if until.is_some_and(|end| pause.from >= end) {
            break;
        }
        if pause.from > at {
            pieces.push(Piece::Runs(at, Some(pause.from)));
        }
        match pause.until {
            None => {
                pieces.push(Piece::Stops);
                return pieces;
            }
            Some(resume) => at = at.max(resume),
        }
        if until.is_some_and(|end| at >= end) {
            return pieces;
        }
    }
    pieces.push(Piece::Runs(at, until));
    pieces
}
