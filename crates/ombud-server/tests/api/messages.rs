//! Email to partners from templates, over a real SMTP conversation.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, on_both_backends, police_case};

on_both_backends!(partners_get_acknowledgements_and_replies_by_email);

fn template(code: &str) -> Value {
    json!({
        "code": code, "name": code, "fallback_language": "en",
        "variants": {
            "en": {"subject": "Received: {{title}}", "body": "Dear {{partner_name}}, we opened {{key}}."},
            "ja": {"subject": "受付: {{title}}", "body": "{{partner_name}} 御中\n{{key}} として受け付けました。"}
        }
    })
}

async fn partners_get_acknowledgements_and_replies_by_email(app: TestApp) {
    let mut bad = template("broken");
    bad["variants"]["ja"]["body"] = json!("{{ticket}}");
    let refused = app.put("/api/v1/templates/broken", &app.admin, &bad).await;
    let problem = assert_problem(
        refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(
        problem.to_string().contains("variants.ja.body"),
        "{problem}"
    );

    let contacts = json!({"contacts": [{"name": "Cyber desk", "email": "desk@police.example.jp"}]});
    let patched = app
        .request(Method::PATCH, "/api/v1/partners/jp-police", &app.admin)
        .header("if-match", "\"1\"")
        .json(&contacts)
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    for code in ["acknowledgement", "update"] {
        assert_eq!(
            app.put(
                &format!("/api/v1/templates/{code}"),
                &app.admin,
                &template(code)
            )
            .await
            .status(),
            StatusCode::CREATED
        );
    }

    // Intake acknowledges by email, in the partner's language, with the key
    // in the subject and the Message-ID for threading.
    app.file(&app.agent, police_case("乗っ取り")).await;
    let sent = app.smtp.received();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].contains("desk@police.example.jp"), "{}", sent[0]);
    assert!(sent[0].contains("Message-ID: <esc-1."), "{}", sent[0]);
    let timeline: Vec<Value> = app
        .get("/api/v1/escalations/ESC-1/timeline", &app.police)
        .await
        .json()
        .await
        .unwrap();
    let archived = timeline
        .iter()
        .find(|e| e["kind"] == "message_sent")
        .expect("archived");
    assert_eq!(archived["data"]["subject"], "[ESC-1] 受付: 乗っ取り");
    assert_eq!(
        archived["data"]["body"],
        "jp-police 御中\nESC-1 として受け付けました。"
    );

    // A preview sends nothing; sending archives exactly what went out.
    let preview: Value = app
        .post(
            "/api/v1/escalations/ESC-1/messages/preview",
            &app.agent,
            &json!({"template": "update"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(preview["to"], json!(["desk@police.example.jp"]));
    assert_eq!(app.smtp.received().len(), 1);
    let sent = app
        .post(
            "/api/v1/escalations/ESC-1/messages",
            &app.agent,
            &json!({"template": "update"}),
        )
        .await;
    assert_eq!(sent.status(), StatusCode::CREATED);
    assert_eq!(app.smtp.received().len(), 2);
    let timeline: Vec<Value> = app
        .get("/api/v1/escalations/ESC-1/timeline", &app.agent)
        .await
        .json()
        .await
        .unwrap();
    let last = timeline.last().unwrap();
    assert_eq!(
        (&last["kind"], &last["data"]["subject"]),
        (&json!("message_sent"), &preview["subject"])
    );

    let stranger = app
        .post(
            "/api/v1/escalations/ESC-1/messages",
            &app.agent,
            &json!({"template": "update", "to": ["someone@elsewhere.example"]}),
        )
        .await;
    assert_problem(
        stranger,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let unknown = app
        .post(
            "/api/v1/escalations/ESC-1/messages",
            &app.agent,
            &json!({"template": "nope"}),
        )
        .await;
    assert_problem(
        unknown,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        app.smtp.received().len(),
        2,
        "refused requests send nothing"
    );
}
