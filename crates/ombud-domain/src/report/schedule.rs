//! Scheduled reports: a saved query emailed as an XLSX file to its
//! subscribers every day or every week, at a time of day in an IANA time
//! zone. This module holds the schedule, the instants it falls due at (its
//! *slots*) and the record of the last send; the server runs the query,
//! writes the file and sends the mail.
//!
//! Slots follow the wall clock of the schedule's time zone, so that an
//! 08:00 report arrives at 08:00 in winter and in summer. Each day (or each
//! chosen weekday) has exactly one slot:
//!
//! - a time that day does not have, because the clocks jump forward over
//!   it, falls on the first instant after the jump (02:30 on a day that
//!   jumps from 02:00 to 03:00 runs at 03:00);
//! - a time that day has twice, because the clocks fall back over it, falls
//!   on its first occurrence only.

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

use crate::deadlines::calendar::WEEKDAYS;
use crate::validation::{Collector, Invalid};

/// Most subscribers one report may have.
pub const MAX_SUBSCRIBERS: usize = 50;

/// How often a report goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Every {
    Daily,
    /// On the schedule's `weekday`.
    Weekly,
}

/// When a saved query goes out by email, and to whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReportSchedule {
    pub every: Every,
    /// Weekly only: `monday` to `sunday`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekday: Option<String>,
    /// The local time of day, `HH:MM` (24-hour).
    #[cfg_attr(feature = "openapi", schema(example = "08:00"))]
    pub at: String,
    /// The IANA time zone `at` is read in, such as `Europe/Berlin`.
    #[cfg_attr(feature = "openapi", schema(example = "Europe/Berlin"))]
    pub time_zone: String,
    /// Email addresses of active admins and managers (the people who may
    /// run the query themselves), 1 to 50.
    pub subscribers: Vec<String>,
    /// Who set this schedule, filled in by the server.
    #[serde(default)]
    pub set_by: String,
    /// When it was set, filled in by the server: only slots after it are
    /// owed.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub set_at: Timestamp,
}

impl ReportSchedule {
    /// Checks every field, naming each fault, and normalises the
    /// subscribers' addresses (trimmed, lower-case). Whether each one is an
    /// active admin or manager is for the directory to say.
    pub fn validate(&mut self) -> Result<(), Invalid> {
        let mut errors = Collector::default();
        errors.check(self.slots());
        if self.subscribers.is_empty() {
            errors.push("subscribers", "name at least one subscriber");
        } else if self.subscribers.len() > MAX_SUBSCRIBERS {
            errors.push(
                "subscribers",
                format!(
                    "at most {MAX_SUBSCRIBERS} subscribers (got {})",
                    self.subscribers.len()
                ),
            );
        }
        let mut seen = Vec::with_capacity(self.subscribers.len());
        for (index, address) in self.subscribers.iter_mut().enumerate() {
            let field = format!("subscribers[{index}]");
            if let Some(normal) = errors.check(crate::partner::email(&field, address)) {
                if seen.contains(&normal) {
                    errors.push(field, format!("{normal:?} is listed twice"));
                }
                seen.push(normal.clone());
                *address = normal;
            }
        }
        errors.finish()
    }

    /// The slots of this schedule: when its time, weekday and time zone
    /// make sense, whoever its subscribers are.
    pub fn slots(&self) -> Result<Slots, Invalid> {
        let mut errors = Collector::default();
        let time = match parse_time(&self.at) {
            Some(time) => Some(time),
            None => {
                errors.push(
                    "at",
                    format!("{:?} is not a time of day such as \"08:00\"", self.at),
                );
                None
            }
        };
        let zone = match TimeZone::get(&self.time_zone) {
            Ok(zone) => Some(zone),
            Err(_) => {
                errors.push(
                    "time_zone",
                    format!(
                        "{:?} is not an IANA time zone name such as \"Europe/Berlin\"",
                        self.time_zone
                    ),
                );
                None
            }
        };
        let weekday = match (self.every, self.weekday.as_deref()) {
            (Every::Daily, None) => None,
            (Every::Daily, Some(_)) => {
                errors.push("weekday", "a daily report has no weekday; leave it out");
                None
            }
            (Every::Weekly, None) => {
                errors.push(
                    "weekday",
                    "a weekly report needs a weekday, monday to sunday",
                );
                None
            }
            (Every::Weekly, Some(name)) => match WEEKDAYS.iter().find(|(day, _)| *day == name) {
                Some((_, day)) => Some(*day),
                None => {
                    errors.push(
                        "weekday",
                        format!("{name:?} is not a weekday: monday to sunday"),
                    );
                    None
                }
            },
        };
        errors.finish()?;
        Ok(Slots {
            weekday,
            time: time.expect("checked"),
            zone: zone.expect("checked"),
        })
    }

