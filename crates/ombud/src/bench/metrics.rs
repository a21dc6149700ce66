//! `ombud bench metrics`: how long the metrics dashboard takes over HTTP
//! against a child `ombud serve` holding a year of demo escalations: every
//! metric for the last thirty days (the console's default), sliced by type
//! and by partner, narrowed by country, and one metric downloaded as CSV.

use anyhow::Context;
use ombud_domain::{Clock, Role, SystemClock};
use serde_json::Value;

use crate::config::Config;
use crate::demo::Shape;

#[derive(Debug, clap::Args)]
pub struct MetricsArgs {
    /// Escalations the store should hold (seeded with demo data if empty).
    #[arg(long, default_value_t = 1_000_000)]
    count: u64,
    /// Requests per measurement.
    #[arg(long, default_value_t = 100)]
    samples: usize,
}

/// The rows a SELECT over the analytics views answers with.
async fn count(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    sql: &str,
) -> anyhow::Result<Value> {
    let response = client
        .get(format!("{base}/api/v1/analytics/query"))
        .query(&[("sql", sql)])
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?;
    let body: Value = response.json().await?;
    Ok(body["rows"][0][0].clone())
}

pub async fn run(args: &MetricsArgs, config: &Config) -> anyhow::Result<()> {
    let clock = SystemClock;
    let stores = crate::open_store(config).await?;
    let stored = super::seed_if_empty(&stores, args.count, Shape::Lifecycle, &clock).await?;
    let token = crate::create_token(&stores, &clock, Role::Admin, None, "bench").await?;
    drop(stores);
    let server = super::start_server(config).await?;
    let base = server.base.clone();
    let client = reqwest::Client::new();
    let events = count(&client, &base, &token, "SELECT count(*) FROM events")
        .await
        .context("counting events")?;
    let month_ago = clock.now() - jiff::SignedDuration::from_hours(30 * 24);
    let last_month = count(
        &client,
        &base,
        &token,
        &format!(
            "SELECT count(*) FROM escalations WHERE received_at >= '{}'",
            month_ago.strftime("%Y-%m-%dT%H:%M:%SZ")
        ),
    )
    .await
    .context("counting the last 30 days")?;
    println!(
        "{} escalations ({} in the last 30 days), {events} events, {}",
        stored,
        last_month,
        super::backend(config)
    );
    println!("| request (last 30 days) | p50 ms | p99 ms |");
    println!("| --- | --- | --- |");
    for (what, query) in [
        ("dashboard, by type", "/api/v1/metrics"),
        ("dashboard, by partner", "/api/v1/metrics?by=partner"),
        (
            "dashboard, country=JP, by surface",
            "/api/v1/metrics?country=JP&by=surface",
        ),
        (
            "response times as CSV",
            "/api/v1/metrics/response_times?format=csv",
        ),
    ] {
        let urls = vec![format!("{base}{query}"); args.samples];
        let (p50, p99) = super::latencies(&client, urls, &token).await?;
        println!("| {what} | {p50:.1} | {p99:.1} |");
    }
    Ok(())
}
