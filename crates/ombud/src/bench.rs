//! `ombud bench`: benchmarks anyone can run. By default (`ombud bench` or
//! `ombud bench http`) it seeds a store, starts `ombud serve` as a child
//! process on loopback, and measures it over HTTP: durable creates per
//! second at 1, 8 and 64 clients, get/list/search latency percentiles, and
//! the server's RSS. `rules`, `timers` and `claim` measure the workflow
//! engine, `console` the web console's pages, `clusters` similar-escalation
//! clustering, `metrics` the metrics dashboard. Every loop is bounded; only 127.0.0.1 is contacted.

mod claim;
mod clusters;
mod console;
mod metrics;
mod rules;
mod timers;

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::StreamExt;
use ombud_domain::{Clock, Role, SystemClock};
use ombud_store::Stores;
use rand::{Rng, SeedableRng};

use crate::config::Config;
use crate::demo::Shape;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: Option<What>,
    #[command(flatten)]
    http: HttpArgs,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// The HTTP API: creates, gets, lists and searches (the default).
    Http(HttpArgs),
    /// Routing rules and priority scoring in process: escalations/s.
    Rules(rules::RulesArgs),
    /// Raising clock alerts that have fallen due, against the store: alerts/s.
    Timers(timers::TimersArgs),
    /// Claim-next latency over HTTP, agents claiming concurrently.
    Claim(claim::ClaimArgs),
    /// The web console's pages over HTTP, signed in as the demo agent.
    Console(console::ConsoleArgs),
    /// Similar-escalation clustering on planted clusters: precision, recall, time.
    Clusters(clusters::ClustersArgs),
    /// The metrics dashboard over HTTP: every metric for the last 30 days.
    Metrics(metrics::MetricsArgs),
}

#[derive(Debug, clap::Args)]
struct HttpArgs {
    /// Escalations the store should hold before measuring (seeded if empty).
    #[arg(long, default_value_t = 1_000_000)]
    count: u64,
    /// Requests per latency measurement.
    #[arg(long, default_value_t = 2000)]
    samples: usize,
    /// Creates per client for the throughput runs.
    #[arg(long, default_value_t = 200)]
    creates_per_client: usize,
}

pub async fn run(args: BenchArgs, config: &Config) -> anyhow::Result<()> {
    match args.what {
        None => http(args.http, config).await,
        Some(What::Http(http_args)) => http(http_args, config).await,
        Some(What::Rules(rules_args)) => rules::run(&rules_args),
        Some(What::Timers(timers_args)) => timers::run(&timers_args, config).await,
        Some(What::Claim(claim_args)) => claim::run(&claim_args, config).await,
        Some(What::Console(console_args)) => console::run(&console_args, config).await,
        Some(What::Clusters(clusters_args)) => clusters::run(&clusters_args),
        Some(What::Metrics(metrics_args)) => metrics::run(&metrics_args, config).await,
    }
}

/// Seeds `count` demo escalations of `shape` into an empty store; a store
/// that already holds at least `count` is measured as it is. Returns how
/// many the store holds.
async fn seed_if_empty(
    stores: &Stores,
    count: u64,
    shape: Shape,
    clock: &dyn Clock,
) -> anyhow::Result<i64> {
    let existing = stores.maintenance.escalation_count().await?;
    if existing == 0 {
        let started = Instant::now();
        crate::seed_demo(stores, count, clock.now(), shape).await?;
        eprintln!(
            "seeded {count} escalations in {:.0} s",
            started.elapsed().as_secs_f64()
        );
    } else if (existing as u64) < count {
        bail!(
            "the store holds {existing} escalations, fewer than --count {count}; use an empty data directory"
        );
    }
    Ok(stores.maintenance.escalation_count().await?)
}

fn backend(config: &Config) -> &'static str {
    if config.is_postgres() {
        "PostgreSQL"
    } else {
        "SQLite"
    }
}

struct Server {
    child: std::process::Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn start_server(config: &Config) -> anyhow::Result<Server> {
    let addr = format!("127.0.0.1:{}", free_port()?);
    let mut command = std::process::Command::new(std::env::current_exe()?);
    command
        .arg("serve")
        .arg("--data")
        .arg(&config.data)
        .arg("--addr")
        .arg(&addr)
        .env("OMBUD_LOG", "warn");
    if let Some(url) = &config.database_url {
        command.arg("--database-url").arg(&url.0);
    }
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting ombud serve")?;
    let server = Server {
        child,
        base: format!("http://{addr}"),
    };
    let client = reqwest::Client::new();
    let mut wait = Duration::from_millis(20);
    for _ in 0..40 {
        if client
            .get(format!("{}/readyz", server.base))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(server);
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(1));
    }
    bail!("the server did not become ready")
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted
        .get(index)
        .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
}

/// Runs `requests` one after another and returns (p50, p99) in milliseconds.
async fn latencies(
    client: &reqwest::Client,
    urls: Vec<String>,
    token: &str,
) -> anyhow::Result<(f64, f64)> {
    let mut times = Vec::with_capacity(urls.len());
    for url in urls {
        let started = Instant::now();
        let response = client.get(&url).bearer_auth(token).send().await?;
        let status = response.status();
        response.bytes().await?;
        if !status.is_success() {
            bail!("GET {url} answered {status}");
        }
        times.push(started.elapsed());
    }
    times.sort();
    Ok((percentile(&times, 0.5), percentile(&times, 0.99)))
}

