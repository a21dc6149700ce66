//! Routing rules on intake, their dry run, and the priority score.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, on_both_backends, police_case};

on_both_backends!(
    rules_route_new_escalations_and_say_why,
    the_dry_run_changes_nothing,
    bad_rules_are_refused_with_the_faulty_part,
    a_rule_can_notify_staff_by_email,
    rules_run_again_when_what_they_read_changes
);

fn vip_rule() -> Value {
    json!({
        "code": "vip-accounts", "name": "VIP account takeovers", "position": 10,
        "when": {"all": [
            {"in": {"field": "type", "values": ["account_access"]}},
            {"has": {"field": "tags", "values": ["vip"]}}
        ]},
        "then": [{"set_queue": "vip-desk"}, {"set_priority": "P0"}, {"add_tags": ["takeover"]},
                 {"set_sla_policy": "vip"}]
    })
}

async fn put_vip_policy(app: &TestApp) {
    let policy = json!({"code": "vip", "name": "VIP", "basis": "calendar",
        "conditions": {"countries": ["US"]},
        "targets": {"resolution": "PT2H"}});
    assert_eq!(
        app.put("/api/v1/sla-policies/vip", &app.admin, &policy)
            .await
            .status(),
        StatusCode::CREATED
    );
}

async fn rules_route_new_escalations_and_say_why(app: TestApp) {
    put_vip_policy(&app).await;
    assert_eq!(
        app.put(
            "/api/v1/routing-rules/vip-accounts",
            &app.admin,
            &vip_rule()
        )
        .await
        .status(),
        StatusCode::CREATED
    );
    let escalation = app.file(&app.agent, police_case("VIP hijack")).await;
    assert_eq!(escalation["queue"], "vip-desk");
    assert_eq!(escalation["priority"], "P0");
    assert_eq!(escalation["tags"], json!(["takeover", "vip"]));
    // The rule's policy applies although its conditions name another country.
    assert_eq!(
        escalation["clocks"][0]["source"],
        json!({"kind": "policy", "id": "vip"})
    );
    assert_eq!(escalation["clocks"][0]["due_at"], "2026-11-25T11:00:00Z");
    // The score is stored with its parts: tier 1 (30), account access (15).
    assert_eq!(escalation["score"]["total"], 45);
    assert_eq!(escalation["score"]["suggested"], "P2");

    let timeline = app.timeline("ESC-1", &app.agent).await;
    let fired = &timeline[0]["data"]["rules_fired"][0];
    assert_eq!(fired["code"], "vip-accounts");
    assert_eq!(
        fired["because"],
        json!(["type is account_access", "tags has vip"])
    );

    // A case the rule does not match keeps its own values.
    let mut plain = police_case("Plain");
    plain["tags"] = json!([]);
    let other = app.file(&app.agent, plain).await;
    assert_eq!(
        (&other["queue"], &other["priority"]),
        (&Value::Null, &json!("P1"))
    );

    // A policy a rule chooses cannot be deleted from under it.
    let in_use = app
        .request(
            reqwest::Method::DELETE,
            "/api/v1/sla-policies/vip",
            &app.admin,
        )
        .send()
        .await
        .unwrap();
    assert_problem(in_use, StatusCode::CONFLICT, "conflict").await;
}

