//! Deadline arithmetic: hand-computed tables, then properties.

use std::collections::BTreeMap;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

use super::*;

fn ts(text: &str) -> Timestamp {
    text.parse().expect("timestamp")
}

fn calendar(zone: &str, weekdays: &[(&str, &[&str])], holidays: &[&str]) -> BusinessCalendar {
    BusinessCalendar::from_spec(&CalendarSpec {
        time_zone: zone.into(),
        weekly: weekdays
            .iter()
            .map(|(day, hours)| {
                (
                    day.to_string(),
                    hours.iter().map(|h| h.to_string()).collect(),
                )
            })
            .collect(),
        holidays: holidays.iter().map(|d| d.to_string()).collect(),
        exceptions: BTreeMap::new(),
    })
    .expect("valid calendar")
}

const NINE_TO_FIVE: &[&str] = &["09:00-17:00"];

fn office(zone: &str, holidays: &[&str]) -> BusinessCalendar {
    calendar(
        zone,
        &[
            ("monday", NINE_TO_FIVE),
            ("tuesday", NINE_TO_FIVE),
            ("wednesday", NINE_TO_FIVE),
            ("thursday", NINE_TO_FIVE),
            ("friday", NINE_TO_FIVE),
        ],
        holidays,
    )
}

fn due(target: &str, basis: ClockBasis, start: &str, calendar: &BusinessCalendar) -> Timestamp {
    due_paused(target, basis, start, calendar, &[]).expect("not paused")
}

fn due_paused(
    target: &str,
    basis: ClockBasis,
    start: &str,
    calendar: &BusinessCalendar,
    pauses: &[Pause],
) -> Option<Timestamp> {
    let start = ts(start);
    Target::parse(target, basis)
        .expect("target")
        .budget(start, calendar)
        .expect("budget")
        .due(start, calendar, pauses)
        .expect("due")
}

fn pause(from: &str, until: Option<&str>) -> Pause {
    Pause {
        from: ts(from),
        until: until.map(ts),
    }
}

#[test]
fn hours_are_elapsed_time_and_days_keep_the_wall_clock_across_daylight_saving() {
    // Berlin moves to summer time on Sunday 2026-03-29 at 02:00.
    let berlin = BusinessCalendar::always_open(TimeZone::get("Europe/Berlin").unwrap());
    let start = "2026-03-28T11:00:00Z"; // 12:00 CET
    assert_eq!(
        due("PT24H", ClockBasis::Calendar, start, &berlin),
        ts("2026-03-29T11:00:00Z"), // 13:00 CEST: 24 elapsed hours
    );
    assert_eq!(
        due("P1D", ClockBasis::Calendar, start, &berlin),
        ts("2026-03-29T10:00:00Z"), // 12:00 CEST: the same wall-clock time
    );
    // New York falls back on Sunday 2026-11-01: that calendar day has 25 hours.
    let new_york = BusinessCalendar::always_open(TimeZone::get("America/New_York").unwrap());
    assert_eq!(
        due(
            "P1D",
            ClockBasis::Calendar,
            "2026-10-31T16:00:00Z",
            &new_york
        ),
        ts("2026-11-01T17:00:00Z"), // 12:00 EDT to 12:00 EST
    );
    assert_eq!(due("PT0S", ClockBasis::Calendar, start, &berlin), ts(start));
}

#[test]
fn months_and_years_follow_the_civil_calendar_through_leap_days() {
    let utc = BusinessCalendar::always_open(TimeZone::UTC);
    let cases = [
        ("P1M", "2028-01-31T10:00:00Z", "2028-02-29T10:00:00Z"),
        ("P1D", "2028-02-28T10:00:00Z", "2028-02-29T10:00:00Z"),
        ("P1Y", "2028-02-29T10:00:00Z", "2029-02-28T10:00:00Z"),
        ("P2M", "2026-12-31T00:00:00Z", "2027-02-28T00:00:00Z"),
        ("P1W", "2026-11-25T08:00:00Z", "2026-12-02T08:00:00Z"),
        ("PT36H", "2028-02-28T12:00:00Z", "2028-03-01T00:00:00Z"),
    ];
    for (target, start, expected) in cases {
        assert_eq!(
            due(target, ClockBasis::Calendar, start, &utc),
            ts(expected),
            "{target} from {start}"
        );
    }
}

