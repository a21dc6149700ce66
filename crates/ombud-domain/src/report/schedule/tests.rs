use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp, ToSpan};
use proptest::prelude::*;

use super::*;
use crate::webhook::retry_delay;

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn schedule(every: Every, weekday: Option<&str>, at: &str, zone: &str) -> ReportSchedule {
    ReportSchedule {
        every,
        weekday: weekday.map(str::to_string),
        at: at.into(),
        time_zone: zone.into(),
        subscribers: vec!["lead@example.com".into()],
        set_by: String::new(),
        set_at: Timestamp::UNIX_EPOCH,
    }
}

fn daily(at: &str, zone: &str) -> Slots {
    schedule(Every::Daily, None, at, zone).slots().unwrap()
}

fn fields(error: Invalid) -> Vec<String> {
    error.0.into_iter().map(|e| e.field).collect()
}

#[test]
fn a_time_the_clocks_jump_over_runs_when_they_land() {
    // Berlin jumps from 02:00 CET to 03:00 CEST at 01:00 UTC on 29 March.
    let slots = daily("02:30", "Europe/Berlin");
    let spring = slots.on(Date::constant(2026, 3, 29)).unwrap();
    assert_eq!(spring, ts("2026-03-29T01:00:00Z"), "03:00 CEST");
    assert_eq!(
        slots.next_after(ts("2026-03-28T12:00:00Z")),
        Some(spring),
        "the day is not skipped"
    );
    assert_eq!(
        slots.next_after(spring),
        Some(ts("2026-03-30T00:30:00Z")),
        "02:30 CEST the next day"
    );
}

#[test]
fn a_time_the_clocks_repeat_runs_once() {
    // Berlin falls back from 03:00 CEST to 02:00 CET at 01:00 UTC on 25
    // October: 02:30 happens at 00:30 UTC and again at 01:30 UTC.
    let slots = daily("02:30", "Europe/Berlin");
    let first = slots.on(Date::constant(2026, 10, 25)).unwrap();
    assert_eq!(first, ts("2026-10-25T00:30:00Z"));
    let next_day = ts("2026-10-26T01:30:00Z");
    assert_eq!(slots.next_after(first), Some(next_day));
    assert_eq!(
        slots.next_after(ts("2026-10-25T01:00:00Z")),
        Some(next_day),
        "the second 02:30 is no slot"
    );
    assert_eq!(slots.latest_until(ts("2026-10-25T01:45:00Z")), Some(first));
}

#[test]
fn the_hour_follows_the_wall_clock_across_daylight_saving() {
    let slots = daily("08:00", "America/New_York");
    assert_eq!(
        slots.on(Date::constant(2026, 3, 7)),
        Some(ts("2026-03-07T13:00:00Z")),
        "EST"
    );
    assert_eq!(
        slots.on(Date::constant(2026, 3, 9)),
        Some(ts("2026-03-09T12:00:00Z")),
        "EDT"
    );
}

#[test]
fn a_weekly_report_goes_out_on_its_weekday_only() {
    let slots = schedule(Every::Weekly, Some("monday"), "08:00", "Asia/Tokyo")
        .slots()
        .unwrap();
    // Wednesday 25 November 2026, 18:00 in Tokyo.
    let now = ts("2026-11-25T09:00:00Z");
    let monday = ts("2026-11-29T23:00:00Z");
    assert_eq!(slots.next_after(now), Some(monday));
    assert_eq!(slots.latest_until(now), Some(ts("2026-11-22T23:00:00Z")));
    assert_eq!(slots.on(Date::constant(2026, 11, 24)), None, "a Tuesday");
    assert_eq!(
        slots.next_after(monday),
        Some(
            monday
                .checked_add(SignedDuration::from_hours(7 * 24))
                .unwrap()
        )
    );
}