async fn the_dry_run_changes_nothing(app: TestApp) {
    put_vip_policy(&app).await;
    app.put(
        "/api/v1/routing-rules/vip-accounts",
        &app.admin,
        &vip_rule(),
    )
    .await;
    let draft = app
        .post(
            "/api/v1/routing-rules/dry-run",
            &app.agent,
            &json!({"escalation": police_case("What if")}),
        )
        .await;
    assert_eq!(draft.status(), StatusCode::OK);
    let result: Value = draft.json().await.unwrap();
    assert_eq!(result["queue"], "vip-desk");
    assert_eq!(result["sla_policy"], "vip");
    assert_eq!(result["rules_fired"][0]["code"], "vip-accounts");
    assert_eq!(app.escalation_count().await, 0, "a dry run files nothing");

    // On an existing escalation filed before the rule existed.
    app.request(
        reqwest::Method::DELETE,
        "/api/v1/routing-rules/vip-accounts",
        &app.admin,
    )
    .send()
    .await
    .unwrap();
    app.file(&app.agent, police_case("Before the rule")).await;
    app.put(
        "/api/v1/routing-rules/vip-accounts",
        &app.admin,
        &vip_rule(),
    )
    .await;
    let result: Value = app
        .post(
            "/api/v1/routing-rules/dry-run",
            &app.agent,
            &json!({"key": "ESC-1"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(result["priority"], "P0");
    let stored: Value = app
        .get("/api/v1/escalations/ESC-1", &app.agent)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (&stored["priority"], &stored["version"]),
        (&json!("P1"), &json!(1))
    );
    let missing = app
        .post(
            "/api/v1/routing-rules/dry-run",
            &app.agent,
            &json!({"key": "ESC-99"}),
        )
        .await;
    assert_problem(missing, StatusCode::NOT_FOUND, "not_found").await;
}

async fn bad_rules_are_refused_with_the_faulty_part(app: TestApp) {
    let bad = json!({
        "code": "bad", "name": "Bad", "position": 1,
        "when": {"any": [{"in": {"field": "country", "values": []}}]},
        "then": [{"set_sla_policy": "nowhere"}]
    });
    let refused = app.put("/api/v1/routing-rules/bad", &app.admin, &bad).await;
    let problem = assert_problem(
        refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let text = problem.to_string();
    assert!(text.contains("when.any[0].in.values"), "{text}");
    assert!(text.contains("then[0].set_sla_policy"), "{text}");
    let unknown_field = json!({"code": "x", "name": "x", "position": 1,
        "when": {"in": {"field": "colour", "values": ["red"]}}, "then": ["stop"]});
    let refused = app
        .put("/api/v1/routing-rules/x", &app.admin, &unknown_field)
        .await;
    let problem = assert_problem(
        refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(problem.to_string().contains("colour"), "{problem}");
    let rules: Vec<Value> = app
        .get("/api/v1/routing-rules", &app.admin)
        .await
        .json()
        .await
        .unwrap();
    assert!(rules.is_empty());
    assert_eq!(
        app.put(
            "/api/v1/routing-rules/vip-accounts",
            &app.agent,
            &vip_rule()
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
}

async fn a_rule_can_notify_staff_by_email(app: TestApp) {
    let rule = json!({"code": "p0-alert", "name": "Tell the duty lead about P0s", "position": 1,
        "when": {"in": {"field": "priority", "values": ["P0"]}},
        "then": [{"notify": {"to": ["duty-lead@platform.example"], "note": "A P0 came in"}}]});
    assert_eq!(
        app.put("/api/v1/routing-rules/p0-alert", &app.admin, &rule)
            .await
            .status(),
        StatusCode::CREATED
    );
    let mut bad = rule.clone();
    bad["then"][0]["notify"]["to"] = json!(["not an address"]);
    let refused = app
        .put("/api/v1/routing-rules/p0-alert", &app.admin, &bad)
        .await;
    let problem = assert_problem(
        refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(
        problem.to_string().contains("then[0].notify.to[0]"),
        "{problem}"
    );

    let mut urgent = police_case("Live-streamed attack");
    urgent["priority"] = json!("P0");
    app.file(&app.agent, urgent).await;
    app.file(&app.agent, police_case("Routine")).await;
    let sent = app.smtp.received();
    assert_eq!(sent.len(), 1, "only the P0 case");
    assert!(sent[0].contains("duty-lead@platform.example") && sent[0].contains("A P0 came in"));
    let timeline = app.timeline("ESC-1", &app.agent).await;
    let notified = timeline
        .iter()
        .find(|e| e["kind"] == "notified")
        .expect("recorded");
    assert_eq!(
        (&notified["data"]["sent"], &notified["visibility"]),
        (&json!(true), &json!("internal"))
    );
}

async fn rules_run_again_when_what_they_read_changes(app: TestApp) {
    let rule = json!({
        "code": "sensitive-media", "name": "Sensitive media to cleared reviewers", "position": 10,
        "when": {"has": {"field": "risk_flags", "values": ["sensitive_media"]}},
        "then": [{"set_queue": "cleared-media"},
                 {"require_consult": {"function": "legal", "question": "Report to the hotline?"}}]
    });
    let ads = json!({
        "code": "ads", "name": "Ads", "position": 20,
        "when": {"has": {"field": "subject_kinds", "values": ["ad"]}},
        "then": [{"add_tags": ["ads-review"]}]
    });
    for (code, body) in [("sensitive-media", &rule), ("ads", &ads)] {
        let path = format!("/api/v1/routing-rules/{code}");
        assert_eq!(
            app.put(&path, &app.admin, body).await.status(),
            StatusCode::CREATED
        );
    }
    let mut case = police_case("Leaked images");
    case["tags"] = json!([]);
    let filed = app.file(&app.agent, case).await;
    assert_eq!(filed["queue"], Value::Null, "no rule holds on intake");

    // Flagging sensitive media makes the rule hold: it fires in the same
    // change, which it records; the version moves once.
    let flagged = app
        .patch_escalation(&filed, json!({"risk_flags": ["sensitive_media"]}))
        .await;
    assert_eq!(flagged["version"], filed["version"].as_i64().unwrap() + 1);
    assert_eq!(flagged["queue"], "cleared-media");
    assert_eq!(flagged["consults"][0]["function"], "legal");
    assert_eq!(flagged["rules_fired"], json!(["sensitive-media"]));

    // Moved by hand, it stays moved: a rule fires once per escalation.
    let moved = app
        .patch_escalation(
            &flagged,
            json!({"queue": "general", "title": "Leaked images (2)"}),
        )
        .await;
    assert_eq!(moved["queue"], "general");
    assert_eq!(moved["consults"].as_array().unwrap().len(), 1);

    // A new subject is a change the rules read too.
    let response = app
        .post(
            "/api/v1/escalations/ESC-1/subjects",
            &app.agent,
            &json!({"kind": "ad", "surface": "ads", "external_id": "ad-77"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let with_ad: Value = response.json().await.unwrap();
    assert_eq!(with_ad["tags"], json!(["ads-review"]));
    assert_eq!(with_ad["rules_fired"], json!(["sensitive-media", "ads"]));

    let timeline = app.timeline("ESC-1", &app.agent).await;
    let fired: Vec<&Value> = timeline
        .iter()
        .filter(|e| e["kind"] == "rules_fired")
        .map(|e| &e["data"]["rules"][0]["code"])
        .collect();
    assert_eq!(fired, [&json!("sensitive-media"), &json!("ads")]);
}
