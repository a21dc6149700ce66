//! `ombud bench metrics`: how long the metrics dashboard takes over HTTP
//! against a child `ombud serve` holding a year of demo escalations: every
//! metric for the last thirty days (the console's default), sliced by type
//! and by partner, narrowed by country, and one metric downloaded as CSV.

use anyhow::Context;
use ombud_domain::{Role, SystemClock};
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

/// The JSON `path` answers with.
async fn get_json(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    path: &str,
    query: &[(&str, &str)],
) -> anyhow::Result<Value> {
    let response = client
        .get(format!("{base}{path}"))
        .query(query)
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?;
    Ok(response.json().await?)
}

/// The escalations a metric's table counts: the sum of its second column.
async fn metric_total(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    metric: &str,
) -> anyhow::Result<u64> {
    let body = get_json(
        client,
        base,
        token,
        &format!("/api/v1/metrics/{metric}"),
        &[],
    )
    .await?;
    let rows = body["metrics"][0]["rows"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    Ok(rows.iter().filter_map(|row| row[1].as_u64()).sum())
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
    let events = get_json(
        &client,
        &base,
        &token,
        "/api/v1/analytics/query",
        &[("sql", "SELECT count(*) FROM events")],
    )
    .await
    .context("counting events")?["rows"][0][0]
        .clone();
    let arrived = metric_total(&client, &base, &token, "intake").await?;
    let open = metric_total(&client, &base, &token, "backlog").await?;
    println!(
        "{stored} escalations ({arrived} arrived in the last 30 days, {open} open), {events} events, {}",
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