#[test]
fn a_missed_slot_is_caught_up_once_with_the_newest() {
    let slots = daily("08:00", "UTC");
    let set_at = ts("2026-11-20T12:00:00Z");
    assert_eq!(
        slots.due(set_at, None, ts("2026-11-20T23:00:00Z")),
        None,
        "the slot before the schedule was set is not owed"
    );
    // Down from the 21st to the 24th at 10:00: one send, for the 24th.
    let now = ts("2026-11-24T10:00:00Z");
    let owed = slots.due(set_at, None, now).unwrap();
    assert_eq!(
        owed,
        Attempt {
            slot: ts("2026-11-24T08:00:00Z"),
            number: 1
        }
    );
    let lease = SignedDuration::from_mins(45);
    let claimed = ReportRun::claim(owed, now, lease);
    assert_eq!(slots.due(set_at, Some(&claimed), now), None, "claimed");
    let sent = claimed.finish(Outcome::Sent { rows: 3 }, now, retry_delay);
    assert_eq!(
        slots.due(set_at, Some(&sent), ts("2026-11-25T07:59:00Z")),
        None
    );
    assert_eq!(
        slots.next_run(set_at, Some(&sent)),
        Some(ts("2026-11-25T08:00:00Z"))
    );
    assert_eq!(
        slots.due(set_at, Some(&sent), ts("2026-11-25T08:00:00Z")),
        Some(Attempt {
            slot: ts("2026-11-25T08:00:00Z"),
            number: 1
        })
    );
    // A node that died holding a claim is taken over once the lease ends.
    let taken_over = now.checked_add(lease).unwrap();
    assert_eq!(
        slots.due(set_at, Some(&claimed), taken_over),
        Some(Attempt {
            slot: owed.slot,
            number: 2
        })
    );
}

#[test]
fn a_refused_send_is_retried_with_backoff_until_a_newer_slot_or_the_last_attempt() {
    let slots = daily("08:00", "UTC");
    let set_at = ts("2026-11-20T12:00:00Z");
    let now = ts("2026-11-24T08:00:10Z");
    let owed = slots.due(set_at, None, now).unwrap();
    let claimed = ReportRun::claim(owed, now, SignedDuration::from_mins(45));
    let refused = claimed.finish(
        Outcome::MailFailed {
            error: "451 try again".into(),
        },
        now,
        retry_delay,
    );
    assert_eq!(refused.state, RunState::Retrying);
    let again = now.checked_add(SignedDuration::from_secs(30)).unwrap();
    assert_eq!(refused.retry_at, Some(again));
    assert_eq!(slots.next_run(set_at, Some(&refused)), Some(again));
    assert_eq!(slots.due(set_at, Some(&refused), now), None);
    assert_eq!(
        slots.due(set_at, Some(&refused), again),
        Some(Attempt {
            slot: owed.slot,
            number: 2
        })
    );
    assert_eq!(
        slots.due(set_at, Some(&refused), ts("2026-11-25T08:00:00Z")),
        Some(Attempt {
            slot: ts("2026-11-25T08:00:00Z"),
            number: 1
        }),
        "a newer slot replaces the retry"
    );
    let last = claimed.finish(
        Outcome::MailFailed {
            error: "451 try again".into(),
        },
        now,
        |_| None,
    );
    assert_eq!((last.state, last.retry_at), (RunState::GaveUp, None));
    assert_eq!(slots.due(set_at, Some(&last), again), None);
}

#[test]
fn a_schedule_names_every_fault_at_once() {
    let mut broken = schedule(Every::Weekly, None, "25:00", "Mars/Olympus");
    broken.subscribers.clear();
    assert_eq!(
        fields(broken.validate().unwrap_err()),
        ["at", "time_zone", "weekday", "subscribers"]
    );
    let mut broken = schedule(Every::Daily, Some("monday"), "8:00", "UTC");
    broken.subscribers = vec![
        "nobody".into(),
        "Lead@Example.com".into(),
        "lead@example.com".into(),
    ];
    assert_eq!(
        fields(broken.validate().unwrap_err()),
        ["at", "weekday", "subscribers[0]", "subscribers[2]"]
    );
    let mut fine = schedule(Every::Weekly, Some("friday"), "17:30", "Asia/Bangkok");
    fine.subscribers = vec![" Lead@Example.com ".into()];
    fine.validate().unwrap();
    assert_eq!(fine.subscribers, ["lead@example.com"]);
    assert_eq!(fine.describe(), "every Friday at 17:30 (Asia/Bangkok)");
    for bad in ["24:00", "08:60", "0800", "08:00:00", "-1:00", "+8:00"] {
        assert!(parse_time(bad).is_none(), "{bad}");
    }
}

/// Zones with the transitions that make slots hard: spring-forward gaps
/// and fall-back folds at various hours (Havana's at midnight), half-hour
/// ones (Lord Howe), negative daylight saving (Dublin), a date skipped
/// outright (Apia, 30 December 2011) and zones without any.
const ZONES: &[&str] = &[
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/Havana",
    "America/Santiago",
    "America/Sao_Paulo",
    "Australia/Lord_Howe",
    "Europe/Dublin",
    "Africa/Casablanca",
    "Pacific/Apia",
    "Asia/Tokyo",
    "Asia/Kolkata",
];

