//! The report worker: emails each scheduled saved query as an XLSX file
//! when its slot comes (see `ombud_domain::report::schedule`). Every node
//! runs it every minute. A node claims a slot's send by replacing the
//! report's `report_run` settings document at the version it read, so
//! among nodes that all see a slot due, one sends it; the others lose the
//! compare-and-swap and move on. A send that the relay refuses is retried
//! with the webhooks' backoff; a query that fails is reported to the
//! subscribers instead of the file. Delivery is at least once: a node that
//! dies after the relay accepted the message but before recording it leaves
//! a claim that another node takes over when its lease ends, and sends
//! again.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use jiff::{SignedDuration, Timestamp};
use ombud_domain::report::SavedQuery;
use ombud_domain::report::schedule::{Outcome, ReportRun, ReportSchedule, RunState, Slots};
use ombud_domain::template::Message;
use ombud_domain::webhook::retry_delay;
use ombud_store::{Expect, Setting, SettingKind, StoreError};

use crate::AppState;
use crate::export::{Format, xlsx_file};
use crate::mail::{Attachment, MailConfig};
use crate::routes::analytics::query_table;

/// How often the worker looks for due reports.
pub const INTERVAL: Duration = Duration::from_secs(60);
/// How long a claimed send is held before another node may take it over:
/// longer than a download's query may run, with time to send the mail.
pub const LEASE: SignedDuration = SignedDuration::from_mins(45);
/// How many reports one node prepares at once.
const CONCURRENT_SENDS: usize = 4;

/// Who among `subscribers` may receive a report now: active admins and
/// managers, the people who may run the query themselves.
pub(crate) async fn recipients(
    state: &AppState,
    subscribers: &[String],
) -> Result<Vec<String>, StoreError> {
    let users = state.stores.directory.list_users().await?;
    Ok(subscribers
        .iter()
        .filter(|address| {
            users.iter().any(|user| {
                user.active && user.role.configures() && user.email.eq_ignore_ascii_case(address)
            })
        })
        .cloned()
        .collect())
}

/// Sends every report due now; returns how many went out.
pub async fn send_due_reports(state: &AppState) -> Result<usize, StoreError> {
    let Some(mail) = &state.config.mail else {
        return Ok(0);
    };
    let schedules = state
        .stores
        .settings
        .list(SettingKind::ReportSchedule)
        .await?;
    if schedules.is_empty() {
        return Ok(0);
    }
    let mut runs: BTreeMap<String, Setting> = state
        .stores
        .settings
        .list(SettingKind::ReportRun)
        .await?
        .into_iter()
        .map(|run| (run.code.clone(), run))
        .collect();
    let sends = schedules.into_iter().map(|schedule| {
        let run = runs.remove(&schedule.code);
        send_if_due(state, mail, schedule, run)
    });
    let mut sends = futures::stream::iter(sends).buffer_unordered(CONCURRENT_SENDS);
    let mut sent = 0;
    while let Some(result) = sends.next().await {
        match result {
            Ok(Some(RunState::Sent)) => sent += 1,
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "could not send a scheduled report"),
        }
    }
    Ok(sent)
}

fn decode<T: serde::de::DeserializeOwned>(setting: &Setting) -> Result<T, StoreError> {
    serde_json::from_value(setting.body.clone()).map_err(StoreError::backend)
}

/// Claims and sends the report of `stored` if a slot of it is due; returns
/// how the send ended, or `None` if none was due or another node has it.
async fn send_if_due(
    state: &AppState,
    mail: &MailConfig,
    stored: Setting,
    run: Option<Setting>,
) -> Result<Option<RunState>, StoreError> {
    let code = stored.code.clone();
    let schedule: ReportSchedule = decode(&stored)?;
    let slots = schedule
        .slots()
        .map_err(|e| StoreError::Backend(format!("report schedule {code:?}: {e}").into()))?;
    let last: Option<ReportRun> = run.as_ref().map(decode).transpose()?;
    let now = state.clock.now();
    let Some(attempt) = slots.due(schedule.set_at, last.as_ref(), now) else {
        return Ok(None);
    };
    let claim = ReportRun::claim(attempt, now, LEASE);
    let expect = run.map_or(Expect::Absent, |run| Expect::Version(run.version));
    let body = serde_json::to_value(&claim).map_err(StoreError::backend)?;
    let claimed = match state
        .stores
        .settings
        .put(SettingKind::ReportRun, &code, &body, expect, now)
        .await
    {
        Ok(claimed) => claimed,
        Err(StoreError::Conflict(_) | StoreError::VersionConflict { .. }) => return Ok(None),
        Err(other) => return Err(other),
    };
    let outcome = send(state, mail, &code, &schedule, &slots, attempt.slot).await?;
    if let Outcome::MailFailed { error } = &outcome {
        tracing::warn!(report = code, %error, attempt = attempt.number, "the relay did not take a scheduled report");
    }
    let finished = claim.finish(outcome, state.clock.now(), retry_delay);
    let body = serde_json::to_value(&finished).map_err(StoreError::backend)?;
    match state
        .stores
        .settings
        .put(
            SettingKind::ReportRun,
            &code,
            &body,
            Expect::Version(claimed.version),
            state.clock.now(),
        )
        .await
    {
        Ok(_) => {}
        // Unscheduled meanwhile, or taken over by a node that thought this
        // one dead: the record is theirs now.
        Err(StoreError::NotFound | StoreError::VersionConflict { .. }) => {
            tracing::warn!(
                report = code,
                "a scheduled report's send could not be recorded"
            )
        }
        Err(other) => return Err(other),
    }
    Ok(Some(finished.state))
}