#[test]
fn business_hours_count_only_working_time() {
    // Tokyo, Monday to Friday 09:00–17:00; 2026-11-23 is a public holiday.
    let tokyo = office("Asia/Tokyo", &["2026-11-23"]);
    let cases = [
        // Friday 15:00: two hours on Friday, six on Monday.
        ("PT8H", "2026-11-27T06:00:00Z", "2026-11-30T06:00:00Z"),
        // Saturday: starts at Monday's opening.
        ("PT1H", "2026-11-28T01:00:00Z", "2026-11-30T01:00:00Z"),
        // Friday 16:00, Monday a holiday: one hour Friday, one on Tuesday.
        ("PT2H", "2026-11-20T07:00:00Z", "2026-11-24T01:00:00Z"),
        // Exactly at closing: the next opening plus the target.
        ("PT30M", "2026-11-25T08:00:00Z", "2026-11-26T00:30:00Z"),
        // Ends exactly at closing.
        ("PT8H", "2026-11-25T00:00:00Z", "2026-11-25T08:00:00Z"),
    ];
    for (target, start, expected) in cases {
        assert_eq!(
            due(target, ClockBasis::Business, start, &tokyo),
            ts(expected),
            "{target} from {start}"
        );
    }
}

#[test]
fn business_hours_follow_local_opening_times_across_daylight_saving() {
    // Berlin, 09:00–17:00; summer time starts Sunday 2026-03-29.
    let berlin = office("Europe/Berlin", &[]);
    assert_eq!(
        // Friday 16:00 CET + 2 h: one hour Friday, Monday 10:00 CEST.
        due(
            "PT2H",
            ClockBasis::Business,
            "2026-03-27T15:00:00Z",
            &berlin
        ),
        ts("2026-03-30T08:00:00Z"),
    );
}

#[test]
fn business_days_land_on_the_same_local_time_n_working_days_later() {
    // New York, 09:00–17:00; Thanksgiving 2026-11-26.
    let new_york = office("America/New_York", &["2026-11-26"]);
    // A DMCA counter-notice received Wednesday 14:00 EST: ten business days,
    // skipping Thanksgiving and two weekends, is Thursday 10 December, 14:00.
    assert_eq!(
        due(
            "P10D",
            ClockBasis::Business,
            "2026-11-25T19:00:00Z",
            &new_york
        ),
        ts("2026-12-10T19:00:00Z"),
    );
    // Across the end of summer time: Friday 10:00 EDT + 1 business day is
    // Monday 10:00 EST.
    assert_eq!(
        due(
            "P1D",
            ClockBasis::Business,
            "2026-10-30T14:00:00Z",
            &new_york
        ),
        ts("2026-11-02T15:00:00Z"),
    );
    // Received on Saturday: counts from Monday's opening, so one business
    // day is one whole working day, due at Monday's closing (the same
    // working time as Tuesday's opening, and the earlier of the two).
    assert_eq!(
        due(
            "P1D",
            ClockBasis::Business,
            "2026-11-28T15:00:00Z",
            &new_york
        ),
        ts("2026-11-30T22:00:00Z"),
    );
    // Weeks are five business days.
    assert_eq!(
        due(
            "P2W",
            ClockBasis::Business,
            "2026-12-01T15:00:00Z",
            &new_york
        ),
        due(
            "P10D",
            ClockBasis::Business,
            "2026-12-01T15:00:00Z",
            &new_york
        ),
    );
}

#[test]
fn a_business_day_landing_after_a_short_days_closing_is_due_at_that_closing() {
    let short_friday = calendar(
        "UTC",
        &[
            ("thursday", NINE_TO_FIVE),
            ("friday", &["09:00-12:00", "13:00-15:00"]),
        ],
        &[],
    );
    // Thursday 16:30 + 1 business day → Friday, but Friday closes at 15:00.
    assert_eq!(
        due(
            "P1D",
            ClockBasis::Business,
            "2026-11-26T16:30:00Z",
            &short_friday
        ),
        ts("2026-11-27T15:00:00Z"),
    );
    // Thursday 12:30 + 1 → Friday 12:30 is lunch: due when the morning
    // closes, which is the same working time as the afternoon opening.
    assert_eq!(
        due(
            "P1D",
            ClockBasis::Business,
            "2026-11-26T12:30:00Z",
            &short_friday
        ),
        ts("2026-11-27T12:00:00Z"),
    );
}