    /// "every Monday at 08:00 (Europe/Berlin)", for mail and pages.
    pub fn describe(&self) -> String {
        let day = match (self.every, self.weekday.as_deref()) {
            (Every::Weekly, Some(day)) => {
                let mut chars = day.chars();
                let first = chars.next().map(|c| c.to_ascii_uppercase());
                format!("every {}{}", first.unwrap_or_default(), chars.as_str())
            }
            _ => "every day".to_string(),
        };
        format!("{day} at {} ({})", self.at, self.time_zone)
    }
}

/// The weekdays' names, Monday first, as `weekday` takes them.
pub fn weekday_names() -> [&'static str; 7] {
    WEEKDAYS.map(|(name, _)| name)
}

/// `HH:MM`, 00:00 to 23:59.
fn parse_time(text: &str) -> Option<Time> {
    let (hours, minutes) = text.split_once(':')?;
    let two_digits = |part: &str| part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit());
    if !two_digits(hours) || !two_digits(minutes) {
        return None;
    }
    let hours: i8 = hours.parse().ok()?;
    let minutes: i8 = minutes.parse().ok()?;
    Time::new(hours, minutes, 0, 0).ok()
}

/// The instants a schedule falls due at.
#[derive(Debug, Clone, PartialEq)]
pub struct Slots {
    /// `None`: every day.
    weekday: Option<Weekday>,
    time: Time,
    zone: TimeZone,
}

/// Days around an instant's local date among which its neighbouring slots
/// are looked for: a week, and a day either side for time zones whose
/// transitions move the date.
const BEFORE: i64 = 8;
const AFTER: i64 = 9;

impl Slots {
    pub fn time_zone(&self) -> &TimeZone {
        &self.zone
    }

    /// The slot of local date `date`, if the schedule has one that day.
    pub fn on(&self, date: Date) -> Option<Timestamp> {
        if self.weekday.is_some_and(|day| day != date.weekday()) {
            return None;
        }
        instant(&self.zone, date.to_datetime(self.time))
    }

    /// The slots of the local dates around `at`'s.
    fn around(&self, at: Timestamp) -> impl Iterator<Item = Timestamp> + '_ {
        let date = at.to_zoned(self.zone.clone()).date();
        (-BEFORE..=AFTER)
            .filter_map(move |days| date.checked_add(days.days()).ok())
            .filter_map(move |day| self.on(day))
    }

    /// The first slot strictly after `after`.
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        self.around(after).filter(|slot| *slot > after).min()
    }

    /// The last slot at or before `at`.
    pub fn latest_until(&self, at: Timestamp) -> Option<Timestamp> {
        self.around(at).filter(|slot| *slot <= at).max()
    }

    /// What is owed at `now` by a schedule set at `set_at` whose last send
    /// is `last`: the latest slot since both, once (a report missed over a
    /// downtime is caught up once, with the newest slot, not once per
    /// missed slot); else the retry or take-over of the last send when its
    /// time has come.
    pub fn due(
        &self,
        set_at: Timestamp,
        last: Option<&ReportRun>,
        now: Timestamp,
    ) -> Option<Attempt> {
        let newest = self.latest_until(now).filter(|slot| *slot > set_at);
        match (newest, last) {
            (Some(slot), None) => Some(Attempt { slot, number: 1 }),
            (Some(slot), Some(run)) if slot > run.slot => Some(Attempt { slot, number: 1 }),
            (_, Some(run)) if run.state.pending() && run.retry_at.is_some_and(|at| at <= now) => {
                Some(Attempt {
                    slot: run.slot,
                    number: run.attempts + 1,
                })
            }
            _ => None,
        }
    }

    /// When the report next goes out: a pending retry's time, else the
    /// first slot after both `set_at` and the last send's slot (which may
    /// already have passed while a node was down: it is then due now).
    pub fn next_run(&self, set_at: Timestamp, last: Option<&ReportRun>) -> Option<Timestamp> {
        match last {
            Some(run) if run.state.pending() => run.retry_at,
            Some(run) => self.next_after(run.slot.max(set_at)),
            None => self.next_after(set_at),
        }
    }
}

