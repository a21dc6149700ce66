//! Bad input gets a clear problem and changes nothing; no route leaks internals.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{MAX_BODY, TestApp, assert_problem, on_both_backends, police_case};

on_both_backends!(
    bad_bodies_are_refused_with_the_field_at_fault,
    bad_queries_and_unknown_things_are_refused,
    requests_without_a_valid_token_are_refused
);

async fn bad_bodies_are_refused_with_the_field_at_fault(app: TestApp) {
    let post = |body: Vec<u8>, content_type: &'static str| {
        app.request(Method::POST, "/api/v1/escalations", &app.agent)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let malformed = assert_problem(
        post(b"{\"type\": ".to_vec(), "application/json")
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
        "malformed_json",
    )
    .await;
    assert!(
        malformed["detail"].as_str().unwrap().contains("line 1"),
        "{malformed}"
    );
    assert_problem(
        post(b"\xff\xfe{}".to_vec(), "application/json")
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
        "bad_encoding",
    )
    .await;
    assert_problem(
        post(b"{}".to_vec(), "text/plain").await.unwrap(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    let big = serde_json::to_vec(&json!({"title": "x".repeat(MAX_BODY)})).unwrap();
    assert_problem(
        post(big, "application/json").await.unwrap(),
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;

    let mut unknown_field = police_case("x");
    unknown_field["colour"] = json!("red");
    let problem = assert_problem(
        app.post("/api/v1/escalations", &app.agent, &unknown_field)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "colour");
    let mut wrong_type = police_case("x");
    wrong_type["subjects"][0]["kind"] = json!(7);
    let problem = assert_problem(
        app.post("/api/v1/escalations", &app.agent, &wrong_type)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "subjects[0].kind");
    let invalid = json!({"type": "no_such_type", "partner": "jp-police", "title": " ", "country": "XX", "language": "japanese"});
    let problem = assert_problem(
        app.post("/api/v1/escalations", &app.agent, &invalid).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["title", "country", "language"],
        "every faulty field at once"
    );
    let mut unknown_type = police_case("x");
    unknown_type["type"] = json!("no_such_type");
    let problem = assert_problem(
        app.post("/api/v1/escalations", &app.agent, &unknown_type)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "type");
    let mut unknown_partner = police_case("x");
    unknown_partner["partner"] = json!("nobody");
    assert_problem(
        app.post("/api/v1/escalations", &app.agent, &unknown_partner)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        app.escalation_count().await,
        0,
        "no bad request created anything"
    );
}

async fn bad_queries_and_unknown_things_are_refused(app: TestApp) {
    for (query, field) in [
        ("colour=red", "colour"),
        ("limit=0", "limit"),
        ("status=open", "status"),
        ("created_after=yesterday", "created_after"),
        ("cursor=zz", "cursor"),
        ("sort=title", "sort"),
    ] {
        let problem = assert_problem(
            app.get(&format!("/api/v1/escalations?{query}"), &app.agent)
                .await,
            StatusCode::BAD_REQUEST,
            "bad_query",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], field, "{query}");
    }
    assert_problem(
        app.get("/api/v1/escalations/ESC-404", &app.agent).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_problem(
        app.get("/api/v1/escalations/not-a-key", &app.agent).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_problem(
        app.get("/api/v1/nothing-here", &app.agent).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let delete = app
        .request(Method::DELETE, "/api/v1/escalations", &app.agent)
        .send()
        .await
        .unwrap();
    assert_problem(delete, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    let bad_key = app
        .request(Method::POST, "/api/v1/escalations", &app.agent)
        .header("idempotency-key", "")
        .json(&police_case("x"))
        .send()
        .await
        .unwrap();
    assert_problem(bad_key, StatusCode::BAD_REQUEST, "bad_idempotency_key").await;
}

async fn requests_without_a_valid_token_are_refused(app: TestApp) {
    let anonymous = app
        .client
        .get(format!("{}/api/v1/escalations", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    assert_problem(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_problem(
        app.get("/api/v1/escalations", "ombud_forged").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    let me: serde_json::Value = app
        .get("/api/v1/me", &app.police)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (me["role"].as_str(), me["partner"].as_str()),
        (Some("partner"), Some("jp-police"))
    );
}