async fn creates_per_second(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    clients: usize,
    per_client: usize,
) -> anyhow::Result<f64> {
    // Each create reports its own account, as most real reports do; a
    // subject everybody reports at once is the slow case (duplicate links).
    let body = |n: usize| {
        serde_json::json!({
            "type": "account_access", "partner": "jp-npa-cyber",
            "title": format!("ベンチマーク: アカウント乗っ取り {n}"),
            "description": "Benchmark escalation", "country": "JP", "language": "ja",
            "subjects": [{"kind": "account", "surface": "social", "external_id": format!("@bench-{clients}-{n}")}]
        })
    };
    let started = Instant::now();
    let results = futures::stream::iter(0..clients * per_client)
        .map(|n| {
            let request = client
                .post(format!("{base}/api/v1/escalations"))
                .bearer_auth(token)
                .json(&body(n));
            async move { request.send().await.map(|r| r.status()) }
        })
        .buffer_unordered(clients)
        .collect::<Vec<_>>()
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    for result in results {
        let status = result?;
        if status != reqwest::StatusCode::CREATED {
            bail!("create answered {status}");
        }
    }
    Ok((clients * per_client) as f64 / elapsed)
}

fn proc_status(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace()
        .nth(1)?
        .parse::<u64>()
        .ok()
        .map(|kb| kb / 1024)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or_default().trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or_else(|| "?".into(), |kb| format!("{} GiB", kb / 1024 / 1024));
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores, {memory}, {cpu}")
}

async fn http(args: HttpArgs, config: &Config) -> anyhow::Result<()> {
    let clock = SystemClock;
    let stores = crate::open_store(config).await?;
    let highest = seed_if_empty(&stores, args.count, Shape::Lifecycle, &clock).await?;
    let token = crate::create_token(&stores, &clock, Role::Admin, None, "bench").await?;
    drop(stores);

    let server = start_server(config).await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(128)
        .build()?;
    let base = server.base.clone();
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);

    let gets = (0..args.samples)
        .map(|_| {
            format!(
                "{base}/api/v1/escalations/ESC-{}",
                rng.random_range(1..=highest)
            )
        })
        .collect();
    let (get50, get99) = latencies(&client, gets, &token).await?;
    let filters = [
        "status=new",
        "partner=th-dge-online",
        "type=scams_fraud",
        "priority=P0",
        "language=ko",
        "tag=vip",
        "country=IN",
        "status=awaiting_partner&priority=P1",
    ];
    let lists = (0..args.samples)
        .map(|i| {
            format!(
                "{base}/api/v1/escalations?limit=50&{}",
                filters[i % filters.len()]
            )
        })
        .collect();
    let (list50, list99) = latencies(&client, lists, &token).await?;
    // Broad searches: words found in a large share of the demo escalations,
    // so every result page has many candidates to rank.
    let common_words = [
        "乗っ取り",
        "詐欺",
        "แฮ็ก",
        "हैक",
        "akun",
        "celebrity",
        "계정",
        "帳號",
    ];
    let broad = (0..args.samples.min(500))
        .map(|i| {
            format!(
                "{base}/api/v1/escalations?limit=20&q={}",
                url_encode(common_words[i % common_words.len()])
            )
        })
        .collect();
    let (broad50, broad99) = latencies(&client, broad, &token).await?;
    // Selective searches: one account handle, the way an agent looks up the
    // cases about a subject; a handle matches a few dozen escalations.
    let selective = (0..args.samples)
        .map(|_| {
            format!(
                "{base}/api/v1/escalations?limit=20&q=user{}",
                rng.random_range(10_000..99_999)
            )
        })
        .collect();
    let (selective50, selective99) = latencies(&client, selective, &token).await?;
    let mut creates = Vec::new();
    for clients in [1, 8, 64] {
        let per_client = if clients == 1 {
            args.creates_per_client * 5
        } else {
            args.creates_per_client
        };
        creates.push((
            clients,
            creates_per_second(&client, &base, &token, clients, per_client).await?,
        ));
    }
    let pid = server.child.id();
    let (rss, hwm) = (proc_status(pid, "VmRSS:"), proc_status(pid, "VmHWM:"));

    println!("Machine: {}", machine());
    println!(
        "Backend: {}, {highest} escalations before the create runs\n",
        backend(config)
    );
    println!("| measurement | result | target |");
    println!("| --- | --- | --- |");
    for (clients, rate) in creates {
        let target = if clients == 64 { "≥ 10,000/s" } else { "" };
        println!("| durable creates/s, {clients} client(s) | {rate:.0}/s | {target} |");
    }
    println!("| get by key p50 / p99 | {get50:.2} / {get99:.2} ms | p99 ≤ 2 ms |");
    println!(
        "| first page of a filtered list p50 / p99 | {list50:.2} / {list99:.2} ms | p99 ≤ 10 ms |"
    );
    println!(
        "| search for a subject handle p50 / p99 | {selective50:.2} / {selective99:.2} ms | p99 ≤ 50 ms |"
    );
    println!(
        "| search for a common word p50 / p99 | {broad50:.2} / {broad99:.2} ms | p99 ≤ 50 ms |"
    );
    println!(
        "| server RSS now / peak | {} / {} MB | ≤ 250 MB |",
        rss.map_or("?".into(), |v| v.to_string()),
        hwm.map_or("?".into(), |v| v.to_string())
    );
    Ok(())
}

fn url_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
