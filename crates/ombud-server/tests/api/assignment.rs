//! Queues, agent skills and capacity, claim-next, hand-offs, auto-assignment.

use ombud_domain::Role;
use ombud_store::NewUser;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, on_both_backends, police_case};

on_both_backends!(
    agents_claim_the_best_case_their_skills_allow,
    cases_are_handed_off_with_a_note_and_auto_assigned
);

async fn add_user(app: &TestApp, email: &str) {
    let user = NewUser {
        email: email.into(),
        name: email.into(),
        role: Role::Agent,
        partner: None,
        password_hash: "x".into(),
        created_at: "2026-11-25T09:00:00Z".parse().unwrap(),
    };
    app.stores.directory.create_user(&user).await.expect("user");
}

async fn setup(app: &TestApp, auto_assign: bool) {
    let queue = json!({"code": "apac", "name": "APAC", "team": "Tokyo escalations", "auto_assign": auto_assign});
    assert_eq!(
        app.put("/api/v1/queues/apac", &app.admin, &queue)
            .await
            .status(),
        StatusCode::CREATED
    );
    let rule = json!({"code": "to-apac", "name": "Japan to APAC", "position": 1,
        "when": {"in": {"field": "country", "values": ["JP"]}}, "then": [{"set_queue": "apac"}]});
    app.put("/api/v1/routing-rules/to-apac", &app.admin, &rule)
        .await;
    let aiko = json!({"email": "aiko@example.com", "queues": ["apac"], "languages": ["ja"], "capacity": 2});
    assert_eq!(
        app.put("/api/v1/agents/aiko@example.com", &app.admin, &aiko)
            .await
            .status(),
        StatusCode::CREATED
    );
}

async fn claim(app: &TestApp, agent: &str) -> reqwest::Response {
    app.post("/api/v1/claim-next", &app.agent, &json!({"agent": agent}))
        .await
}

async fn agents_claim_the_best_case_their_skills_allow(app: TestApp) {
    setup(&app, false).await;
    for (title, priority, sensitive) in [
        ("P2 case", "P2", false),
        ("P1 case", "P1", false),
        ("P0 images", "P0", true),
    ] {
        let mut case = police_case(title);
        case["priority"] = json!(priority);
        if sensitive {
            case["risk_flags"] = json!(["sensitive_media"]);
        }
        let filed = app.file(&app.agent, case).await;
        assert_eq!(filed["queue"], "apac");
    }
    // Not cleared for sensitive media: the P1 case first, then the P2.
    let first: Value = claim(&app, "aiko@example.com").await.json().await.unwrap();
    assert_eq!(
        (&first["title"], &first["assignee"]),
        (&json!("P1 case"), &json!("aiko@example.com"))
    );
    let second: Value = claim(&app, "aiko@example.com").await.json().await.unwrap();
    assert_eq!(second["title"], "P2 case");
    // Two open cases is her capacity.
    let full = claim(&app, "aiko@example.com").await;
    let problem = assert_problem(full, StatusCode::CONFLICT, "conflict").await;
    assert!(problem["detail"].as_str().unwrap().contains("capacity"));

    // A cleared colleague gets the sensitive case; then nothing is left.
    add_user(&app, "ben@example.com").await;
    let ben = json!({"email": "ben@example.com", "sensitive_media": true, "capacity": 5});
    app.put("/api/v1/agents/ben@example.com", &app.admin, &ben)
        .await;
    let third: Value = claim(&app, "ben@example.com").await.json().await.unwrap();
    assert_eq!(third["title"], "P0 images");
    assert_eq!(
        claim(&app, "ben@example.com").await.status(),
        StatusCode::NO_CONTENT
    );

    let mut away = ben.clone();
    away["out_of_office"] = json!(true);
    app.put("/api/v1/agents/ben@example.com", &app.admin, &away)
        .await;
    assert_problem(
        claim(&app, "ben@example.com").await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert_problem(
        claim(&app, "nobody@example.com").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let ghost = json!({"email": "ghost@example.com", "queues": ["nowhere"], "capacity": 0});
    let refused = app
        .put("/api/v1/agents/ghost@example.com", &app.admin, &ghost)
        .await;
    let problem = assert_problem(
        refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(problem.to_string().contains("queues[0]"), "{problem}");
}

async fn cases_are_handed_off_with_a_note_and_auto_assigned(app: TestApp) {
    setup(&app, true).await;
    add_user(&app, "ben@example.com").await;
    let ben = json!({"email": "ben@example.com", "queues": ["apac"], "capacity": 5});
    app.put("/api/v1/agents/ben@example.com", &app.admin, &ben)
        .await;
    // Both are free: the first case goes to the first by email, the next to
    // the other, who then holds fewer.
    let first = app.file(&app.agent, police_case("one")).await;
    assert_eq!(first["assignee"], "aiko@example.com");
    let second = app.file(&app.agent, police_case("two")).await;
    assert_eq!(second["assignee"], "ben@example.com");

    // The second case, about the same account, was linked to the first,
    // which moved its version on.
    let first: Value = app
        .get("/api/v1/escalations/ESC-1", &app.agent)
        .await
        .json()
        .await
        .unwrap();
    let handed = app
        .request(
            Method::POST,
            "/api/v1/escalations/ESC-1/handoff",
            &app.agent,
        )
        .header("if-match", format!("\"{}\"", first["version"]))
        .json(&json!({"to": "ben@example.com", "note": "Ben knows this account"}))
        .send()
        .await
        .unwrap();
    assert_eq!(handed.status(), StatusCode::OK);
    let handed: Value = handed.json().await.unwrap();
    assert_eq!(handed["assignee"], "ben@example.com");
    let stale = app
        .request(
            Method::POST,
            "/api/v1/escalations/ESC-1/handoff",
            &app.agent,
        )
        .header("if-match", format!("\"{}\"", first["version"]))
        .json(&json!({"to": "aiko@example.com"}))
        .send()
        .await
        .unwrap();
    assert_problem(stale, StatusCode::PRECONDITION_FAILED, "version_mismatch").await;
    let timeline = app.timeline("ESC-1", &app.agent).await;
    let notes: Vec<&Value> = timeline
        .iter()
        .filter(|e| e["kind"] == "assigned")
        .map(|e| &e["data"]["note"])
        .collect();
    assert_eq!(
        notes,
        [
            &json!("auto-assigned from queue apac, least loaded"),
            &json!("Ben knows this account")
        ]
    );
    let partner_view = app.timeline("ESC-1", &app.police).await;
    assert!(
        partner_view.iter().all(|e| e["kind"] != "assigned"),
        "hand-off notes are internal"
    );

    // Ben goes out of office: his cases go to the free colleague.
    let away = json!({"email": "ben@example.com", "queues": ["apac"], "capacity": 5, "out_of_office": true});
    assert_eq!(
        app.put("/api/v1/agents/ben@example.com", &app.admin, &away)
            .await
            .status(),
        StatusCode::OK
    );
    for key in ["ESC-1", "ESC-2"] {
        let case: Value = app
            .get(&format!("/api/v1/escalations/{key}"), &app.agent)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(case["assignee"], "aiko@example.com", "{key}");
    }
    let timeline = app.timeline("ESC-2", &app.agent).await;
    assert!(
        timeline
            .iter()
            .any(|e| e["data"]["note"] == "ben@example.com is out of office")
    );
}
