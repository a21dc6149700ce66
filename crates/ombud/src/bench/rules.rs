//! `ombud bench rules`: what intake does to every report before storing it
//! — the priority score, then the routing rules — timed in process on one
//! core over a rule set and a stream of varied demo reports in ten
//! languages.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Context;
use jiff::Timestamp;
use ombud_domain::deadlines::Target;
use ombud_domain::regulatory::RegulatoryRule;
use ombud_domain::routing::{self, RoutingRule};
use ombud_domain::sla::{self, ClockSettings, EscalationFacts};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use serde_json::{Value, json};

use crate::demo::{self, Report, Vocabulary};

#[derive(Debug, clap::Args)]
pub struct RulesArgs {
    /// Routing rules, all enabled.
    #[arg(long, default_value_t = 100)]
    rules: usize,
    /// Distinct reports.
    #[arg(long, default_value_t = 10_000)]
    drafts: usize,
    /// Times every report is scored and routed.
    #[arg(long, default_value_t = 10)]
    passes: usize,
}

const COUNTRIES: &[&str] = &[
    "JP", "KR", "TW", "HK", "TH", "IN", "ID", "VN", "PH", "MY", "SG", "AU", "DE", "GB", "US",
];
const PARTNER_KINDS: &[&str] = &[
    "government",
    "regulator",
    "law_enforcement",
    "court",
    "ngo",
    "trusted_flagger",
    "advertiser",
    "public_figure_team",
    "internal_team",
];
const PRIORITIES: &[&str] = &["P0", "P1", "P2", "P3", "P4"];
const RISK_FLAGS: &[&str] = &[
    "sensitive_media",
    "vip_public_figure",
    "press_risk",
    "election_crisis",
    "legal_privilege",
];
const SUBJECT_KINDS: &[&str] = &[
    "account", "post", "ad", "page", "listing", "comment", "group",
];
/// Words a trust & safety team keys rules on, in the partners' languages;
/// some occur in the demo reports, most do not.
const KEYWORDS: &[&str] = &[
    "乗っ取り",
    "なりすまし",
    "詐欺",
    "児童",
    "選挙",
    "계정",
    "사칭",
    "도박",
    "명예훼손",
    "帳號",
    "詐騙",
    "選舉",
    "แฮ็ก",
    "หลอกลวง",
    "ศาล",
    "हैक",
    "धोखाधड़ी",
    "akun",
    "penipuan",
    "lừa đảo",
    "giả mạo",
    "betrug",
    "deepfake",
    "hacked",
    "impersonat",
    "celebrity",
    "court order",
    "ransom",
    "gambling",
    "election",
];

fn pick(rng: &mut StdRng, values: &[&str], most: usize) -> Vec<String> {
    let count = rand::Rng::random_range(rng, 1..=most.min(values.len()));
    values
        .choose_multiple(rng, count)
        .map(|v| v.to_string())
        .collect()
}

fn is_in(field: &str, values: Vec<String>) -> Value {
    json!({"in": {"field": field, "values": values}})
}

fn has(field: &str, values: Vec<String>) -> Value {
    json!({"has": {"field": field, "values": values}})
}

fn text(words: Vec<String>) -> Value {
    json!({"text": {"any": words}})
}

/// Rule `n` of a realistic set: market routing, severity by type and
/// partner, risk handling, keywords, ads and listings, and composites; a
/// few narrow ones stop the rules after them.
fn rule(
    rng: &mut StdRng,
    n: usize,
    types: &[&str],
    languages: &[&str],
) -> anyhow::Result<RoutingRule> {
    let queue = || format!("queue-{}", n % 12);
    let (when, mut then) = match n % 6 {
        0 => (
            json!({"all": [is_in("country", pick(rng, COUNTRIES, 3)), is_in("language", pick(rng, languages, 2))]}),
            vec![json!({"set_queue": queue()})],
        ),
        1 => (
            json!({"all": [is_in("type", pick(rng, types, 4)), is_in("partner_kind", pick(rng, PARTNER_KINDS, 3))]}),
            vec![
                json!({"set_priority": PRIORITIES[n % 3]}),
                json!({"add_tags": ["urgent-review"]}),
            ],
        ),
        2 => (
            json!({"any": [has("risk_flags", pick(rng, RISK_FLAGS, 2)), has("tags", pick(rng, demo::TAGS, 2))]}),
            vec![
                json!({"add_risk_flags": pick(rng, RISK_FLAGS, 1)}),
                json!({"add_tags": [format!("risk-{n}")]}),
            ],
        ),
        3 => (
            json!({"all": [text(pick(rng, KEYWORDS, 4)), {"not": is_in("partner_tier", vec!["3".into()])}]}),
            vec![
                json!({"add_tags": [format!("keyword-{n}")]}),
                json!({"set_queue": queue()}),
            ],
        ),
        4 => (
            json!({"all": [
                has("surfaces", vec!["ads".into(), "marketplace".into()]),
                has("subject_kinds", pick(rng, SUBJECT_KINDS, 3)),
                is_in("priority", pick(rng, PRIORITIES, 3))
            ]}),
            vec![
                json!({"set_queue": "ads-integrity"}),
                json!({"add_tags": ["commerce"]}),
            ],
        ),
        _ => (
            json!({"any": [
                {"all": [is_in("country", pick(rng, COUNTRIES, 4)), {"not": is_in("type", pick(rng, types, 3))}]},
                {"all": [has("tags", pick(rng, demo::TAGS, 2)), text(pick(rng, KEYWORDS, 3))]},
                is_in("partner_tier", vec!["1".into()])
            ]}),
            vec![json!("set_priority_from_score")],
        ),
    };
    if n % 17 == 16 {
        then.push(json!("stop"));
    }
    let rule: RoutingRule = serde_json::from_value(json!({
        "code": format!("rule-{n:03}"),
        "name": format!("Benchmark rule {n}"),
        "position": n * 10,
        "when": when,
        "then": then,
    }))?;
    rule.validate(&[])
        .map_err(|e| anyhow::anyhow!("rule {n}: {e}"))?;
    Ok(rule)
}

