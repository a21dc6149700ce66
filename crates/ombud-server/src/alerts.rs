//! The alert worker: raises the clock warnings and breaches that have
//! fallen due. Every node runs it; the store's lease keeps two nodes from
//! raising the same alert, and the optimistic save keeps a late holder from
//! raising it twice.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use jiff::{SignedDuration, Timestamp};
use ombud_domain::EscalationKey;
use ombud_store::{Scope, StoreError};

use crate::AppState;

/// How long a claimed alert is held before another node may take it.
const LEASE: SignedDuration = SignedDuration::from_secs(60);
/// How many alerts one pass claims.
const BATCH: u32 = 200;
/// How many escalations' alerts are saved at once.
const CONCURRENT_SAVES: usize = 32;
/// How often the worker looks for due alerts.
pub const INTERVAL: Duration = Duration::from_secs(10);

/// Raises every alert due now; returns how many were raised.
pub async fn raise_due_alerts(state: &AppState) -> Result<usize, StoreError> {
    let mut raised = 0;
    loop {
        let now = state.clock.now();
        let due = state
            .stores
            .escalations
            .claim_due_alerts(now, LEASE, BATCH)
            .await?;
        if due.is_empty() {
            return Ok(raised);
        }
        let claimed = due.len();
        // One save per escalation for all its due alerts, and many
        // escalations at once, so that one commit covers many saves.
        let mut by_escalation: BTreeMap<EscalationKey, Vec<(usize, u8)>> = BTreeMap::new();
        for alert in due {
            by_escalation
                .entry(alert.key)
                .or_default()
                .push((alert.clock, alert.percent));
        }
        let mut saves = futures::stream::iter(by_escalation)
            .map(|(key, alerts)| raise(state, key, alerts, now))
            .buffer_unordered(CONCURRENT_SAVES);
        while let Some(count) = saves.next().await {
            raised += count?;
        }
        if claimed < BATCH as usize {
            return Ok(raised);
        }
    }
}

/// Raises the due `alerts` of escalation `key` in one save; returns how
/// many were raised.
async fn raise(
    state: &AppState,
    key: EscalationKey,
    alerts: Vec<(usize, u8)>,
    now: Timestamp,
) -> Result<usize, StoreError> {
    let current = match state.stores.escalations.get(key, &Scope::Staff).await {
        Ok(current) => current,
        Err(StoreError::NotFound) => return Ok(0),
        Err(other) => return Err(other),
    };
    // None: the clocks moved on after the alerts were scheduled; the save
    // that moved them scheduled their alerts afresh.
    let Some((next, events)) = current.raise_clock_alerts(&alerts, now) else {
        return Ok(0);
    };
    match state
        .stores
        .escalations
        .save(&next, current.version, &events)
        .await
    {
        Ok(()) => Ok(events.len()),
        // Changed meanwhile: that write rescheduled the alerts, and a
        // later pass raises them.
        Err(StoreError::VersionConflict { .. }) => Ok(0),
        Err(other) => Err(other),
    }
}

/// Runs [`raise_due_alerts`] every [`INTERVAL`] until dropped.
pub(crate) async fn run(state: AppState) {
    let mut ticks = tokio::time::interval(INTERVAL);
    loop {
        ticks.tick().await;
        match raise_due_alerts(&state).await {
            Ok(0) => {}
            Ok(raised) => tracing::info!(raised, "raised clock alerts"),
            Err(error) => tracing::warn!(%error, "could not raise clock alerts"),
        }
    }
}
