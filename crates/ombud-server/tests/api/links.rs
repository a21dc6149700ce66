//! Likely duplicates linked on intake; links and merges by people.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, on_both_backends, police_case};

on_both_backends!(
    duplicates_are_found_linked_and_merged,
    a_viral_subject_never_makes_intake_fail
);

async fn get(app: &TestApp, key: &str) -> Value {
    app.get(&format!("/api/v1/escalations/{key}"), &app.agent)
        .await
        .json()
        .await
        .unwrap()
}

async fn duplicates_are_found_linked_and_merged(app: TestApp) {
    app.file(&app.agent, police_case("アカウント乗っ取り: 太郎"))
        .await;
    // The same account, reported again behind a tracking link.
    let mut again = police_case("Taro's account hijacked");
    again["subjects"][0]["url"] = json!("https://www.social.example/taro?utm_source=x");
    let second = app.file(&app.agent, again).await;
    assert_eq!(second["links"][0]["kind"], "possible_duplicate");
    assert_eq!(second["links"][0]["key"], "ESC-1");
    assert!(
        second["links"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("same subject")
    );
    let first = get(&app, "ESC-1").await;
    assert_eq!(
        (&first["links"][0]["kind"], &first["links"][0]["key"]),
        (&json!("possible_duplicate"), &json!("ESC-2"))
    );

    // Unrelated subject and text: no link.
    let mut other = police_case("広告が却下された");
    other["subjects"][0]["url"] = json!("https://ads.example/ad/9");
    other["description"] = json!("審査の結果について");
    let third = app.file(&app.agent, other).await;
    assert_eq!(third["links"], json!([]));

    let missing = app
        .post(
            "/api/v1/escalations/ESC-3/links",
            &app.agent,
            &json!({"kind": "related", "to": "ESC-99"}),
        )
        .await;
    assert_problem(
        missing,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let parent = app
        .post(
            "/api/v1/escalations/ESC-3/links",
            &app.agent,
            &json!({"kind": "parent_of", "to": "ESC-1", "note": "same campaign"}),
        )
        .await;
    assert_eq!(parent.status(), StatusCode::CREATED);
    let child = get(&app, "ESC-1").await;
    assert!(
        child["links"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["kind"] == "child_of" && l["key"] == "ESC-3")
    );

    let merged = app
        .post(
            "/api/v1/escalations/ESC-2/merge",
            &app.agent,
            &json!({"into": "ESC-1"}),
        )
        .await;
    assert_eq!(merged.status(), StatusCode::OK);
    let merged: Value = merged.json().await.unwrap();
    assert_eq!(merged["status"], "resolved");
    assert!(
        merged["links"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["kind"] == "duplicate_of")
    );
    let kept = get(&app, "ESC-1").await;
    assert!(
        kept["links"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["kind"] == "has_duplicate" && l["key"] == "ESC-2")
    );
    for key in ["ESC-1", "ESC-2"] {
        let timeline: Vec<Value> = app
            .get(&format!("/api/v1/escalations/{key}/timeline"), &app.agent)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            timeline[0]["kind"], "created",
            "{key} keeps its own history"
        );
        assert!(timeline.iter().any(|e| e["kind"] == "linked"));
    }
}

async fn a_viral_subject_never_makes_intake_fail(app: TestApp) {
    // Thirty reports about the same account at once: every one is filed.
    let bodies: Vec<Value> = (0..30)
        .map(|i| police_case(&format!("viral {i}")))
        .collect();
    let filed = futures::future::join_all(
        bodies
            .iter()
            .map(|body| app.post("/api/v1/escalations", &app.agent, body)),
    )
    .await;
    for response in filed {
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    assert_eq!(app.escalation_count().await, 30);
    // One more, once the burst is in: it finds the cluster, and links at most five.
    let later = app.file(&app.agent, police_case("viral, later")).await;
    let links = later["links"].as_array().unwrap();
    assert_eq!(links.len(), 5, "{links:?}");
}