/// Runs the saved query and mails its rows, or mails why it failed.
async fn send(
    state: &AppState,
    mail: &MailConfig,
    code: &str,
    schedule: &ReportSchedule,
    slots: &Slots,
    slot: Timestamp,
) -> Result<Outcome, StoreError> {
    let to = recipients(state, &schedule.subscribers).await?;
    if to.is_empty() {
        return Ok(Outcome::NoRecipients);
    }
    let saved: Result<SavedQuery, String> = match state
        .stores
        .settings
        .get(SettingKind::SavedQuery, code)
        .await
    {
        Ok(stored) => decode(&stored).map_err(|e| e.to_string()),
        Err(StoreError::NotFound) => Err("the saved query no longer exists".into()),
        Err(other) => return Err(other),
    };
    let zone = slots.time_zone().clone();
    let day = slot.to_zoned(zone.clone()).date().to_string();
    let name = saved.as_ref().map_or(code, |q| q.name.as_str());
    let file = match &saved {
        Ok(query) => report_file(state, query, &format!("{code}-{day}")).await,
        Err(error) => Err(error.clone()),
    };
    let ran_at = state
        .clock
        .now()
        .to_zoned(zone)
        .strftime("%Y-%m-%d %H:%M %Z");
    let (message, attachment, outcome) = match file {
        Ok((attachment, rows)) => {
            let about = match saved.as_ref().map(|q| q.description.as_str()) {
                Ok("") | Err(_) => String::new(),
                Ok(description) => format!("{description}\n"),
            };
            let body = format!(
                "{name}\n{about}\n\
                 The attached file holds the {rows} row{s} the saved query \"{code}\" \
                 returned at {ran_at}.\n\n\
                 This report goes out {when}. To change or stop it, open the saved query \
                 in Ombud's console (SQL, then \"{name}\").\n",
                s = if rows == 1 { "" } else { "s" },
                when = schedule.describe(),
            );
            let message = report_message(mail, code, &to, format!("{name}: report of {day}"), body);
            (message, Some(attachment), Outcome::Sent { rows })
        }
        Err(error) => {
            let body = format!(
                "The saved query \"{code}\" failed when it ran at {ran_at} for the report \
                 of {day}, so there is no file this time:\n\n{error}\n\n\
                 This report goes out {when}. Fix the query in Ombud's console (SQL, then \
                 \"{name}\"), or change or stop the schedule there.\n",
                when = schedule.describe(),
            );
            let message = report_message(
                mail,
                code,
                &to,
                format!("{name}: the report of {day} failed"),
                body,
            );
            (message, None, Outcome::QueryFailed { error })
        }
    };
    Ok(match mail.send_with(&message, attachment).await {
        Ok(()) => outcome,
        Err(error) => Outcome::MailFailed { error },
    })
}

fn report_message(
    mail: &MailConfig,
    code: &str,
    to: &[String],
    subject: String,
    body: String,
) -> Message {
    Message {
        from: mail.from.clone(),
        to: to.to_vec(),
        subject,
        body,
        message_id: mail.new_message_id(&format!("report.{code}")),
    }
}

/// Every row of `query` as an XLSX attachment called `name`, and how many
/// rows it holds; or why the query failed, in words for its subscribers.
async fn report_file(
    state: &AppState,
    query: &SavedQuery,
    name: &str,
) -> Result<(Attachment, u64), String> {
    let table = query_table(state, &query.sql, name)
        .await
        .map_err(|error| {
            if let Some(cause) = &error.cause {
                tracing::warn!(
                    report = query.code,
                    cause,
                    "a scheduled report's query failed"
                );
            }
            error.detail
        })?;
    let (bytes, rows) = xlsx_file(table).await?;
    Ok((
        Attachment {
            filename: format!("{name}.xlsx"),
            content_type: Format::Xlsx.content_type().to_string(),
            bytes,
        },
        rows,
    ))
}

/// Runs [`send_due_reports`] every [`INTERVAL`] until dropped.
pub(crate) async fn run(state: AppState) {
    let mut ticks = tokio::time::interval(INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match send_due_reports(&state).await {
            Ok(0) => {}
            Ok(sent) => tracing::info!(sent, "sent scheduled reports"),
            Err(error) => tracing::warn!(%error, "could not send scheduled reports"),
        }
    }
}
