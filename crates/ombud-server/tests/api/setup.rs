//! Partners and reference data, health, readiness, metrics and the OpenAPI document.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, on_both_backends, police_case};

on_both_backends!(
    partners_can_be_managed,
    reference_data_can_be_managed,
    health_readiness_and_metrics_need_no_token
);

async fn partners_can_be_managed(app: TestApp) {
    let new = json!({"slug": "kr-court", "name": "Seoul District Court", "kind": "court", "tier": 1, "country": "KR", "language": "ko",
        "contacts": [{"name": "Clerk", "email": "Clerk@Court.example"}]});
    let created = app.post("/api/v1/partners", &app.admin, &new).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["contacts"][0]["email"], "clerk@court.example");
    assert_problem(
        app.post("/api/v1/partners", &app.admin, &new).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert_problem(
        app.post("/api/v1/partners", &app.agent, &new).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let bad = json!({"slug": "Bad Slug", "name": "x", "kind": "alien", "tier": 9, "country": "JP"});
    let problem = assert_problem(
        app.post("/api/v1/partners", &app.admin, &bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"].as_array().unwrap().len(), 3);

    let patch = json!({"tier": 2, "active": false});
    let stale = app
        .request(Method::PATCH, "/api/v1/partners/kr-court", &app.admin)
        .header("if-match", "\"5\"")
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert_problem(stale, StatusCode::PRECONDITION_FAILED, "version_mismatch").await;
    let ok = app
        .request(Method::PATCH, "/api/v1/partners/kr-court", &app.admin)
        .header("if-match", "\"1\"")
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.headers()["etag"], "\"2\"");
    let mut filed = police_case("for an inactive partner");
    filed["partner"] = json!("kr-court");
    assert_problem(
        app.post("/api/v1/escalations", &app.agent, &filed).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;

    let deleted = app
        .request(Method::DELETE, "/api/v1/partners/kr-court", &app.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.get("/api/v1/partners/kr-court", &app.admin).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    app.file(&app.agent, police_case("keeps the partner")).await;
    let in_use = app
        .request(Method::DELETE, "/api/v1/partners/jp-police", &app.admin)
        .send()
        .await
        .unwrap();
    assert_problem(in_use, StatusCode::CONFLICT, "conflict").await;
}

async fn reference_data_can_be_managed(app: TestApp) {
    let types: Value = app
        .get("/api/v1/reference/escalation-types", &app.police)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        types
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["code"] == "government_order")
    );
    let item = json!({"code": "deepfake", "label": "Synthetic media"});
    assert_eq!(
        app.post("/api/v1/reference/escalation-types", &app.admin, &item)
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_problem(
        app.post("/api/v1/reference/escalation-types", &app.admin, &item)
            .await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    let child = json!({"code": "ai_labels", "label": "AI labelling", "parent": "nonexistent"});
    assert_problem(
        app.post("/api/v1/reference/policies", &app.admin, &child)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let retired = json!({"code": "deepfake", "label": "Synthetic media", "active": false});
    let put = app
        .request(
            Method::PUT,
            "/api/v1/reference/escalation-types/deepfake",
            &app.admin,
        )
        .json(&retired)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::OK);
    let mut filed = police_case("retired type");
    filed["type"] = json!("deepfake");
    assert_problem(
        app.post("/api/v1/escalations", &app.agent, &filed).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    app.file(&app.agent, police_case("uses account_access"))
        .await;
    let in_use = app
        .request(
            Method::DELETE,
            "/api/v1/reference/escalation-types/account_access",
            &app.admin,
        )
        .send()
        .await
        .unwrap();
    assert_problem(in_use, StatusCode::CONFLICT, "conflict").await;
    let gone = app
        .request(
            Method::DELETE,
            "/api/v1/reference/escalation-types/deepfake",
            &app.admin,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.get("/api/v1/reference/colours", &app.admin).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

async fn health_readiness_and_metrics_need_no_token(app: TestApp) {
    let get = |path: &str| app.client.get(format!("{}{path}", app.base)).send();
    assert_eq!(get("/healthz").await.unwrap().status(), StatusCode::OK);
    let ready: Value = get("/readyz").await.unwrap().json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    app.file(&app.agent, police_case("counted")).await;
    let response = get("/metrics").await.unwrap();
    assert!(
        response.headers()["x-request-id"].to_str().unwrap().len() >= 32,
        "every response carries a request id"
    );
    let metrics = response.text().await.unwrap();
    assert!(metrics.contains("ombud_http_requests_total{method=\"POST\",route=\"/api/v1/escalations\",status=\"201\"} 1"), "{metrics}");
    assert!(metrics.contains("ombud_escalations 1"), "{metrics}");
    let doc: Value = get("/api/v1/openapi.json")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
}

#[test]
fn the_committed_openapi_document_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let generated = serde_json::to_string_pretty(&ombud_server::openapi()).unwrap() + "\n";
    if std::env::var("UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json is out of date with the code; regenerate it with UPDATE_OPENAPI=1 cargo test -p ombud-server --test api the_committed_openapi"
    );
}
