//! `ombud bench claim`: claim-next latency over HTTP against a child
//! `ombud serve`, with many agents claiming at once from a large backlog.
//! Seeds an empty store with open, unassigned demo escalations (each in its
//! language's queue, clocks running), gives every agent a profile over the
//! API, then times `POST /api/v1/claim-next`, one request per claim.

use std::time::{Duration, Instant};

use anyhow::{bail, ensure};
use futures::StreamExt;
use ombud_domain::assignment::AgentProfile;
use ombud_domain::{Clock, Role, SystemClock};
use ombud_store::NewUser;
use serde_json::json;

use crate::config::Config;
use crate::demo::{self, Shape};

#[derive(Debug, clap::Args)]
pub struct ClaimArgs {
    /// Open, unassigned escalations the store should hold (seeded if empty).
    #[arg(long, default_value_t = 1_000_000)]
    count: u64,
    /// Agent profiles, each claiming in turn.
    #[arg(long, default_value_t = 200)]
    agents: usize,
    /// Claims timed, after one untimed warm-up claim per client.
    #[arg(long, default_value_t = 4000)]
    samples: usize,
    /// Claims in flight at once.
    #[arg(long, default_value_t = 8)]
    clients: usize,
}

fn agent_email(n: usize) -> String {
    format!("agent{n:03}@bench.ombud.test")
}

/// Agent `n`'s profile: two languages with their queues, sensitive-media
/// clearance for one in four, and room for `capacity` open cases.
fn profile(n: usize, languages: &[&str], capacity: u32) -> serde_json::Value {
    let first = languages[n % languages.len()];
    let second = languages[(n + 3) % languages.len()];
    json!({
        "email": agent_email(n),
        "queues": [demo::queue_for(first), demo::queue_for(second)],
        "languages": [first, second],
        "sensitive_media": n.is_multiple_of(4),
        "capacity": capacity,
    })
}

pub async fn run(args: &ClaimArgs, config: &Config) -> anyhow::Result<()> {
    let clock = SystemClock;
    let stores = crate::open_store(config).await?;
    let stored = super::seed_if_empty(&stores, args.count, Shape::Open, &clock).await?;
    let users = stores.directory.list_users().await?;
    for n in 0..args.agents {
        let email = agent_email(n);
        if users.iter().any(|u| u.email == email) {
            continue;
        }
        // Agents here only claim through the admin's token; no password.
        let user = NewUser {
            email: email.clone(),
            name: format!("Bench agent {n}"),
            role: Role::Agent,
            partner: None,
            password_hash: "!".into(),
            created_at: clock.now(),
        };
        stores.directory.create_user(&user).await?;
    }
    let token = crate::create_token(&stores, &clock, Role::Admin, None, "bench").await?;
    drop(stores);

    let server = super::start_server(config).await?;
    let base = server.base.clone();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .build()?;
    let put = async |path: String, body: serde_json::Value| -> anyhow::Result<()> {
        let response = client
            .put(format!("{base}/api/v1/{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        if !status.is_success() {
            bail!("PUT {path} answered {status}: {}", response.text().await?);
        }
        Ok(())
    };
    let languages = demo::languages();
    for language in &languages {
        let code = demo::queue_for(language);
        put(
            format!("queues/{code}"),
            json!({"code": code, "name": format!("{language} cases"), "team": "APAC escalations"}),
        )
        .await?;
    }
    // The most a profile allows: reruns on the same store add to what the
    // agents already hold (and every claim counts it).
    for n in 0..args.agents {
        put(
            format!("agents/{}", agent_email(n)),
            profile(n, &languages, AgentProfile::MAX_CAPACITY),
        )
        .await?;
    }

    let claim = |n: usize| {
        let request = client
            .post(format!("{base}/api/v1/claim-next"))
            .bearer_auth(&token)
            .json(&json!({"agent": agent_email(n % args.agents)}));
        async move {
            let started = Instant::now();
            let response = request.send().await?;
            let status = response.status();
            let body = response.bytes().await?;
            if status != reqwest::StatusCode::OK {
                bail!(
                    "claim-next answered {status}: {}",
                    String::from_utf8_lossy(&body)
                );
            }
            anyhow::Ok(started.elapsed())
        }
    };
    let warm_up = futures::stream::iter(0..args.clients)
        .map(claim)
        .buffer_unordered(args.clients)
        .collect::<Vec<_>>()
        .await;
    for result in warm_up {
        result?;
    }
    let started = Instant::now();
    let results = futures::stream::iter(args.clients..args.clients + args.samples)
        .map(claim)
        .buffer_unordered(args.clients)
        .collect::<Vec<_>>()
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    let mut times = results
        .into_iter()
        .collect::<anyhow::Result<Vec<Duration>>>()?;
    ensure!(times.len() == args.samples);
    times.sort();
    let pid = server.child.id();
    let (rss, hwm) = (
        super::proc_status(pid, "VmRSS:"),
        super::proc_status(pid, "VmHWM:"),
    );

    println!("Machine: {}", super::machine());
    println!(
        "Backend: {}; {stored} escalations stored, seeded open and unassigned; {} agents, {} clients, {} timed claims\n",
        super::backend(config),
        args.agents,
        args.clients,
        args.samples
    );
    println!("| measurement | result | target |");
    println!("| --- | --- | --- |");
    println!(
        "| claim-next p50 / p99 | {:.2} / {:.2} ms | p99 ≤ 5 ms |",
        super::percentile(&times, 0.5),
        super::percentile(&times, 0.99)
    );
    println!("| claims/s | {:.1}/s | |", args.samples as f64 / elapsed);
    println!(
        "| server RSS now / peak | {} / {} MB | |",
        rss.map_or("?".into(), |v| v.to_string()),
        hwm.map_or("?".into(), |v| v.to_string())
    );
    Ok(())
}
