//! Email to partners from templates, over a real SMTP conversation.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, on_both_backends, police_case};

on_both_backends!(
    partners_get_acknowledgements_and_replies_by_email,
    an_acknowledgement_the_relay_refused_is_sent_later_once
);

fn template(code: &str) -> Value {
    json!({
        "code": code, "name": code, "fallback_language": "en",
        "variants": {
            "en": {"subject": "Received: {{title}}", "body": "Dear {{partner_name}}, we opened {{key}}."},
            "ja": {"subject": "受付: {{title}}", "body": "{{partner_name}} 御中\n{{key}} として受け付けました。"}
        }
    })
}

pub async fn give_the_police_a_desk_and_templates(app: &TestApp) {
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

    give_the_police_a_desk_and_templates(&app).await;

    // Intake acknowledges by email, in the partner's language, with the key
    // in the subject and the Message-ID for threading.
    app.file(&app.agent, police_case("乗っ取り")).await;
    let sent = app.smtp.received();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].contains("desk@police.example.jp"), "{}", sent[0]);
    assert!(sent[0].contains("Message-ID: <esc-1."), "{}", sent[0]);
    let timeline = app.timeline("ESC-1", &app.police).await;
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
    let timeline = app.timeline("ESC-1", &app.agent).await;
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

async fn an_acknowledgement_the_relay_refused_is_sent_later_once(app: TestApp) {
    give_the_police_a_desk_and_templates(&app).await;
    let policy = json!({"code": "standard", "name": "Standard", "basis": "calendar",
        "targets": {"acknowledgement": "PT1H", "first_response": "PT4H", "resolution": "P3D"}});
    let created = app
        .put("/api/v1/sla-policies/standard", &app.admin, &policy)
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    app.smtp.refuse(true);
    let filed = app.file(&app.agent, police_case("乗っ取り")).await;
    assert_eq!(filed["status"], "new", "the case stands without its email");
    let kinds = |timeline: &[Value]| -> Vec<String> {
        timeline
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_string())
            .collect()
    };
    let timeline = app.timeline("ESC-1", &app.agent).await;
    let failed = timeline
        .iter()
        .find(|e| e["kind"] == "message_failed")
        .expect("the failure is in the timeline");
    assert!(
        failed["data"]["error"].as_str().unwrap().contains("451"),
        "{failed}"
    );
    assert!(!kinds(&timeline).contains(&"message_sent".to_string()));
    let police_view = app.timeline("ESC-1", &app.police).await;
    assert!(!kinds(&police_view).contains(&"message_failed".to_string()));

    // Still refused: the retry fails and is scheduled again with backoff.
    ombud_server::webhooks::deliver_webhooks(&app.state)
        .await
        .unwrap();
    assert!(app.smtp.received().is_empty());
    // The relay is back: after the backoff the acknowledgement goes out,
    // meets the acknowledgement clock, and is archived once.
    app.smtp.refuse(false);
    ombud_server::webhooks::deliver_webhooks(&app.state)
        .await
        .unwrap();
    assert!(app.smtp.received().is_empty(), "not before the backoff");
    app.clock.advance(jiff::SignedDuration::from_secs(61));
    ombud_server::webhooks::deliver_webhooks(&app.state)
        .await
        .unwrap();
    let sent = app.smtp.received();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].contains("ESC-1"), "{}", sent[0]);
    app.clock.advance(jiff::SignedDuration::from_secs(3600));
    ombud_server::webhooks::deliver_webhooks(&app.state)
        .await
        .unwrap();
    assert_eq!(app.smtp.received().len(), 1, "sent once");
    let timeline = app.timeline("ESC-1", &app.agent).await;
    let archived = timeline
        .iter()
        .find(|e| e["kind"] == "message_sent")
        .expect("archived");
    assert_eq!(archived["data"]["automatic"], true);
    let escalation: Value = app
        .get("/api/v1/escalations/ESC-1", &app.agent)
        .await
        .json()
        .await
        .unwrap();
    let policy_clocks: Vec<(&Value, bool)> = escalation["clocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["source"]["id"] == "standard")
        .map(|c| (&c["kind"], !c["stopped_at"].is_null()))
        .collect();
    assert_eq!(
        policy_clocks,
        [
            (&json!("acknowledgement"), true),
            (&json!("first_response"), false),
            (&json!("resolution"), false)
        ],
        "a machine's receipt is not a first response"
    );
}