/// The instant of wall time `at` in `zone`: the first instant after the
/// jump when the clocks skip over it, the first of two when they repeat it.
fn instant(zone: &TimeZone, at: DateTime) -> Option<Timestamp> {
    let ambiguous = zone.to_ambiguous_timestamp(at);
    match ambiguous.offset() {
        AmbiguousOffset::Gap { .. } => {
            // `earlier` reads the wall time with the offset after the gap,
            // which lands before the jump; the jump is the next transition.
            let before_jump = ambiguous.earlier().ok()?;
            zone.following(before_jump)
                .next()
                .map(|transition| transition.timestamp())
        }
        AmbiguousOffset::Unambiguous { .. } | AmbiguousOffset::Fold { .. } => {
            ambiguous.earlier().ok()
        }
    }
}

/// One attempt at sending a slot's report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    pub slot: Timestamp,
    /// 1 for the first attempt.
    pub number: u32,
}

/// Where the last send of a report stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// A node claimed it and is running the query or sending; another takes
    /// over at `retry_at` if that node died.
    Sending,
    /// The relay refused or could not be reached; tried again at `retry_at`.
    Retrying,
    /// The report went out.
    Sent,
    /// The query failed, and the subscribers were told so.
    QueryFailed,
    /// No subscriber is an active admin or manager any more: nothing sent.
    NoRecipients,
    /// The relay refused every attempt; this slot is given up.
    GaveUp,
}

impl RunState {
    /// Whether more attempts are to come.
    pub fn pending(self) -> bool {
        matches!(self, RunState::Sending | RunState::Retrying)
    }

    pub fn label(self) -> &'static str {
        match self {
            RunState::Sending => "sending",
            RunState::Retrying => "waiting to retry",
            RunState::Sent => "sent",
            RunState::QueryFailed => "query failed; subscribers told",
            RunState::NoRecipients => "not sent: no subscriber may receive it",
            RunState::GaveUp => "given up: the mail relay refused every attempt",
        }
    }
}

/// The last send of a report, for its slot. Each write of it is a
/// compare-and-swap on its stored version, so that among nodes that all see
/// a slot due, one claims it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReportRun {
    /// The slot this send is for.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub slot: Timestamp,
    pub state: RunState,
    /// Attempts made, the current one included.
    pub attempts: u32,
    /// While pending: when the next attempt (or a take-over) may start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub retry_at: Option<Timestamp>,
    /// When the state was last written.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// Rows the report held, once sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Why the query or the relay failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The report went out with this many rows.
    Sent { rows: u64 },
    /// The query failed; the notice saying so went out.
    QueryFailed { error: String },
    /// Nobody may receive it; nothing was sent.
    NoRecipients,
    /// The relay did not take the message (the report or the notice).
    MailFailed { error: String },
}

impl ReportRun {
    /// The claim of `attempt` at `now`: held until `now + lease`, after
    /// which another node may take over.
    pub fn claim(attempt: Attempt, now: Timestamp, lease: SignedDuration) -> ReportRun {
        ReportRun {
            slot: attempt.slot,
            state: RunState::Sending,
            attempts: attempt.number,
            retry_at: now.checked_add(lease).ok(),
            at: now,
            rows: None,
            error: None,
        }
    }

    /// The record after the claimed attempt ended with `outcome`: a failed
    /// send is retried after `backoff(attempts)` until that gives `None`.
    pub fn finish(
        &self,
        outcome: Outcome,
        now: Timestamp,
        backoff: impl Fn(u32) -> Option<SignedDuration>,
    ) -> ReportRun {
        let (state, rows, error, retry_at) = match outcome {
            Outcome::Sent { rows } => (RunState::Sent, Some(rows), None, None),
            Outcome::QueryFailed { error } => (RunState::QueryFailed, None, Some(error), None),
            Outcome::NoRecipients => (RunState::NoRecipients, None, None, None),
            Outcome::MailFailed { error } => {
                match backoff(self.attempts).and_then(|delay| now.checked_add(delay).ok()) {
                    Some(next) => (RunState::Retrying, None, Some(error), Some(next)),
                    None => (RunState::GaveUp, None, Some(error), None),
                }
            }
        };
        ReportRun {
            slot: self.slot,
            state,
            attempts: self.attempts,
            retry_at,
            at: now,
            rows,
            error,
        }
    }
}

#[cfg(test)]
mod tests;