/// The shortest regulatory deadline of a report, as intake hands it to the
/// score; worked out before timing, since it is clock work, not rules.
fn regulatory_target(report: &Report) -> anyhow::Result<Option<(String, Target)>> {
    let draft = &report.draft;
    let facts = EscalationFacts {
        partner: &draft.partner,
        partner_kind: report.partner.kind,
        partner_tier: report.partner.tier,
        escalation_type: &draft.escalation_type,
        priority: draft.priority,
        country: draft.country.as_str(),
    };
    let clocks = sla::start_clocks(
        &facts,
        draft.received_at,
        ClockSettings {
            policies: &[],
            calendars: &BTreeMap::new(),
            regulations: RegulatoryRule::catalogue(),
            regulation_settings: &BTreeMap::new(),
            forced_policy: None,
        },
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(sla::earliest_regulation(&clocks))
}

pub fn run(args: &RulesArgs) -> anyhow::Result<()> {
    // A fixed instant: the reports' times do not matter to the rules.
    let now: Timestamp = "2026-11-25T00:00:00Z".parse()?;
    let mut rng = StdRng::seed_from_u64(42);
    let vocabulary = Vocabulary::defaults();
    let types: Vec<&str> = vocabulary.types().iter().map(String::as_str).collect();
    let languages = demo::languages();
    let rules = (0..args.rules)
        .map(|n| rule(&mut rng, n, &types, &languages))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let reports = (0..args.drafts)
        .map(|_| {
            let report = demo::report(&mut rng, now, &vocabulary)?;
            let legal = regulatory_target(&report)?;
            Ok((report, legal))
        })
        .collect::<anyhow::Result<Vec<_>>>()
        .context("building the reports")?;

    let mut fired = 0;
    let started = Instant::now();
    for _ in 0..args.passes {
        for (report, legal) in &reports {
            // Routing changes the draft, so every evaluation starts from a copy.
            let mut draft = report.draft.clone();
            let legal = legal.as_ref().map(|(id, target)| (id.as_str(), *target));
            draft.score = Some(routing::score(&draft, report.partner, legal));
            routing::route(&rules, &mut draft, report.partner);
            fired += draft.rules_fired.len();
            std::hint::black_box(&draft);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    // The copy alone, to tell how much of the time is not rule evaluation.
    let copying = Instant::now();
    for _ in 0..args.passes {
        for (report, _) in &reports {
            std::hint::black_box(report.draft.clone());
        }
    }
    let copy_elapsed = copying.elapsed().as_secs_f64();

    let evaluations = (args.passes * reports.len()) as f64;
    println!("Machine: {} (one core used)", super::machine());
    println!(
        "{} rules, {} reports × {} passes; {:.1} rules fired per report\n",
        rules.len(),
        reports.len(),
        args.passes,
        fired as f64 / evaluations
    );
    println!("| measurement | result | target |");
    println!("| --- | --- | --- |");
    println!(
        "| score + route, escalations/s | {:.0}/s | ≥ 50,000/s |",
        evaluations / elapsed
    );
    println!(
        "| mean time per escalation (of which copying the draft) | {:.1} µs ({:.1} µs) | |",
        elapsed / evaluations * 1e6,
        copy_elapsed / evaluations * 1e6
    );
    Ok(())
}
