//! `ombud bench timers`: how fast the alert worker raises clock warnings
//! and breaches that have fallen due. Seeds an empty store with backlog
//! escalations whose clocks (one short SLA policy) have all run out, moves
//! a manual clock past them, and times `alerts::raise_due_alerts`, which
//! claims, raises and saves every one through the store.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, ensure};
use jiff::{SignedDuration, Timestamp};
use ombud_domain::ManualClock;
use ombud_domain::sla::{self, ClockSettings, SlaPolicy};
use ombud_server::{AppState, ServerConfig};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::config::Config;
use crate::demo::{self, Vocabulary};

#[derive(Debug, clap::Args)]
pub struct TimersArgs {
    /// Escalations whose clocks have run out (each owes six alerts).
    #[arg(long, default_value_t = 20_000)]
    count: u64,
}

pub async fn run(args: &TimersArgs, config: &Config) -> anyhow::Result<()> {
    let stores = crate::open_store(config).await?;
    if stores.maintenance.escalation_count().await? != 0 {
        bail!(
            "the timer benchmark seeds its own escalations; use an empty data directory or database"
        );
    }
    // Two clocks, each with warnings at 75 and 90 % and a breach: six
    // alerts per escalation, all due an hour after receipt.
    let policy: SlaPolicy = serde_json::from_value(serde_json::json!({
        "code": "bench-short", "name": "Short targets", "basis": "calendar",
        "targets": {"acknowledgement": "PT15M", "resolution": "PT1H"}
    }))?;
    let clocks = ClockSettings {
        policies: std::slice::from_ref(&policy),
        calendars: &BTreeMap::new(),
        regulations: &[],
        regulation_settings: &BTreeMap::new(),
        forced_policy: None,
    };
    // Fixed instants: reports arrive in the year before `received_by`, and
    // the worker runs an hour after the last possible deadline.
    let received_by: Timestamp = "2026-11-25T00:00:00Z".parse()?;
    let worker_runs_at = received_by.checked_add(SignedDuration::from_hours(2))?;
    demo::seed_directory(&stores, received_by).await?;
    let mut rng = StdRng::seed_from_u64(7);
    let vocabulary = Vocabulary::defaults();
    let mut owed = 0;
    let seeding = Instant::now();
    demo::store_escalations(
        &stores,
        args.count,
        |key| {
            let case =
                demo::open_escalation(&mut rng, key, received_by, &vocabulary, clocks, None)?;
            owed += sla::pending_alerts(&case.escalation.clocks).len();
            Ok(case)
        },
        |_| {},
    )
    .await?;
    eprintln!(
        "seeded {} escalations owing {owed} alerts in {:.0} s",
        args.count,
        seeding.elapsed().as_secs_f64()
    );

    let state = AppState::new(
        stores,
        Arc::new(ManualClock::new(worker_runs_at)),
        ServerConfig::default(),
    );
    let started = Instant::now();
    let raised = ombud_server::alerts::raise_due_alerts(&state).await?;
    let elapsed = started.elapsed().as_secs_f64();
    ensure!(
        raised == owed,
        "raised {raised} of the {owed} alerts owed in one run"
    );
    let left = ombud_server::alerts::raise_due_alerts(&state).await?;
    ensure!(left == 0, "a second run raised {left} more");

    println!("Machine: {}", super::machine());
    println!(
        "Backend: {}; {} escalations, {owed} alerts due at once\n",
        super::backend(config),
        args.count
    );
    println!("| measurement | result | target |");
    println!("| --- | --- | --- |");
    println!(
        "| alerts raised/s (claim, read, raise, save) | {:.0}/s | ≥ 1,000/s |",
        raised as f64 / elapsed
    );
    println!("| time to raise all {raised} | {elapsed:.1} s | |");
    Ok(())
}