#[test]
fn exceptions_replace_a_days_hours() {
    let mut spec = office("UTC", &[]).to_spec();
    spec.exceptions
        .insert("2026-12-24".into(), vec!["09:00-13:00".into()]);
    spec.exceptions.insert("2026-12-26".into(), vec![]); // a Saturday: stays closed
    let calendar = BusinessCalendar::from_spec(&spec).unwrap();
    // Thursday 24 December 12:00 + 3 h: one hour that day, then Friday 11:00.
    assert_eq!(
        due(
            "PT3H",
            ClockBasis::Business,
            "2026-12-24T12:00:00Z",
            &calendar
        ),
        ts("2026-12-25T11:00:00Z"),
    );
}

#[test]
fn pauses_push_the_deadline_back_by_the_time_the_clock_stood_still() {
    let utc = BusinessCalendar::always_open(TimeZone::UTC);
    let start = "2026-11-25T10:00:00Z";
    let closed = [pause("2026-11-25T11:00:00Z", Some("2026-11-25T13:00:00Z"))];
    assert_eq!(
        due_paused("PT4H", ClockBasis::Calendar, start, &utc, &closed),
        Some(ts("2026-11-25T16:00:00Z")),
    );
    // While a pause is open there is no due instant; the time spent stops.
    let open = [pause("2026-11-25T11:00:00Z", None)];
    assert_eq!(
        due_paused("PT4H", ClockBasis::Calendar, start, &utc, &open),
        None
    );
    let budget = Target::parse("PT4H", ClockBasis::Calendar)
        .unwrap()
        .budget(ts(start), &utc)
        .unwrap();
    assert_eq!(
        budget.spent(ts(start), ts("2026-11-25T15:00:00Z"), &utc, &open),
        SignedDuration::from_hours(1)
    );
    // A pause that ended after the deadline would have passed: still paused time.
    assert_eq!(
        due_paused(
            "PT1H",
            ClockBasis::Calendar,
            start,
            &utc,
            &[pause("2026-11-25T10:30:00Z", Some("2026-11-26T10:30:00Z"))]
        ),
        Some(ts("2026-11-26T11:00:00Z")),
    );
    // Business time: pauses count only their working part.
    let office = office("UTC", &[]);
    assert_eq!(
        due_paused(
            "PT8H",
            ClockBasis::Business,
            "2026-11-23T09:00:00Z", // Monday
            &office,
            &[pause("2026-11-23T12:00:00Z", Some("2026-11-24T10:00:00Z"))],
        ),
        Some(ts("2026-11-24T15:00:00Z")),
    );
}

#[test]
fn warnings_fall_at_fractions_of_the_budget() {
    let office = office("UTC", &[]);
    let start = ts("2026-11-23T09:00:00Z");
    let budget = Target::parse("PT8H", ClockBasis::Business)
        .unwrap()
        .budget(start, &office)
        .unwrap();
    let at = |fraction| {
        budget
            .instant_at(fraction, start, &office, &[])
            .unwrap()
            .unwrap()
    };
    assert_eq!(at(0.75), ts("2026-11-23T15:00:00Z"));
    assert_eq!(at(0.9), ts("2026-11-23T16:12:00Z"));
}

#[test]
fn targets_parse_iso_durations_and_refuse_what_they_cannot_mean() {
    assert_eq!(
        Target::parse("PT24H", ClockBasis::Calendar),
        Ok(Target::Elapsed(SignedDuration::from_hours(24)))
    );
    assert_eq!(
        Target::parse("P7D", ClockBasis::Calendar),
        Ok(Target::CalendarPeriod { months: 0, days: 7 })
    );
    assert_eq!(
        Target::parse("P14D", ClockBasis::Business),
        Ok(Target::BusinessDays(14))
    );
    for (text, basis, complaint) in [
        ("24 hours", ClockBasis::Calendar, "not an ISO 8601 duration"),
        ("soon", ClockBasis::Calendar, "not an ISO 8601 duration"),
        ("P1DT2H", ClockBasis::Calendar, "mixes days and hours"),
        ("-PT1H", ClockBasis::Calendar, "negative"),
        ("P1M", ClockBasis::Business, "not months or years"),
    ] {
        let error = Target::parse(text, basis).unwrap_err();
        assert!(error.0.contains(complaint), "{text}: {}", error.0);
    }
    for text in ["PT24H", "PT90M", "P7D", "P2M", "P1Y"] {
        let target = Target::parse(text, ClockBasis::Calendar).unwrap();
        assert_eq!(
            Target::parse(&target.to_iso(), ClockBasis::Calendar),
            Ok(target)
        );
    }
}

