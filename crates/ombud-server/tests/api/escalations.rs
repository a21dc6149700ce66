//! Intake, reading, listing, search, updates, transitions, comments,
//! subjects, evidence and idempotency.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    MAX_UPLOAD, PNG, TestApp, assert_problem, on_both_backends, police_case, upload,
};

on_both_backends!(
    a_filed_escalation_can_be_read_and_listed,
    lists_page_with_cursors_and_links,
    search_finds_japanese_and_thai_text,
    patch_requires_the_current_etag,
    transitions_follow_the_lifecycle,
    subjects_are_normalised_and_not_duplicated,
    evidence_is_sniffed_stored_and_downloaded,
    a_retried_post_with_the_same_key_creates_nothing,
);

async fn a_filed_escalation_can_be_read_and_listed(app: TestApp) {
    let response = app
        .post(
            "/api/v1/escalations",
            &app.agent,
            &police_case("乗っ取られた公式アカウント"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["location"], "/api/v1/escalations/ESC-1");
    assert_eq!(response.headers()["etag"], "\"1\"");
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["key"], "ESC-1");
    assert_eq!(created["status"], "new");
    assert_eq!(
        created["subjects"][0]["normalized_key"],
        "url:https://social.example/taro"
    );

    let read: Value = app
        .get("/api/v1/escalations/ESC-1", &app.agent)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read, created);
    let list: Value = app
        .get(
            "/api/v1/escalations?status=new&partner=jp-police",
            &app.agent,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["key"], "ESC-1");
    assert_eq!(list["next_cursor"], Value::Null);
    let timeline: Value = app
        .get("/api/v1/escalations/ESC-1/timeline", &app.agent)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(timeline[0]["kind"], "created");
    assert_eq!(timeline[0]["actor"]["name"], "agent");
}

async fn lists_page_with_cursors_and_links(app: TestApp) {
    for i in 0..5 {
        app.file(&app.agent, police_case(&format!("case {i}")))
            .await;
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/escalations?limit=2&sort=key".to_string();
    loop {
        let response = app.get(&path, &app.agent).await;
        let link = response
            .headers()
            .get("link")
            .map(|l| l.to_str().unwrap().to_string());
        let page: Value = response.json().await.unwrap();
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["key"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                let link = link.expect("a Link header when there is a next page");
                assert!(
                    link.contains(cursor) && link.ends_with("rel=\"next\""),
                    "{link}"
                );
                path = format!("/api/v1/escalations?limit=2&sort=key&cursor={cursor}");
            }
            None => break,
        }
    }
    assert_eq!(seen, ["ESC-1", "ESC-2", "ESC-3", "ESC-4", "ESC-5"]);
}

async fn search_finds_japanese_and_thai_text(app: TestApp) {
    app.file(&app.agent, police_case("投資詐欺広告の停止要請"))
        .await;
    let mut thai = police_case("บัญชีถูกแฮ็ก");
    thai["partner"] = json!("th-ministry");
    thai["country"] = json!("TH");
    thai["language"] = json!("th");
    app.file(&app.agent, thai).await;
    for (q, key) in [("詐欺", "ESC-1"), ("停止要請", "ESC-1"), ("แฮ็ก", "ESC-2")] {
        let url = format!("/api/v1/escalations?q={}", urlencode(q));
        let page: Value = app.get(&url, &app.agent).await.json().await.unwrap();
        let keys: Vec<&str> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["key"].as_str().unwrap())
            .collect();
        assert_eq!(keys, [key], "q={q}");
    }
}

