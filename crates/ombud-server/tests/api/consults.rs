//! Consults: requested, answered, blocking resolution while open.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, on_both_backends, police_case};

on_both_backends!(
    a_required_consult_blocks_resolution_until_answered,
    routing_rules_can_require_a_consult
);

async fn transition(app: &TestApp, to: &str) -> reqwest::Response {
    app.post(
        "/api/v1/escalations/ESC-1/transitions",
        &app.agent,
        &json!({"to": to}),
    )
    .await
}

/// Resolves ESC-1 with a decision, the one way to resolve.
async fn resolve(app: &TestApp) -> reqwest::Response {
    app.post(
        "/api/v1/escalations/ESC-1/decision",
        &app.agent,
        &json!({"outcome": "information_disclosed", "root_cause": "working_as_intended"}),
    )
    .await
}

async fn a_required_consult_blocks_resolution_until_answered(app: TestApp) {
    app.file(&app.agent, police_case("needs legal")).await;
    let unknown = app
        .post(
            "/api/v1/escalations/ESC-1/consults",
            &app.agent,
            &json!({"function": "astrology", "question": "Is it a good day?"}),
        )
        .await;
    let problem = assert_problem(
        unknown,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(
        problem.to_string().contains("consult-functions"),
        "{problem}"
    );
    let asked = app
        .post(
            "/api/v1/escalations/ESC-1/consults",
            &app.agent,
            &json!({"function": "legal", "question": "Can we disclose the subscriber data?", "due_within": "PT8H"}),
        )
        .await;
    assert_eq!(asked.status(), StatusCode::CREATED);
    let asked: Value = asked.json().await.unwrap();
    assert_eq!(asked["consults"][0]["due_at"], "2026-11-25T17:00:00Z");

    assert_eq!(
        transition(&app, "investigating").await.status(),
        StatusCode::OK
    );
    assert_problem(
        transition(&app, "resolved").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "decision_required",
    )
    .await;
    let blocked = resolve(&app).await;
    let problem = assert_problem(blocked, StatusCode::CONFLICT, "consults_open").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("#1 legal"),
        "{problem}"
    );

    let answered = app
        .post(
            "/api/v1/escalations/ESC-1/consults/1/answer",
            &app.agent,
            &json!({"verdict": "approve", "note": "Disclose under the MLAT request"}),
        )
        .await;
    assert_eq!(answered.status(), StatusCode::OK);
    assert_eq!(resolve(&app).await.status(), StatusCode::OK);
    let again = app
        .post(
            "/api/v1/escalations/ESC-1/consults/1/answer",
            &app.agent,
            &json!({"verdict": "object"}),
        )
        .await;
    assert_problem(again, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;

    let partner: String = app
        .get("/api/v1/escalations/ESC-1/timeline", &app.police)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !partner.contains("subscriber data"),
        "consults are internal: {partner}"
    );
    assert_eq!(
        app.post(
            "/api/v1/escalations/ESC-1/consults",
            &app.police,
            &json!({"function": "legal", "question": "?"})
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
}

async fn routing_rules_can_require_a_consult(app: TestApp) {
    let rule = json!({"code": "orders-to-legal", "name": "Orders need Legal", "position": 1,
        "when": {"in": {"field": "partner_kind", "values": ["law_enforcement", "government"]}},
        "then": [{"require_consult": {"function": "legal", "question": "Is this request lawful?"}}]});
    assert_eq!(
        app.put("/api/v1/routing-rules/orders-to-legal", &app.admin, &rule)
            .await
            .status(),
        StatusCode::CREATED
    );
    let escalation = app.file(&app.agent, police_case("subscriber info")).await;
    assert_eq!(escalation["consults"][0]["function"], "legal");
    assert_eq!(
        escalation["consults"][0]["requested_by"],
        "routing rule orders-to-legal"
    );
    let mut unknown = rule.clone();
    unknown["then"][0]["require_consult"]["function"] = json!("astrology");
    let refused = app
        .put(
            "/api/v1/routing-rules/orders-to-legal",
            &app.admin,
            &unknown,
        )
        .await;
    let problem = assert_problem(
        refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(
        problem
            .to_string()
            .contains("then[0].require_consult.function"),
        "{problem}"
    );
}