#[test]
fn calendar_specs_name_every_faulty_part() {
    let spec = CalendarSpec {
        time_zone: "Mars/Olympus".into(),
        weekly: [
            ("monday".to_string(), vec!["17:00-09:00".to_string()]),
            ("funday".to_string(), vec!["09:00-10:00".to_string()]),
            (
                "tuesday".to_string(),
                vec!["09:00-12:00".to_string(), "11:00-13:00".to_string()],
            ),
            ("wednesday".to_string(), vec!["9am-5pm".to_string()]),
        ]
        .into(),
        holidays: vec!["2026-02-30".into()],
        exceptions: BTreeMap::new(),
    };
    let errors = BusinessCalendar::from_spec(&spec).unwrap_err().0;
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "time_zone",
            "weekly.funday",
            "weekly.monday[0]",
            "weekly.tuesday",
            "weekly.wednesday[0]",
            "holidays[0]"
        ]
    );
    let closed = CalendarSpec {
        time_zone: "UTC".into(),
        weekly: BTreeMap::new(),
        holidays: vec![],
        exceptions: BTreeMap::new(),
    };
    assert_eq!(
        BusinessCalendar::from_spec(&closed).unwrap_err().0[0].field,
        "weekly"
    );
}

#[test]
fn calendars_round_trip_through_their_spec() {
    let mut spec = office("Asia/Kolkata", &["2026-01-26", "2026-08-15"]).to_spec();
    spec.exceptions
        .insert("2026-10-20".into(), vec!["10:00-14:00".into()]);
    spec.weekly.insert(
        "saturday".into(),
        vec!["10:00-12:00".into(), "13:00-24:00".into()],
    );
    let calendar = BusinessCalendar::from_spec(&spec).unwrap();
    assert_eq!(calendar.to_spec(), spec);
}

// Properties, over calendars in zones with and without daylight saving.

const ZONES: [&str; 6] = [
    "UTC",
    "Asia/Tokyo",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Asia/Kolkata",
];

fn any_calendar() -> impl Strategy<Value = BusinessCalendar> {
    let day = prop_oneof![
        Just(Vec::<String>::new()),
        (0u16..20, 1u16..10).prop_map(|(open, len)| {
            let close = (open + len).min(24);
            vec![format!("{open:02}:00-{close:02}:00")]
        }),
        Just(vec!["00:00-24:00".to_string()]),
        Just(vec!["08:30-12:00".to_string(), "13:00-17:30".to_string()]),
    ];
    (
        prop::sample::select(&ZONES[..]),
        prop::collection::vec(day, 7),
        prop::collection::vec(0u16..730, 0..6),
    )
        .prop_filter_map("needs working hours", |(zone, days, holidays)| {
            let names = [
                "monday",
                "tuesday",
                "wednesday",
                "thursday",
                "friday",
                "saturday",
                "sunday",
            ];
            let base: jiff::civil::Date = "2026-01-01".parse().ok()?;
            BusinessCalendar::from_spec(&CalendarSpec {
                time_zone: zone.to_string(),
                weekly: names
                    .iter()
                    .zip(days)
                    .filter(|(_, hours)| !hours.is_empty())
                    .map(|(name, hours)| (name.to_string(), hours))
                    .collect(),
                holidays: holidays
                    .into_iter()
                    .map(|d| {
                        base.checked_add(jiff::Span::new().days(d))
                            .unwrap()
                            .to_string()
                    })
                    .collect(),
                exceptions: BTreeMap::new(),
            })
            .ok()
        })
}

/// Instants from 2026 to 2027, which hold every zone's daylight-saving changes.
fn any_instant() -> impl Strategy<Value = Timestamp> {
    (1_767_225_600i64..1_830_297_600).prop_map(|s| Timestamp::from_second(s).unwrap())
}