pub fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn patch_requires_the_current_etag(app: TestApp) {
    app.file(&app.agent, police_case("patch me")).await;
    let patch = json!({"priority": "P0", "assignee": "aiko@example.com", "tags": ["press", "vip"]});
    let missing = app
        .request(Method::PATCH, "/api/v1/escalations/ESC-1", &app.agent)
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert_problem(
        missing,
        StatusCode::PRECONDITION_REQUIRED,
        "precondition_required",
    )
    .await;
    let stale = app
        .request(Method::PATCH, "/api/v1/escalations/ESC-1", &app.agent)
        .header("if-match", "\"7\"")
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert_problem(stale, StatusCode::PRECONDITION_FAILED, "version_mismatch").await;
    let unchanged: Value = app
        .get("/api/v1/escalations/ESC-1", &app.agent)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            unchanged["version"].as_i64(),
            unchanged["priority"].as_str()
        ),
        (Some(1), Some("P1")),
        "a refused PATCH changes nothing"
    );

    let ok = app
        .request(Method::PATCH, "/api/v1/escalations/ESC-1", &app.agent)
        .header("if-match", "\"1\"")
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()["etag"], "\"2\"");
    let updated: Value = ok.json().await.unwrap();
    assert_eq!(
        (updated["priority"].as_str(), updated["assignee"].as_str()),
        (Some("P0"), Some("aiko@example.com"))
    );
    let timeline: Value = app
        .get("/api/v1/escalations/ESC-1/timeline", &app.agent)
        .await
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = timeline
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["created", "field_changed", "field_changed", "assigned"]
    );

    let nobody = app
        .request(Method::PATCH, "/api/v1/escalations/ESC-1", &app.agent)
        .header("if-match", "\"2\"")
        .json(&json!({"assignee": "ghost@example.com"}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(
        nobody,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "assignee");
}

async fn transitions_follow_the_lifecycle(app: TestApp) {
    app.file(&app.agent, police_case("lifecycle")).await;
    let illegal = app
        .post(
            "/api/v1/escalations/ESC-1/transitions",
            &app.agent,
            &json!({"to": "closed"}),
        )
        .await;
    let problem = assert_problem(illegal, StatusCode::CONFLICT, "invalid_transition").await;
    assert_eq!(
        problem["allowed"],
        json!(["triaged", "investigating", "resolved"])
    );
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("triaged, investigating, resolved")
    );
    for to in [
        "triaged",
        "investigating",
        "resolved",
        "closed",
        "investigating",
    ] {
        // Resolving is the one move that records a decision.
        let response = if to == "resolved" {
            let bare = app
                .post(
                    "/api/v1/escalations/ESC-1/transitions",
                    &app.agent,
                    &json!({"to": to}),
                )
                .await;
            assert_problem(bare, StatusCode::UNPROCESSABLE_ENTITY, "decision_required").await;
            app.post(
                "/api/v1/escalations/ESC-1/decision",
                &app.agent,
                &json!({"outcome": "removed"}),
            )
            .await
        } else {
            app.post(
                "/api/v1/escalations/ESC-1/transitions",
                &app.agent,
                &json!({"to": to, "reason": "test"}),
            )
            .await
        };
        assert_eq!(response.status(), StatusCode::OK, "to {to}");
    }
    let timeline: Value = app
        .get("/api/v1/escalations/ESC-1/timeline", &app.agent)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        timeline.as_array().unwrap().last().unwrap()["kind"],
        "reopened"
    );
    let unknown = app
        .post(
            "/api/v1/escalations/ESC-1/transitions",
            &app.agent,
            &json!({"to": "done"}),
        )
        .await;
    assert_problem(
        unknown,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
}

