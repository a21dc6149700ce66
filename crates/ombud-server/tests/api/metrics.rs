//! Metrics through the API: four escalations walked through their lives on
//! the injected clock, and every metric checked against figures computed by
//! hand below; filters, slicing, downloads and refusals.

use reqwest::StatusCode;
use serde_json::{Value, json};

use ombud_domain::Role;

use crate::analytics::{csv_rows, xlsx_rows};
use crate::console::{Browser, add_user};
use crate::helpers::{TestApp, assert_problem, on_both_backends};

on_both_backends!(
    metrics_match_hand_computed_figures,
    metrics_filter_slice_download_and_refuse,
    the_console_charts_tabulates_and_downloads_the_metrics
);

const HOUR: i64 = 3_600;

async fn at(app: &TestApp, instant: &str) {
    app.clock.set(instant.parse().unwrap());
}

/// Files an escalation received now.
async fn file(
    app: &TestApp,
    partner: &str,
    country: &str,
    surface: &str,
    received: &str,
) -> String {
    at(app, received).await;
    let body = json!({
        "type": "account_access", "partner": partner, "title": format!("from {partner}"),
        "description": "Reported", "country": country, "language": "en",
        "received_at": received,
        "subjects": [{"kind": "account", "surface": surface, "url": format!("https://{surface}.example/{received}")}]
    });
    app.file(&app.admin, body).await["key"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn post_ok(app: &TestApp, path: &str, body: Value) {
    let response = app.post(path, &app.agent, &body).await;
    let status = response.status();
    assert!(
        status.is_success(),
        "{path}: {status} {}",
        response.text().await.unwrap()
    );
}

async fn transition(app: &TestApp, key: &str, to: &str) {
    post_ok(
        app,
        &format!("/api/v1/escalations/{key}/transitions"),
        json!({"to": to, "reason": "testing"}),
    )
    .await;
}

async fn decide(app: &TestApp, key: &str, outcome: &str) {
    post_ok(
        app,
        &format!("/api/v1/escalations/{key}/decision"),
        json!({"outcome": outcome, "policy": "hate_speech", "root_cause": "policy_gap"}),
    )
    .await;
}

/// The story the figures below are computed from (times UTC):
/// - A, jp-police (law enforcement), JP, social: received 06-01 00:00,
///   triaged 01:00, removed 10:00.
/// - B, jp-police, JP, social: received 06-01 12:00, triaged 15:00,
///   reinstated 06-02 18:00 (30 h), reopened 06-03 04:00.
/// - C, th-ministry (government), TH, video: received 06-02 00:00, a legal
///   consult asked 02:00 and answered 05:00; still new.
/// - D, th-ministry, TH, video: received 05-20, before the period; still new.
///
/// The period is 06-01 to 06-02 (whole days); now is 06-10 00:00.
async fn story(app: &TestApp) {
    file(app, "th-ministry", "TH", "video", "2026-05-20T00:00:00Z").await;
    let a = file(app, "jp-police", "JP", "social", "2026-06-01T00:00:00Z").await;
    at(app, "2026-06-01T01:00:00Z").await;
    transition(app, &a, "triaged").await;
    at(app, "2026-06-01T10:00:00Z").await;
    decide(app, &a, "removed").await;
    let b = file(app, "jp-police", "JP", "social", "2026-06-01T12:00:00Z").await;
    at(app, "2026-06-01T15:00:00Z").await;
    transition(app, &b, "triaged").await;
    let c = file(app, "th-ministry", "TH", "video", "2026-06-02T00:00:00Z").await;
    at(app, "2026-06-02T02:00:00Z").await;
    post_ok(
        app,
        &format!("/api/v1/escalations/{c}/consults"),
        json!({"function": "legal", "question": "May we act?"}),
    )
    .await;
    at(app, "2026-06-02T05:00:00Z").await;
    post_ok(
        app,
        &format!("/api/v1/escalations/{c}/consults/1/answer"),
        json!({"verdict": "approve", "note": "Yes"}),
    )
    .await;
    at(app, "2026-06-02T18:00:00Z").await;
    decide(app, &b, "reinstated").await;
    at(app, "2026-06-03T04:00:00Z").await;
    transition(app, &b, "investigating").await;
    at(app, "2026-06-10T00:00:00Z").await;
}

const PERIOD: &str = "from=2026-06-01&to=2026-06-02";

async fn metrics(app: &TestApp, query: &str) -> Value {
    let response = app
        .get(&format!("/api/v1/metrics?{query}"), &app.admin)
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{query}");
    response.json().await.unwrap()
}

/// The rows of `metric` in a dashboard.
fn rows(dashboard: &Value, metric: &str) -> Value {
    dashboard["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["metric"] == metric)
        .unwrap_or_else(|| panic!("no {metric} in {dashboard}"))["rows"]
        .clone()
}

async fn metrics_match_hand_computed_figures(app: TestApp) {
    story(&app).await;
    let by_partner = metrics(&app, &format!("{PERIOD}&by=partner")).await;
    assert_eq!(by_partner["from"], "2026-06-01T00:00:00Z");
    assert_eq!(by_partner["to"], "2026-06-03T00:00:00Z");
    assert_eq!(by_partner["by"], "partner");
    assert_eq!(
        rows(&by_partner, "intake"),
        json!([["jp-police", 2], ["th-ministry", 1]])
    );
    assert_eq!(
        rows(&by_partner, "intake_by_day"),
        json!([["2026-06-01", 2], ["2026-06-02", 1]])
    );
    // Open now: B (8.5 days old), C (8 days), D (21 days), all 7–30 days.
    assert_eq!(
        rows(&by_partner, "backlog"),
        json!([
            ["th-ministry", 2, 0, 0, 2, 0, 8 * 24 * HOUR],
            ["jp-police", 1, 0, 0, 1, 0, 8 * 24 * HOUR + 12 * HOUR]
        ])
    );
    // Nearest rank: p50 of two is the first, p90 the second.
    assert_eq!(
        rows(&by_partner, "response_times"),
        json!([
            [
                "jp-police",
                2,
                HOUR,
                3 * HOUR,
                null,
                null,
                10 * HOUR,
                30 * HOUR
            ],
            ["th-ministry", 1, null, null, null, null, null, null]
        ])
    );
    assert_eq!(
        rows(&by_partner, "reopens"),
        json!([["jp-police", 2, 1, 0.5], ["th-ministry", 0, 0, null]])
    );
    assert_eq!(
        rows(&by_partner, "outcomes"),
        json!([
            ["jp-police", "reinstated", 1, 0.5],
            ["jp-police", "removed", 1, 0.5]
        ])
    );
    assert_eq!(
        rows(&by_partner, "overturns"),
        json!([["hate_speech", "social", 2, 1, 0.5]])
    );
    assert_eq!(
        rows(&by_partner, "root_causes"),
        json!([["policy_gap", 2, 1.0, 1.0]])
    );
    assert_eq!(
        rows(&by_partner, "consults"),
        json!([["legal", 1, 1, 0, 3 * HOUR, 3 * HOUR]])
    );
    assert_eq!(
        rows(&by_partner, "partners"),
        json!([
            [
                "jp-police",
                "law_enforcement",
                2,
                2,
                1,
                0.5,
                10 * HOUR,
                1,
                0.5
            ],
            ["th-ministry", "government", 1, 0, 0, null, null, 0, null]
        ])
    );
    // Attainment counts only escalations whose deadlines were met or
    // missed: as many as the clocks judged, never more than arrived.
    for row in rows(&by_partner, "attainment").as_array().unwrap() {
        let judged = row[1].as_u64().unwrap() + row[2].as_u64().unwrap();
        let intake = if row[0] == "jp-police" { 2 } else { 1 };
        assert!(judged <= intake, "{row}");
    }

    // Sliced by partner kind and by surface, the same escalations regroup.
    let by_kind = metrics(&app, &format!("{PERIOD}&by=partner_kind")).await;
    assert_eq!(
        rows(&by_kind, "intake"),
        json!([["law_enforcement", 2], ["government", 1]])
    );
    let by_surface = metrics(&app, &format!("{PERIOD}&by=surface")).await;
    assert_eq!(
        rows(&by_surface, "intake"),
        json!([["social", 2], ["video", 1]])
    );
}

async fn metrics_filter_slice_download_and_refuse(app: TestApp) {
    story(&app).await;
    // Filters: by country, by partner kind (looked up now), several values.
    let thai = metrics(&app, &format!("{PERIOD}&country=TH")).await;
    assert_eq!(thai["filters"], json!({"country": ["TH"]}));
    assert_eq!(rows(&thai, "intake"), json!([["account_access", 1]]));
    assert_eq!(rows(&thai, "backlog")[0][1], 2);
    assert_eq!(rows(&thai, "consults")[0][1], 1);
    let police = metrics(&app, &format!("{PERIOD}&partner_kind=law_enforcement")).await;
    assert_eq!(rows(&police, "intake"), json!([["account_access", 2]]));
    assert_eq!(rows(&police, "consults"), json!([]));
    let both = metrics(&app, &format!("{PERIOD}&country=TH,JP&surface=social")).await;
    assert_eq!(rows(&both, "intake"), json!([["account_access", 2]]));
    let nobody = metrics(&app, &format!("{PERIOD}&partner_kind=(none)")).await;
    assert_eq!(rows(&nobody, "intake"), json!([]));

    // Without a period: the thirty days before now (06-10), so all four.
    let recent = metrics(&app, "").await;
    assert_eq!(recent["from"], "2026-05-11T00:00:00Z");
    assert_eq!(rows(&recent, "intake"), json!([["account_access", 4]]));

    // One metric, as JSON, CSV and XLSX: the same numbers.
    let one = app
        .get(&format!("/api/v1/metrics/partners?{PERIOD}"), &app.admin)
        .await;
    assert_eq!(one.status(), StatusCode::OK);
    let one: Value = one.json().await.unwrap();
    let table = &one["metrics"][0];
    assert_eq!(table["metric"], "partners");
    let csv = app
        .get(
            &format!("/api/v1/metrics/partners?{PERIOD}&format=csv"),
            &app.admin,
        )
        .await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(
        csv.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("metric-partners.csv")
    );
    let csv = csv_rows(&csv.text().await.unwrap());
    let header: Vec<String> = table["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(csv[0], header);
    let as_text = |cell: &Value| match cell {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    for (csv_row, json_row) in csv[1..].iter().zip(table["rows"].as_array().unwrap()) {
        let expected: Vec<String> = json_row.as_array().unwrap().iter().map(as_text).collect();
        assert_eq!(csv_row, &expected);
    }
    assert_eq!(csv.len(), 3);
    let xlsx = app
        .get(
            &format!("/api/v1/metrics/partners?{PERIOD}&format=xlsx"),
            &app.admin,
        )
        .await;
    assert_eq!(xlsx.status(), StatusCode::OK);
    let sheet = xlsx_rows(&xlsx.bytes().await.unwrap());
    assert_eq!(sheet[0], table["columns"].as_array().unwrap().clone());
    let sheet_rows: Vec<Value> = sheet[1..].iter().map(|row| json!(row)).collect();
    assert_eq!(&sheet_rows, table["rows"].as_array().unwrap());

    // Refusals change nothing and say why.
    for (query, field) in [
        ("by=colour", "by"),
        ("from=2026-06-05&to=2026-06-01", "to"),
        ("from=yesterday", "from"),
        ("from=1970-01-01&to=2026-06-01", "to"),
        ("format=pdf", "format"),
    ] {
        let refused = app
            .get(&format!("/api/v1/metrics/intake?{query}"), &app.admin)
            .await;
        let problem = assert_problem(refused, StatusCode::BAD_REQUEST, "bad_query").await;
        assert_eq!(problem["errors"][0]["field"], field, "{query}");
    }
    let csv_dashboard = app.get("/api/v1/metrics?format=csv", &app.admin).await;
    assert_problem(csv_dashboard, StatusCode::BAD_REQUEST, "bad_query").await;
    let unknown = app.get("/api/v1/metrics/happiness", &app.admin).await;
    assert_problem(unknown, StatusCode::NOT_FOUND, "not_found").await;
    let agent = app.get("/api/v1/metrics", &app.agent).await;
    assert_problem(agent, StatusCode::FORBIDDEN, "forbidden").await;
    let partner = app.get("/api/v1/metrics", &app.police).await;
    assert_problem(partner, StatusCode::FORBIDDEN, "forbidden").await;
}

async fn the_console_charts_tabulates_and_downloads_the_metrics(app: TestApp) {
    story(&app).await;
    add_user(&app, "lead@example.com", Role::Manager, None).await;
    add_user(&app, "agent@example.com", Role::Agent, None).await;
    let mut agent = Browser::new(&app);
    agent.sign_in("agent@example.com", "/console").await;
    assert_eq!(
        agent.get("/console/metrics").await.status(),
        StatusCode::FORBIDDEN
    );
    let mut lead = Browser::new(&app);
    lead.sign_in("lead@example.com", "/console").await;
    let query = format!(
        "{PERIOD}&by=partner&type=&surface=&country=&language=&partner=&partner_kind=&queue=&team="
    );
    let page = lead.get(&format!("/console/metrics?{query}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"href="/console/metrics">Metrics</a>"#));
    assert!(html.contains(r#"<option value="partner" selected>partner</option>"#));
    // Every metric has a section and its downloads; charts are SVG drawn
    // here, each bar titled with its number.
    for metric in [
        "intake",
        "intake_by_day",
        "backlog",
        "response_times",
        "attainment",
        "reopens",
        "outcomes",
        "overturns",
        "root_causes",
        "consults",
        "partners",
    ] {
        assert!(
            html.contains(&format!(r#"<section id="{metric}""#)),
            "{metric}"
        );
        assert!(
            html.contains(&format!("/console/metrics/{metric}.csv?")),
            "{metric}"
        );
    }
    assert!(html.contains(r#"<svg class="chart""#));
    assert!(html.contains("<title>jp-police: 2</title>"), "intake bar");
    assert!(
        html.contains("<title>hate_speech · social: 0.5</title>"),
        "overturn bar"
    );
    // Times read as spans, rates as percentages.
    assert!(html.contains("<td>10h 0m</td>"), "median time to decision");
    assert!(html.contains("<td>50.0%</td>"), "overturn rate");

    let csv = lead
        .get(&format!("/console/metrics/intake.csv?{query}"))
        .await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert_eq!(
        csv_rows(&csv.text().await.unwrap()),
        [
            ["slice", "escalations"],
            ["jp-police", "2"],
            ["th-ministry", "1"]
        ]
    );
    let xlsx = lead
        .get(&format!("/console/metrics/backlog.xlsx?{query}"))
        .await;
    assert_eq!(xlsx.status(), StatusCode::OK);
    assert_eq!(xlsx_rows(&xlsx.bytes().await.unwrap()).len(), 3);
    assert_eq!(
        lead.get("/console/metrics/intake.pdf").await.status(),
        StatusCode::NOT_FOUND
    );

    // A bad period is said on the page, with the form kept.
    let refused = lead.get("/console/metrics?from=soon&by=partner").await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let html = refused.text().await.unwrap();
    assert!(html.contains(r#"role="alert""#) && html.contains("soon"));
    assert!(html.contains(r#"value="soon""#));
}
