//! The webhook worker: fans queued events out to the subscriptions that
//! want them, and delivers each, signed, retrying with exponential backoff.
//! The same machinery sends email that must not be lost: a
//! `message_failed` event gets a delivery to the built-in
//! [`ACKNOWLEDGEMENT_RETRY`], whose attempt sends the acknowledgement
//! again, and a `spike_detected` event one to [`SPIKE_MAIL`], whose attempt
//! tells the managers.
//!
//! A delivery is a POST of the event as JSON with the headers
//! `Ombud-Event-Id` (the outbox id, for receivers to drop duplicates) and
//! `Ombud-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`
//! keyed with the subscription's secret.

use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::Duration;

use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use ombud_domain::EventKind;
use ombud_domain::webhook::{SPIKE_DETECTED, WebhookSubscription, retry_delay};
use ombud_store::{
    Attempt, AttemptOutcome, Delivery, FanOut, OutboxEntry, OutboxSource, Scope, SettingKind,
    StoreError,
};
use serde_json::json;
use sha2::Sha256;

use crate::AppState;

const LEASE: SignedDuration = SignedDuration::from_secs(120);
const BATCH: u32 = 100;
/// How long a receiver has to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How often the worker looks for work.
pub const INTERVAL: Duration = Duration::from_secs(5);
/// The built-in receiver of `message_failed` events: it retries the
/// acknowledgement email. (Subscription codes cannot contain `:`.)
pub const ACKNOWLEDGEMENT_RETRY: &str = "mail:acknowledgement";
/// The built-in receiver of `spike_detected` events: it emails the
/// managers.
pub const SPIKE_MAIL: &str = "mail:spike";

static CLIENT: LazyLock<reqwest::Client> = LazyLock::new(|| {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client with a timeout builds")
});

