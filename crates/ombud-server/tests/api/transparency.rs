//! Transparency through the API and the console: the statement-of-reasons
//! profile, statements exported for a period (each valid, batched by 100,
//! faults listed and not exported, exemptions counted) and the aggregated
//! report checked against hand-computed figures, downloaded as CSV and XLSX.

use ombud_domain::Role;
use ombud_domain::sor::Statement;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::analytics::{csv_rows, xlsx_rows};
use crate::console::{Browser, add_user};
use crate::helpers::{TestApp, assert_problem, on_both_backends};

on_both_backends!(
    statements_and_the_report_count_the_decisions_of_a_period,
    the_console_shows_the_period_and_downloads_it
);

/// The sample profile of `ombud_domain::sor`'s tests, less the rule for
/// `restricted`, so that a decision restricting that way is a fault.
fn profile() -> Value {
    json!({
        "puid_prefix": "ombud-",
        "exempt_types": ["court_order"],
        "unrestricting_outcomes": ["reinstated", "upheld", "no_violation",
            "information_disclosed", "referred", "out_of_scope"],
        "restrictions": [
            {"when": {"outcomes": ["removed"], "subject_kinds": ["account", "ad_account"]},
             "then": {"decision_account": "DECISION_ACCOUNT_TERMINATED"}},
            {"when": {"outcomes": ["removed"]},
             "then": {"decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"]}}
        ],
        "bases": [
            {"when": {"escalation_types": ["ip_notice"]},
             "then": {
                "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
                "illegal_content_legal_ground": "Directive (EU) 2019/790",
                "illegal_content_explanation": "A rightsholder showed the item infringes its rights.",
                "category": "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
                "category_specification": ["KEYWORD_COPYRIGHT_INFRINGEMENT"],
                "decision_facts": "Reported in a notice and confirmed by staff review."}},
            {"then": {
                "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
                "incompatible_content_ground": "Terms of service",
                "incompatible_content_explanation": "The item breaks the terms of service.",
                "category": "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
                "decision_facts": "Reviewed by staff after a report."}}
        ],
        "items": [
            {"when": {"subject_kinds": ["account"]},
             "then": {"content_type": ["CONTENT_TYPE_OTHER"], "content_type_other": "Account"}},
            {"then": {"content_type": ["CONTENT_TYPE_VIDEO"]}}
        ],
        "sources": [
            {"when": {"partner_kinds": ["trusted_flagger"]},
             "then": {"source_type": "SOURCE_TRUSTED_FLAGGER", "automated_detection": "No"}},
            {"when": {"partner_kinds": ["law_enforcement"]},
             "then": {"source_type": "SOURCE_TYPE_OTHER_NOTIFICATION", "automated_detection": "No"}},
            {"then": {"source_type": "SOURCE_ARTICLE_16", "automated_detection": "No"}}
        ],
        "content_date_from_report": true
    })
}

