//! The alert worker: raises the clock warnings and breaches that have
//! fallen due. Every node runs it; the store's lease keeps two nodes from
//! raising the same alert, and the optimistic save keeps a late holder from
//! raising it twice.

use std::time::Duration;

use jiff::SignedDuration;
use ombud_store::{Scope, StoreError};

use crate::AppState;

/// How long a claimed alert is held before another node may take it.
const LEASE: SignedDuration = SignedDuration::from_secs(60);
/// How many alerts one pass claims.
const BATCH: u32 = 200;
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
        for alert in due {
            let current = match state.stores.escalations.get(alert.key, &Scope::Staff).await {
                Ok(current) => current,
                Err(StoreError::NotFound) => continue,
                Err(other) => return Err(other),
            };
            let Some((next, event)) = current.raise_clock_alert(alert.clock, alert.percent, now)
            else {
                // The clock moved on after the alert was scheduled; the save
                // that moved it scheduled its alerts afresh.
                continue;
            };
            match state
                .stores
                .escalations
                .save(&next, current.version, &[event])
                .await
            {
                Ok(()) => raised += 1,
                // Changed meanwhile: that write rescheduled the alert, and
                // a later pass raises it.
                Err(StoreError::VersionConflict { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        if claimed < BATCH as usize {
            return Ok(raised);
        }
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
