//! Resolving with a decision: outcome, policy and version, per-subject
//! actions with their countries, root cause and its upstream fix.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, on_both_backends, police_case};

on_both_backends!(
    a_decision_resolves_with_per_subject_actions_and_a_root_cause,
    a_faulty_decision_names_every_fault_and_changes_nothing
);

async fn get(app: &TestApp, key: &str, token: &str) -> Value {
    app.get(&format!("/api/v1/escalations/{key}"), token)
        .await
        .json()
        .await
        .unwrap()
}

async fn a_decision_resolves_with_per_subject_actions_and_a_root_cause(app: TestApp) {
    let key = app
        .file(&app.police, police_case("Defamation in two countries"))
        .await["key"]
        .as_str()
        .unwrap()
        .to_string();
    let subject = get(&app, &key, &app.admin).await["subjects"][0]["normalized_key"]
        .as_str()
        .unwrap()
        .to_string();
    let decision = json!({
        "outcome": "geo_withheld",
        "policy": "harassment",
        "policy_version": "2026-07",
        "actions": [{"subject": subject, "action": "geo_withheld", "countries": ["jp", "KR", "JP"]}],
        "root_cause": "policy_gap",
        "root_cause_note": "Local law is stricter than the global policy.",
        "owning_team": "Policy APAC",
        "upstream_fix": {"url": "https://tracker.example/POL-12", "status": "proposed", "owner": "amara"}
    });
    let decided = app
        .post(
            &format!("/api/v1/escalations/{key}/decision"),
            &app.agent,
            &decision,
        )
        .await;
    assert_eq!(decided.status(), StatusCode::OK);
    let stored = get(&app, &key, &app.admin).await;
    assert_eq!(stored["status"], "resolved");
    assert_eq!(
        stored["decision"]["actions"][0]["countries"],
        json!(["JP", "KR"]),
        "upper case, sorted, once"
    );
    assert_eq!(stored["decision"]["upstream_fix"]["owner"], "amara");

    // Staff see the decision on the timeline; the partner sees only the
    // status change, which names the outcome.
    let kinds = |events: &[Value]| -> Vec<String> {
        events
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_string())
            .collect()
    };
    let staff = app.timeline(&key, &app.admin).await;
    assert!(kinds(&staff).contains(&"decision_recorded".to_string()));
    let partner = app.timeline(&key, &app.police).await;
    assert!(!kinds(&partner).contains(&"decision_recorded".to_string()));
    let resolved = partner
        .iter()
        .find(|e| e["kind"] == "status_changed")
        .expect("the status change");
    assert_eq!(resolved["data"]["outcome"], "geo_withheld");
    let told = get(&app, &key, &app.police).await;
    assert_eq!(told["decision"]["outcome"], "geo_withheld");
    assert_eq!(
        told["decision"]["actions"][0]["countries"],
        json!(["JP", "KR"])
    );
    assert_eq!(told["decision"]["root_cause"], Value::Null);
    assert_eq!(told["decision"]["root_cause_note"], "");

    // Amending keeps it resolved; once closed, it must be reopened first.
    let amend = json!({"outcome": "upheld", "root_cause": "working_as_intended"});
    let amended = app
        .post(
            &format!("/api/v1/escalations/{key}/decision"),
            &app.agent,
            &amend,
        )
        .await;
    assert_eq!(amended.status(), StatusCode::OK);
    assert_eq!(
        get(&app, &key, &app.admin).await["decision"]["outcome"],
        "upheld"
    );
    let closed = app
        .post(
            &format!("/api/v1/escalations/{key}/transitions"),
            &app.agent,
            &json!({"to": "closed"}),
        )
        .await;
    assert_eq!(closed.status(), StatusCode::OK);
    let refused = app
        .post(
            &format!("/api/v1/escalations/{key}/decision"),
            &app.agent,
            &amend,
        )
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["code"], "closed");
}

async fn a_faulty_decision_names_every_fault_and_changes_nothing(app: TestApp) {
    let key = app.file(&app.police, police_case("Hacked account")).await["key"]
        .as_str()
        .unwrap()
        .to_string();
    let before = get(&app, &key, &app.admin).await["version"].clone();
    let path = format!("/api/v1/escalations/{key}/decision");
    let cases = [
        (json!({"outcome": "vanished"}), "outcome", "unknown outcome"),
        (
            json!({"outcome": "removed", "root_cause": "gremlins"}),
            "root_cause",
            "unknown root_cause",
        ),
        (
            json!({"outcome": "removed", "policy": "made_up"}),
            "policy",
            "unknown policy",
        ),
        (
            json!({"outcome": "removed", "actions": [{"subject": "social:account:nobody", "action": "removed"}]}),
            "actions[0].subject",
            "not a subject of this escalation",
        ),
        (
            json!({"outcome": "removed", "owning_team": "Trust"}),
            "root_cause",
            "belongs to a root cause",
        ),
        (
            json!({"outcome": "removed", "root_cause": "policy_gap", "upstream_fix": {"url": "tracker/1", "status": "shipped"}}),
            "upstream_fix.url",
            "not an http(s) link",
        ),
    ];
    for (body, field, message) in cases {
        let refused = app.post(&path, &app.agent, &body).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let problem: Value = refused.json().await.unwrap();
        let fault = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["field"] == field)
            .unwrap_or_else(|| panic!("{field} in {problem}"));
        assert!(
            fault["message"].as_str().unwrap().contains(message),
            "{problem}"
        );
    }
    let partner = app
        .post(&path, &app.police, &json!({"outcome": "removed"}))
        .await;
    assert_eq!(partner.status(), StatusCode::FORBIDDEN);
    let after = get(&app, &key, &app.admin).await;
    assert_eq!(after["version"], before, "nothing changed");
    assert_eq!(after["status"], "new");
}