async fn subjects_are_normalised_and_not_duplicated(app: TestApp) {
    app.file(&app.agent, police_case("subjects")).await;
    let same = json!({"kind": "account", "surface": "social", "url": "http://www.social.example/taro/?utm_source=x"});
    let duplicate = app
        .post("/api/v1/escalations/ESC-1/subjects", &app.agent, &same)
        .await;
    assert_problem(
        duplicate,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let new = json!({"kind": "post", "surface": "video", "external_id": "998877"});
    let added: Value = app
        .post("/api/v1/escalations/ESC-1/subjects", &app.agent, &new)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(added["subjects"][1]["normalized_key"], "video:post:998877");
    let bad_surface = json!({"kind": "post", "surface": "hologram", "external_id": "1"});
    let problem = assert_problem(
        app.post(
            "/api/v1/escalations/ESC-1/subjects",
            &app.agent,
            &bad_surface,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "surface");
}

async fn evidence_is_sniffed_stored_and_downloaded(app: TestApp) {
    app.file(&app.police, police_case("evidence")).await;
    let path = "/api/v1/escalations/ESC-1/evidence";
    let response = app
        .request(Method::POST, path, &app.agent)
        .multipart(upload(
            PNG.to_vec(),
            "screen.png",
            "image/png",
            &[("sensitive", "true")],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let escalation: Value = response.json().await.unwrap();
    let evidence = &escalation["evidence"][0];
    assert_eq!(
        (
            evidence["sniffed_type"].as_str(),
            evidence["sensitive"].as_bool(),
            evidence["visibility"].as_str()
        ),
        (Some("image/png"), Some(true), Some("internal"))
    );
    let download = app.get(&format!("{path}/ev-1"), &app.agent).await;
    assert_eq!(download.headers()["x-content-type-options"], "nosniff");
    assert!(
        download.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(download.bytes().await.unwrap().as_ref(), PNG);

    let lie = app
        .request(Method::POST, path, &app.agent)
        .multipart(upload(
            b"MZ\x90\x00 not an image".to_vec(),
            "cat.png",
            "image/png",
            &[],
        ))
        .send()
        .await
        .unwrap();
    assert_problem(lie, StatusCode::UNPROCESSABLE_ENTITY, "media_type_mismatch").await;
    let huge = app
        .request(Method::POST, path, &app.agent)
        .multipart(upload(
            vec![b'a'; MAX_UPLOAD + 1],
            "big.txt",
            "text/plain",
            &[],
        ))
        .send()
        .await
        .unwrap();
    assert_problem(huge, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;

    // The partner uploads its own (always partner-visible) file, and never sees the internal one.
    let mine = app
        .request(Method::POST, path, &app.police)
        .multipart(upload(
            b"order text".to_vec(),
            "order.txt",
            "text/plain",
            &[],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(mine.status(), StatusCode::CREATED);
    let seen: Value = app
        .get("/api/v1/escalations/ESC-1", &app.police)
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = seen["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ev-2"]);
    assert_problem(
        app.get(&format!("{path}/ev-1"), &app.police).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(
        app.get(&format!("{path}/ev-2"), &app.police)
            .await
            .bytes()
            .await
            .unwrap()
            .as_ref(),
        b"order text"
    );
}

async fn a_retried_post_with_the_same_key_creates_nothing(app: TestApp) {
    let body = police_case("retry me");
    let send = |body: &Value, key: &str| {
        app.request(Method::POST, "/api/v1/escalations", &app.agent)
            .header("idempotency-key", key)
            .json(body)
            .send()
    };
    let first = send(&body, "abc-123").await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first_body = first.text().await.unwrap();
    let again = send(&body, "abc-123").await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()["location"], "/api/v1/escalations/ESC-1");
    assert_eq!(again.text().await.unwrap(), first_body);
    assert_eq!(app.escalation_count().await, 1, "a replay creates nothing");
    let other = send(&police_case("something else"), "abc-123")
        .await
        .unwrap();
    assert_problem(
        other,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
    assert_eq!(app.escalation_count().await, 1);
    let comment = json!({"body": "once", "visibility": "internal"});
    for _ in 0..2 {
        let r = app
            .request(
                Method::POST,
                "/api/v1/escalations/ESC-1/comments",
                &app.agent,
            )
            .header("idempotency-key", "c-1")
            .json(&comment)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let timeline: Value = app
        .get("/api/v1/escalations/ESC-1/timeline", &app.agent)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        timeline.as_array().unwrap().len(),
        2,
        "one created event and one comment"
    );
}
