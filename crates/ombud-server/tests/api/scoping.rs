//! A partner sees only its own cases and only what is meant for it.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::escalations::urlencode;
use crate::helpers::{TestApp, assert_problem, on_both_backends, police_case};

on_both_backends!(
    partners_never_see_internal_notes_or_other_partners_cases,
    partners_file_only_for_themselves
);

async fn partners_never_see_internal_notes_or_other_partners_cases(app: TestApp) {
    app.file(&app.police, police_case("警察からの通報")).await;
    let mut thai = police_case("คำสั่งลบเนื้อหา");
    thai["partner"] = json!("th-ministry");
    app.file(&app.agent, thai).await;
    let note = json!({"body": "内部メモ: confidential-source-name", "visibility": "internal"});
    assert_eq!(
        app.post("/api/v1/escalations/ESC-1/comments", &app.agent, &note)
            .await
            .status(),
        StatusCode::CREATED
    );
    let reply = json!({"body": "ご連絡ありがとうございます", "visibility": "partner"});
    assert_eq!(
        app.post("/api/v1/escalations/ESC-1/comments", &app.agent, &reply)
            .await
            .status(),
        StatusCode::CREATED
    );

    let timeline = app
        .get("/api/v1/escalations/ESC-1/timeline", &app.police)
        .await
        .text()
        .await
        .unwrap();
    assert!(timeline.contains("ご連絡ありがとうございます"));
    assert!(
        !timeline.contains("confidential-source-name"),
        "an internal note reached the partner: {timeline}"
    );
    let search: Value = app
        .get(
            &format!(
                "/api/v1/escalations?q={}",
                urlencode("confidential-source-name")
            ),
            &app.police,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        search["items"],
        json!([]),
        "search must not reveal internal notes"
    );
    let staff_search: Value = app
        .get(
            &format!(
                "/api/v1/escalations?q={}",
                urlencode("confidential-source-name")
            ),
            &app.agent,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(staff_search["items"][0]["key"], "ESC-1");

    assert_problem(
        app.get("/api/v1/escalations/ESC-2", &app.police).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_problem(
        app.get("/api/v1/escalations/ESC-2/timeline", &app.police)
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let comment = json!({"body": "hello", "visibility": "partner"});
    assert_problem(
        app.post("/api/v1/escalations/ESC-2/comments", &app.police, &comment)
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let list: Value = app
        .get("/api/v1/escalations", &app.police)
        .await
        .json()
        .await
        .unwrap();
    let keys: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["ESC-1"]);
    let internal = json!({"body": "sneaky", "visibility": "internal"});
    assert_problem(
        app.post("/api/v1/escalations/ESC-1/comments", &app.police, &internal)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let transition = json!({"to": "resolved"});
    assert_problem(
        app.post(
            "/api/v1/escalations/ESC-1/transitions",
            &app.police,
            &transition,
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_problem(
        app.get("/api/v1/partners", &app.police).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

async fn partners_file_only_for_themselves(app: TestApp) {
    let mut own = police_case("自分の案件");
    own.as_object_mut().unwrap().remove("partner");
    let created = app.file(&app.police, own).await;
    assert_eq!(created["partner"], "jp-police");
    let mut other = police_case("someone else's");
    other["partner"] = json!("th-ministry");
    let problem = assert_problem(
        app.post("/api/v1/escalations", &app.police, &other).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "partner");
    let ministry_view: Value = app
        .get("/api/v1/escalations", &app.ministry)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ministry_view["items"], json!([]));
}