fn any_schedule() -> impl Strategy<Value = ReportSchedule> {
    (
        prop::sample::select(ZONES),
        0i8..24,
        prop::sample::select(&[0i8, 1, 15, 30, 45, 59][..]),
        prop::option::of(prop::sample::select(weekday_names().to_vec())),
    )
        .prop_map(|(zone, hour, minute, weekday)| {
            let every = if weekday.is_some() {
                Every::Weekly
            } else {
                Every::Daily
            };
            schedule(every, weekday, &format!("{hour:02}:{minute:02}"), zone)
        })
}

/// Instants from 2005 to 2035, to the second.
fn any_instant() -> impl Strategy<Value = Timestamp> {
    (1_104_537_600i64..2_082_758_400).prop_map(|s| Timestamp::from_second(s).unwrap())
}

/// The local date whose slot `slot` is, checked to be at the schedule's
/// wall time: exactly, or (when that day skips it) at the first instant
/// after the jump.
fn slot_date(slots: &Slots, slot: Timestamp) -> Date {
    let local = slot.to_zoned(slots.zone.clone()).date();
    let date = [local, local.yesterday().unwrap()]
        .into_iter()
        .find(|date| slots.on(*date) == Some(slot))
        .unwrap_or_else(|| panic!("{slot} is the slot of no date"));
    let wall = date.to_datetime(slots.time);
    let just_before = slot
        .checked_sub(SignedDuration::from_nanos(1))
        .unwrap()
        .to_zoned(slots.zone.clone())
        .datetime();
    let at = slot.to_zoned(slots.zone.clone()).datetime();
    assert!(
        just_before < wall && wall <= at,
        "{slot} ({at}) is not when {wall} first happens"
    );
    if matches!(
        slots.zone.to_ambiguous_timestamp(wall).offset(),
        AmbiguousOffset::Gap { .. }
    ) {
        assert!(at > wall, "a skipped time runs after the jump");
    } else {
        assert_eq!(at, wall, "an existing time runs on the dot");
    }
    date
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_next_slot_is_after_now_at_the_local_time_and_skips_no_day(
        schedule in any_schedule(),
        now in any_instant(),
    ) {
        let slots = schedule.slots().unwrap();
        let step = if schedule.every == Every::Weekly { 7 } else { 1 };
        let first = slots.next_after(now).unwrap();
        prop_assert!(first > now);
        prop_assert!(slots.latest_until(now).is_some_and(|latest| latest <= now));
        prop_assert_eq!(
            slots.next_after(slots.latest_until(now).unwrap()),
            Some(first),
            "no slot lies between the latest and the next"
        );
        // Twelve slots on: each day of the schedule has its slot, in order,
        // once, at the right wall time.
        let mut slot = first;
        let mut date = slot_date(&slots, slot);
        for _ in 0..12 {
            let next = slots.next_after(slot).unwrap();
            prop_assert!(next > slot);
            let next_date = slot_date(&slots, next);
            let expected = date.checked_add(step.days()).unwrap();
            // A date whose slot coincides with the next date's (a day
            // skipped outright, at midnight) shares that send.
            prop_assert!(
                next_date == expected
                    || slots.on(expected) == Some(next),
                "{} follows {}: {} was skipped", next_date, date, expected
            );
            slot = next;
            date = next_date;
        }
    }

    #[test]
    fn what_is_due_is_the_newest_slot_once(
        schedule in any_schedule(),
        set_at in any_instant(),
        hours_later in 0i64..24 * 30,
    ) {
        let slots = schedule.slots().unwrap();
        let now = set_at.checked_add(SignedDuration::from_hours(hours_later)).unwrap();
        match slots.due(set_at, None, now) {
            None => prop_assert!(slots.next_after(set_at).unwrap() > now),
            Some(owed) => {
                prop_assert!(owed.slot > set_at && owed.slot <= now);
                prop_assert!(slots.next_after(owed.slot).unwrap() > now, "the newest");
                let sent = ReportRun::claim(owed, now, SignedDuration::from_mins(45))
                    .finish(Outcome::Sent { rows: 0 }, now, retry_delay);
                prop_assert_eq!(slots.due(set_at, Some(&sent), now), None, "once");
                let next = slots.next_run(set_at, Some(&sent)).unwrap();
                prop_assert!(next > now);
                prop_assert_eq!(
                    slots.due(set_at, Some(&sent), next),
                    Some(Attempt { slot: next, number: 1 })
                );
            }
        }
    }
}