async fn add_partner(app: &TestApp, slug: &str, kind: &str) {
    let created = app
        .post(
            "/api/v1/partners",
            &app.admin,
            &json!({"slug": slug, "name": slug, "kind": kind, "tier": 2, "country": "DE", "language": "de"}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
}

/// Files an escalation for `partner` received at `received`, with
/// `subjects` video posts (or one account for `account_access`).
async fn file(app: &TestApp, partner: &str, kind: &str, received: &str, subjects: usize) -> String {
    let (country, subjects): (&str, Vec<Value>) = match kind {
        "account_access" => (
            "JP",
            vec![json!({"kind": "account", "surface": "social", "url": "https://social.example/taro"})],
        ),
        _ => (
            "DE",
            (0..subjects)
                .map(|i| json!({"kind": "post", "surface": "video", "external_id": format!("{}", 1000 + i)}))
                .collect(),
        ),
    };
    let body = json!({
        "type": kind, "partner": partner, "title": format!("{kind} from {partner}"),
        "description": "Reported", "country": country, "language": "de",
        "received_at": received, "subjects": subjects
    });
    app.file(&app.admin, body).await["key"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn decide(app: &TestApp, key: &str, at: &str, outcome: &str) {
    app.clock.set(at.parse().unwrap());
    let decided = app
        .post(
            &format!("/api/v1/escalations/{key}/decision"),
            &app.agent,
            &json!({"outcome": outcome}),
        )
        .await;
    assert_eq!(decided.status(), StatusCode::OK, "{key}");
}

async fn json_of(app: &TestApp, path: &str) -> Value {
    let response = app.get(path, &app.admin).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

/// (key, decisions, median seconds) of a report table.
fn counts(rows: &Value) -> Vec<(String, u64, f64)> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_string(),
                r["decisions"].as_u64().unwrap(),
                r["median_seconds_to_action"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn row(key: &str, decisions: u64, median: f64) -> (String, u64, f64) {
    (key.to_string(), decisions, median)
}

/// Four decisions on 25 November, hand-timed (receipt → decision):
/// A trusted flagger, removed, 1 h; B NGO, no violation, 3 h; C police,
/// removed (an account), 2 h; D NGO, restricted (no profile rule), 3.5 h.
/// E, 100 videos removed on 27 November, is outside the period.
async fn decided_fixture(app: &TestApp) -> [String; 5] {
    add_partner(app, "de-flagger", "trusted_flagger").await;
    add_partner(app, "de-ngo", "ngo").await;
    let a = file(app, "de-flagger", "ip_notice", "2026-11-25T08:00:00Z", 1).await;
    let b = file(app, "de-ngo", "ip_notice", "2026-11-25T07:00:00Z", 1).await;
    let c = file(
        app,
        "jp-police",
        "account_access",
        "2026-11-25T09:00:00Z",
        1,
    )
    .await;
    let d = file(app, "de-ngo", "ip_notice", "2026-11-25T08:30:00Z", 1).await;
    decide(app, &a, "2026-11-25T09:00:00Z", "removed").await;
    decide(app, &b, "2026-11-25T10:00:00Z", "no_violation").await;
    decide(app, &c, "2026-11-25T11:00:00Z", "removed").await;
    decide(app, &d, "2026-11-25T12:00:00Z", "restricted").await;
    let e = file(app, "de-ngo", "ip_notice", "2026-11-25T12:00:00Z", 100).await;
    decide(app, &e, "2026-11-27T09:00:00Z", "removed").await;
    [a, b, c, d, e]
}

async fn statements_and_the_report_count_the_decisions_of_a_period(app: TestApp) {
    let [a, _b, c, d, _e] = decided_fixture(&app).await;
    let report_path = "/api/v1/transparency/report?from=2026-11-25&to=2026-11-26";
    let statements_path =
        "/api/v1/transparency/statements?decided_from=2026-11-25&decided_to=2026-11-26";

    // Only admins and managers; partners and agents are refused.
    for token in [&app.agent, &app.police] {
        for path in [report_path, statements_path, "/api/v1/transparency/profile"] {
            assert_problem(
                app.get(path, token).await,
                StatusCode::FORBIDDEN,
                "forbidden",
            )
            .await;
        }
    }
    assert_problem(
        app.put("/api/v1/transparency/profile", &app.agent, &profile())
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    // Without a profile there are no statements, and the report counts
    // categories by escalation type.
    assert_problem(
        app.get(statements_path, &app.admin).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    let unmapped = json_of(&app, report_path).await;
    assert_eq!(
        counts(&unmapped["by_category"]),
        [
            row("ip_notice", 3, 10800.0),
            row("account_access", 1, 7200.0)
        ]
    );
    assert_problem(
        app.get("/api/v1/transparency/profile", &app.admin).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // The profile is checked in full and versioned.
    let mut faulty = profile();
    faulty["bases"][0]["then"]["category_specification"] = json!(["KEYWORD_PHISHING"]);
    let refused = assert_problem(
        app.put("/api/v1/transparency/profile", &app.admin, &faulty)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        refused["errors"][0]["field"],
        "bases[0].then.category_specification[0]"
    );
    let created = app
        .put("/api/v1/transparency/profile", &app.admin, &profile())
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.headers()["etag"], "\"1\"");
    let stale = app
        .request(
            reqwest::Method::PUT,
            "/api/v1/transparency/profile",
            &app.admin,
        )
        .header("if-match", "\"7\"")
        .json(&profile())
        .send()
        .await
        .unwrap();
    assert_problem(stale, StatusCode::PRECONDITION_FAILED, "version_mismatch").await;
    let read = json_of(&app, "/api/v1/transparency/profile").await;
    assert_eq!(read["puid_prefix"], "ombud-");

    // Statements: A and C, valid, in one batch; D a fault; B owes none.
    let export = json_of(&app, statements_path).await;
    assert_eq!(export["decisions"], 4);
    assert_eq!(export["statements"], 2);
    let batches = export["batches"].as_array().unwrap();
    assert_eq!(batches.len(), 1);
    let statements: Vec<Statement> =
        serde_json::from_value(batches[0]["statements"].clone()).unwrap();
    assert_eq!(statements.len(), 2);
    for statement in &statements {
        assert_eq!(statement.validate(), Ok(()), "{statement:?}");
    }
    assert!(statements[0].puid.starts_with(&format!("ombud-{a}-1-")));
    assert!(statements[1].puid.starts_with(&format!("ombud-{c}-1-")));
    assert_eq!(
        batches[0]["statements"][0]["source_type"],
        "SOURCE_TRUSTED_FLAGGER"
    );
    assert_eq!(
        export["faults"],
        json!([{"escalation": d, "errors": [{
            "field": "decision.outcome",
            "message": export["faults"][0]["errors"][0]["message"]
        }]}])
    );
    assert_eq!(
        export["not_applicable"],
        json!([{"reason": "the decision restricts nothing", "decisions": 1}])
    );

    // A period without decisions has no batch; E's 100 statements fill one
    // batch, and with A's and C's they make two (100 and 2).
    let empty = json_of(
        &app,
        "/api/v1/transparency/statements?decided_from=2026-12-01&decided_to=2026-12-31",
    )
    .await;
    assert_eq!(empty["batches"], json!([]));
    assert_eq!(empty["decisions"], 0);
    let sizes = |export: &Value| -> Vec<usize> {
        export["batches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["statements"].as_array().unwrap().len())
            .collect()
    };
    let only_e = json_of(
        &app,
        "/api/v1/transparency/statements?decided_from=2026-11-27&decided_to=2026-11-27",
    )
    .await;
    assert_eq!(sizes(&only_e), [100]);
    let wide = "/api/v1/transparency/statements?decided_from=2026-11-25T00:00:00Z&decided_to=2026-11-28T00:00:00Z";
    assert_eq!(sizes(&json_of(&app, wide).await), [100, 2]);
    let lines = app.get(&format!("{wide}&format=jsonl"), &app.admin).await;
    assert_eq!(lines.headers()["content-type"], "application/x-ndjson");
    let lines: Vec<Value> = lines
        .text()
        .await
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["statements"].as_array().unwrap().len(), 2);
    assert_eq!(lines[1].as_object().unwrap().len(), 1, "a batch body only");

    for bad in [
        "/api/v1/transparency/statements?decided_from=2026-11-26&decided_to=2026-11-25",
        "/api/v1/transparency/statements?decided_from=last+week&decided_to=2026-11-25",
        "/api/v1/transparency/statements?decided_from=2026-11-25",
        "/api/v1/transparency/statements?decided_from=2026-11-25&decided_to=2026-11-26&format=xml",
        "/api/v1/transparency/report?from=2026-11-25&to=2026-11-26&colour=blue",
    ] {
        assert_problem(
            app.get(bad, &app.admin).await,
            StatusCode::BAD_REQUEST,
            "bad_query",
        )
        .await;
    }

    // The report, against hand-computed figures: times to action are
    // 3600, 10800, 7200 and 12600 s.
    let report = json_of(&app, report_path).await;
    assert_eq!(report["decisions"], 4);
    assert_eq!(report["median_seconds_to_action"], 9000.0);
    assert_eq!(
        counts(&report["by_outcome"]),
        [
            row("removed", 2, 5400.0),
            row("no_violation", 1, 10800.0),
            row("restricted", 1, 12600.0)
        ]
    );
    assert_eq!(
        counts(&report["by_category"]),
        [
            row(
                "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
                3,
                10800.0
            ),
            row("STATEMENT_CATEGORY_OTHER_VIOLATION_TC", 1, 7200.0)
        ]
    );
    assert_eq!(
        counts(&report["by_source"]),
        [
            row("ngo", 2, 11700.0),
            row("law_enforcement", 1, 7200.0),
            row("trusted_flagger", 1, 3600.0)
        ]
    );
    assert_eq!(
        counts(&report["by_trusted_flagger"]),
        [row("no", 3, 10800.0), row("yes", 1, 3600.0)]
    );
    assert_eq!(
        counts(&report["by_automation"]),
        [row("AUTOMATED_DECISION_NOT_AUTOMATED", 4, 9000.0)]
    );
    // Of the EU rules, only Art. 17 (statement of reasons) runs a clock on
    // the German notices; the Japanese case runs none.
    assert_eq!(
        counts(&report["by_regime"]),
        [row("eu-dsa-17-sor", 3, 10800.0), row("none", 1, 7200.0)]
    );

    // The downloads hold the JSON's numbers.
    let expected: Vec<Vec<Value>> = std::iter::once(vec![
        json!("all"),
        json!("all"),
        json!("All decisions"),
        json!(4),
        json!(9000),
    ])
    .chain(
        [
            ("regime", "by_regime"),
            ("category", "by_category"),
            ("outcome", "by_outcome"),
            ("source", "by_source"),
            ("trusted_flagger", "by_trusted_flagger"),
            ("automation", "by_automation"),
        ]
        .into_iter()
        .flat_map(|(dimension, table)| {
            report[table]
                .as_array()
                .unwrap()
                .iter()
                .map(move |r| {
                    vec![
                        json!(dimension),
                        r["key"].clone(),
                        r["label"].clone(),
                        r["decisions"].clone(),
                        json!(r["median_seconds_to_action"].as_f64().unwrap() as i64),
                    ]
                })
                .collect::<Vec<_>>()
        }),
    )
    .collect();
    let xlsx = app
        .get(&format!("{report_path}&format=xlsx"), &app.admin)
        .await;
    assert_eq!(xlsx.status(), StatusCode::OK);
    let sheet = xlsx_rows(&xlsx.bytes().await.unwrap());
    assert_eq!(
        sheet[0],
        [
            "dimension",
            "key",
            "label",
            "decisions",
            "median_seconds_to_action"
        ]
        .map(|c| json!(c))
    );
    assert_eq!(sheet[1..], expected[..]);
    let csv = app
        .get(&format!("{report_path}&format=csv"), &app.admin)
        .await
        .text()
        .await
        .unwrap();
    let records = csv_rows(&csv);
    assert_eq!(records.len(), expected.len() + 1);
    assert_eq!(records[1], ["all", "all", "All decisions", "4", "9000.0"]);
}

async fn the_console_shows_the_period_and_downloads_it(app: TestApp) {
    let [_a, _b, _c, d, _e] = decided_fixture(&app).await;
    add_user(&app, "lead@example.com", Role::Manager, None).await;
    add_user(&app, "agent@example.com", Role::Agent, None).await;
    let mut agent = Browser::new(&app);
    agent.sign_in("agent@example.com", "/console").await;
    assert_eq!(
        agent.get("/console/transparency").await.status(),
        StatusCode::FORBIDDEN
    );
    let mut lead = Browser::new(&app);
    lead.sign_in("lead@example.com", "/console").await;
    let period = "from=2026-11-25&to=2026-11-26";

    let page = lead.get(&format!("/console/transparency?{period}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"href="/console/transparency">Transparency</a>"#));
    assert!(
        html.contains("/console/admin/settings/sor-profile"),
        "no profile yet"
    );
    assert!(html.contains("9000 s (2h 30m)"), "the median");

    // The profile through the admin pages' JSON editor.
    let form = lead.get("/console/admin/settings/sor-profile").await;
    assert_eq!(form.status(), StatusCode::OK);
    let csrf = crate::console::hidden(&form.text().await.unwrap(), "csrf");
    let saved = lead
        .post(
            "/console/admin/settings/sor-profile",
            &[("csrf", &csrf), ("text", &profile().to_string())],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        crate::console::location(&saved),
        "/console/admin/settings/sor-profile/default?notice=Created."
    );

    let html = lead
        .get(&format!("/console/transparency?{period}"))
        .await
        .text()
        .await
        .unwrap();
    for (id, count) in [
        ("decided", 4),
        ("ready", 2),
        ("batches", 1),
        ("faults", 1),
        ("not-applicable", 1),
    ] {
        assert!(
            html.contains(&format!(r#"<dd id="{id}">{count}</dd>"#)),
            "{id}: {html}"
        );
    }
    assert!(html.contains(&format!(r#"<a href="/console/escalations/{d}">{d}</a>"#)));
    assert!(html.contains("the decision restricts nothing"));
    assert!(html.contains("STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS"));

    let bad = lead
        .get("/console/transparency?from=2026-11-26&to=2026-11-01")
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.text().await.unwrap().contains("must come after from"));

    let jsonl = lead
        .get("/console/transparency/statements.jsonl?decided_from=2026-11-25&decided_to=2026-11-26")
        .await;
    assert_eq!(jsonl.status(), StatusCode::OK);
    let body = jsonl.text().await.unwrap();
    let batch: Value = serde_json::from_str(body.lines().next().unwrap()).unwrap();
    assert_eq!(batch["statements"].as_array().unwrap().len(), 2);
    let csv = lead
        .get(&format!("/console/transparency/report.csv?{period}"))
        .await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert_eq!(
        csv_rows(&csv.text().await.unwrap())[1],
        ["all", "all", "All decisions", "4", "9000.0"]
    );
    let xlsx = lead
        .get(&format!("/console/transparency/report.xlsx?{period}"))
        .await;
    assert_eq!(
        xlsx_rows(&xlsx.bytes().await.unwrap())[1],
        [
            json!("all"),
            json!("all"),
            json!("All decisions"),
            json!(4),
            json!(9000)
        ]
    );
}