fn any_target() -> impl Strategy<Value = Target> {
    prop_oneof![
        (0i64..200 * 60).prop_map(|m| Target::Elapsed(SignedDuration::from_mins(m))),
        (0i32..3, 0i32..40).prop_map(|(months, days)| Target::CalendarPeriod { months, days }),
        (0i64..80 * 60).prop_map(|m| Target::BusinessTime(SignedDuration::from_mins(m))),
        (0i32..25).prop_map(Target::BusinessDays),
    ]
}

/// Sorted, non-overlapping, closed pauses after `start`.
fn any_pauses() -> impl Strategy<Value = Vec<(i64, i64)>> {
    prop::collection::vec((0i64..20 * 24 * 60, 1i64..3 * 24 * 60), 0..4)
}

fn pauses_after(start: Timestamp, raw: &[(i64, i64)]) -> Vec<Pause> {
    let mut at = start;
    raw.iter()
        .map(|&(gap, length)| {
            let from = at + SignedDuration::from_mins(gap);
            at = from + SignedDuration::from_mins(length);
            Pause {
                from,
                until: Some(at),
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn the_time_spent_until_the_due_instant_is_the_whole_budget(
        calendar in any_calendar(),
        start in any_instant(),
        target in any_target(),
        raw_pauses in any_pauses(),
    ) {
        let pauses = pauses_after(start, &raw_pauses);
        let budget = target.budget(start, &calendar).unwrap();
        let due = budget.due(start, &calendar, &pauses).unwrap().unwrap();
        prop_assert!(due >= start);
        prop_assert_eq!(budget.spent(start, due, &calendar, &pauses), budget.amount);
        // And not a moment earlier: an instant before due has spent less.
        if due > start && budget.amount > SignedDuration::ZERO {
            let before = due - SignedDuration::from_secs(1);
            prop_assert!(budget.spent(start, before, &calendar, &pauses) < budget.amount);
        }
    }

    #[test]
    fn pauses_never_bring_a_deadline_forward(
        calendar in any_calendar(),
        start in any_instant(),
        target in any_target(),
        raw_pauses in any_pauses(),
    ) {
        let budget = target.budget(start, &calendar).unwrap();
        let unpaused = budget.due(start, &calendar, &[]).unwrap().unwrap();
        let paused = budget
            .due(start, &calendar, &pauses_after(start, &raw_pauses))
            .unwrap()
            .unwrap();
        prop_assert!(paused >= unpaused);
    }

    #[test]
    fn warning_instants_come_in_order(
        calendar in any_calendar(),
        start in any_instant(),
        target in any_target(),
    ) {
        let budget = target.budget(start, &calendar).unwrap();
        let at = |f| budget.instant_at(f, start, &calendar, &[]).unwrap().unwrap();
        prop_assert!(start <= at(0.0));
        prop_assert!(at(0.5) <= at(0.75));
        prop_assert!(at(0.75) <= at(0.9));
        prop_assert!(at(0.9) <= at(1.0));
    }

    #[test]
    fn business_deadlines_fall_in_working_time(
        calendar in any_calendar(),
        start in any_instant(),
        minutes in 1i64..80 * 60,
    ) {
        let due = Target::BusinessTime(SignedDuration::from_mins(minutes))
            .budget(start, &calendar)
            .unwrap()
            .due(start, &calendar, &[])
            .unwrap()
            .unwrap();
        // The second before the due instant was working time.
        let before = due - SignedDuration::from_secs(1);
        let next = calendar.next_working_instant(before).unwrap();
        prop_assert_eq!(next, before);
    }

    #[test]
    fn calendar_days_keep_the_local_time_of_day(
        zone in prop::sample::select(&ZONES[..]),
        start in any_instant(),
        days in 1i32..400,
    ) {
        let calendar = BusinessCalendar::always_open(TimeZone::get(zone).unwrap());
        let due = Target::CalendarPeriod { months: 0, days }
            .budget(start, &calendar)
            .unwrap()
            .due(start, &calendar, &[])
            .unwrap()
            .unwrap();
        let (from, to) = (
            start.to_zoned(calendar.time_zone().clone()),
            due.to_zoned(calendar.time_zone().clone()),
        );
        // Unless the start's local time does not exist on the due date (a gap).
        prop_assume!(to.offset() == from.offset() || to.time() == from.time());
        prop_assert_eq!(to.time(), from.time());
        prop_assert_eq!(from.date().until(to.date()).unwrap().get_days(), days);
    }
}
