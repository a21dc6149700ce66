//! `ombud bench console`: how long the web console's pages take, over HTTP
//! against a child `ombud serve`, signed in as the demo agent: the work
//! lists, an escalation's workspace and the overview, one request after
//! another.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use ombud_domain::SystemClock;
use rand::{Rng, SeedableRng};

use crate::config::Config;
use crate::demo::{self, Shape};

#[derive(Debug, clap::Args)]
pub struct ConsoleArgs {
    /// Escalations the store should hold (seeded with demo data if empty).
    #[arg(long, default_value_t = 1_000_000)]
    count: u64,
    /// Requests per page.
    #[arg(long, default_value_t = 200)]
    samples: usize,
}

/// The value of the first hidden field `name` on a page.
fn hidden(html: &str, name: &str) -> anyhow::Result<String> {
    let field = format!(r#"name="{name}" value=""#);
    let start = html.find(&field).context("no such field")? + field.len();
    Ok(html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string())
}

/// The `name=value` of a response's cookie `name`.
fn cookie(response: &reqwest::Response, name: &str) -> anyhow::Result<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|pair| pair.starts_with(&format!("{name}=")))
        .map(str::to_string)
        .with_context(|| format!("no {name} cookie"))
}

pub async fn run(args: &ConsoleArgs, config: &Config) -> anyhow::Result<()> {
    let stores = crate::open_store(config).await?;
    let stored = super::seed_if_empty(&stores, args.count, Shape::Lifecycle, &SystemClock).await?;
    drop(stores);
    let server = super::start_server(config).await?;
    let base = server.base.clone();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;

    let form = client.get(format!("{base}/sign-in")).send().await?;
    let sign_in_cookie = cookie(&form, "ombud_sign_in")?;
    let csrf = hidden(&form.text().await?, "csrf")?;
    let signed_in = client
        .post(format!("{base}/sign-in"))
        .header(reqwest::header::COOKIE, sign_in_cookie)
        .header(reqwest::header::ORIGIN, &base)
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", demo::DEMO_AGENT),
            ("password", demo::DEMO_PASSWORD),
        ])
        .send()
        .await?;
    if signed_in.status() != reqwest::StatusCode::SEE_OTHER {
        bail!(
            "signing in as {} answered {}",
            demo::DEMO_AGENT,
            signed_in.status()
        );
    }
    let session = cookie(&signed_in, "ombud_session")?;

    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let workspaces: Vec<String> = (0..args.samples)
        .map(|_| format!("/console/escalations/ESC-{}", rng.random_range(1..=stored)))
        .collect();
    let pages: [(&str, Vec<String>); 8] = [
        ("my work", vec!["/console?view=mine".into(); args.samples]),
        (
            "unassigned",
            vec!["/console?view=unassigned".into(); args.samples],
        ),
        (
            "breaching soon",
            vec!["/console?view=breaching".into(); args.samples],
        ),
        ("all open", vec!["/console?view=all".into(); args.samples]),
        (
            "all open, P1 in Japan",
            vec!["/console?view=all&priority=P1&country=JP".into(); args.samples],
        ),
        (
            "waiting on consults",
            vec!["/console?view=consults".into(); args.samples],
        ),
        ("workspace of a random escalation", workspaces),
        ("overview", vec!["/console/overview".into(); args.samples]),
    ];
    println!("Machine: {}", super::machine());
    println!(
        "Backend: {}; {stored} escalations; {} requests per page, one at a time\n",
        super::backend(config),
        args.samples
    );
    println!("| page | p50 | p99 | target |");
    println!("| --- | --- | --- | --- |");
    for (name, paths) in pages {
        let mut times: Vec<Duration> = Vec::with_capacity(paths.len());
        for path in paths {
            let started = Instant::now();
            let response = client
                .get(format!("{base}{path}"))
                .header(reqwest::header::COOKIE, &session)
                .send()
                .await?;
            let status = response.status();
            response.bytes().await?;
            if status != reqwest::StatusCode::OK {
                bail!("GET {path} answered {status}");
            }
            times.push(started.elapsed());
        }
        times.sort();
        println!(
            "| {name} | {:.1} ms | {:.1} ms | < 100 ms |",
            super::percentile(&times, 0.5),
            super::percentile(&times, 0.99)
        );
    }
    Ok(())
}