/// The signature header value for `body` sent at `at`.
pub fn signature(secret: &str, at: Timestamp, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    let seconds = at.as_second();
    mac.update(format!("{seconds}.").as_bytes());
    mac.update(body);
    format!(
        "t={seconds},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

async fn subscriptions(
    state: &AppState,
) -> Result<BTreeMap<String, WebhookSubscription>, StoreError> {
    state
        .stores
        .settings
        .list(SettingKind::Webhook)
        .await?
        .into_iter()
        .map(|s| {
            serde_json::from_value(s.body)
                .map(|w: WebhookSubscription| (w.code.clone(), w))
                .map_err(StoreError::backend)
        })
        .collect()
}

/// Fans out and attempts whatever is due now; returns how many deliveries
/// succeeded.
pub async fn deliver_webhooks(state: &AppState) -> Result<usize, StoreError> {
    let subscriptions = subscriptions(state).await?;
    loop {
        let now = state.clock.now();
        let entries = state.stores.outbox.claim_entries(now, LEASE, BATCH).await?;
        let fan_outs: Vec<FanOut> = entries
            .iter()
            .map(|entry| {
                let mut wanted: Vec<String> = subscriptions
                    .values()
                    .filter(|s| s.wants(&entry.kind))
                    .map(|s| s.code.clone())
                    .collect();
                if state.config.mail.is_some() {
                    if entry.kind == EventKind::MessageFailed.as_str() {
                        wanted.push(ACKNOWLEDGEMENT_RETRY.to_string());
                    } else if entry.kind == SPIKE_DETECTED {
                        wanted.push(SPIKE_MAIL.to_string());
                    }
                }
                FanOut {
                    entry: entry.id,
                    subscriptions: wanted,
                }
            })
            .collect();
        if !fan_outs.is_empty() {
            state.stores.outbox.fan_out(&fan_outs, now).await?;
        }
        if entries.len() < BATCH as usize {
            break;
        }
    }
    let mut delivered = 0;
    loop {
        let now = state.clock.now();
        let due = state
            .stores
            .outbox
            .claim_deliveries(now, LEASE, BATCH)
            .await?;
        for delivery in &due {
            let mailed = match (delivery.subscription.as_str(), delivery.entry.source) {
                (ACKNOWLEDGEMENT_RETRY, OutboxSource::Event { key, seq }) => {
                    Some(crate::mail::retry_acknowledgement(state, key, seq).await)
                }
                (SPIKE_MAIL, OutboxSource::SpikeAlert(alert)) => {
                    Some(crate::mail::announce_spike(state, alert).await)
                }
                _ => None,
            };
            let attempt = match mailed {
                Some(Ok(())) => delivered_at(state.clock.now(), None),
                Some(Err(error)) => failed(state.clock.now(), delivery, None, error),
                None => attempt(state, subscriptions.get(&delivery.subscription), delivery).await?,
            };
            if attempt.outcome == AttemptOutcome::Delivered {
                delivered += 1;
            }
            state
                .stores
                .outbox
                .record_attempt(delivery.id, &attempt)
                .await?;
        }
        if due.len() < BATCH as usize {
            return Ok(delivered);
        }
    }
}

async fn attempt(
    state: &AppState,
    subscription: Option<&WebhookSubscription>,
    delivery: &Delivery,
) -> Result<Attempt, StoreError> {
    let now = state.clock.now();
    let gave_up = |error: &str| Attempt {
        at: now,
        status: None,
        error: Some(error.to_string()),
        outcome: AttemptOutcome::GaveUp,
    };
    let Some(subscription) = subscription.filter(|s| s.active) else {
        return Ok(gave_up("the subscription was removed or deactivated"));
    };
    let body = match payload(state, &delivery.entry).await? {
        Ok(payload) => serde_json::to_vec(&payload).map_err(StoreError::backend)?,
        Err(gone) => return Ok(gave_up(gone)),
    };
    let entry = &delivery.entry;
    let sent = CLIENT
        .post(&subscription.url)
        .header("content-type", "application/json")
        .header("ombud-event-id", entry.id.to_string())
        .header(
            "ombud-signature",
            signature(&subscription.secret, now, &body),
        )
        .body(body)
        .send()
        .await;
    Ok(match sent {
        Ok(response) if response.status().is_success() => {
            delivered_at(now, Some(response.status().as_u16()))
        }
        Ok(response) => failed(
            now,
            delivery,
            Some(response.status().as_u16()),
            format!("the receiver answered {}", response.status()),
        ),
        Err(error) => failed(now, delivery, None, format!("not delivered: {error}")),
    })
}

/// What a delivery of `entry` sends: the escalation event, or the spike
/// alert as the API shows it; `Err` when it no longer exists.
async fn payload(
    state: &AppState,
    entry: &OutboxEntry,
) -> Result<Result<serde_json::Value, &'static str>, StoreError> {
    Ok(Ok(match entry.source {
        OutboxSource::Event { key, seq } => {
            let timeline = state
                .stores
                .escalations
                .timeline(key, &Scope::Staff)
                .await?;
            let Some(event) = timeline.into_iter().find(|e| e.seq == seq) else {
                return Ok(Err("the event no longer exists"));
            };
            json!({
                "id": entry.id,
                "type": entry.kind,
                "escalation": key.to_string(),
                "seq": event.seq,
                "at": event.at,
                "visibility": event.visibility,
                "actor": event.actor,
                "data": event.data,
            })
        }
        OutboxSource::SpikeAlert(id) => {
            let alert = match state.stores.spikes.get(id).await {
                Ok(alert) => alert,
                Err(StoreError::NotFound) => return Ok(Err("the alert no longer exists")),
                Err(other) => return Err(other),
            };
            json!({
                "id": entry.id,
                "type": entry.kind,
                "at": alert.alert.created_at,
                "alert": crate::routes::spikes::SpikeAlertView::from(alert),
            })
        }
    }))
}

fn delivered_at(now: Timestamp, status: Option<u16>) -> Attempt {
    Attempt {
        at: now,
        status,
        error: None,
        outcome: AttemptOutcome::Delivered,
    }
}

/// A failed attempt: retried after the backoff, or given up after the last.
fn failed(now: Timestamp, delivery: &Delivery, status: Option<u16>, error: String) -> Attempt {
    let outcome = match retry_delay(delivery.attempts + 1).and_then(|d| now.checked_add(d).ok()) {
        Some(next) => AttemptOutcome::Retry(next),
        None => AttemptOutcome::GaveUp,
    };
    Attempt {
        at: now,
        status,
        error: Some(error),
        outcome,
    }
}

/// Runs [`deliver_webhooks`] every [`INTERVAL`] until dropped.
pub(crate) async fn run(state: AppState) {
    let mut ticks = tokio::time::interval(INTERVAL);
    loop {
        ticks.tick().await;
        match deliver_webhooks(&state).await {
            Ok(0) => {}
            Ok(delivered) => tracing::info!(delivered, "delivered webhooks"),
            Err(error) => tracing::warn!(%error, "could not deliver webhooks"),
        }
    }
}
