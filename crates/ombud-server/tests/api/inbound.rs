//! Inbound email: real multipart messages in several languages and
//! encodings, threaded, created, refused or dropped.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, on_both_backends};

on_both_backends!(emails_thread_onto_cases_or_open_new_ones_and_never_loop);

const DESK: &str = "desk@police.example.jp";

async fn receive(app: &TestApp, raw: &str) -> reqwest::Response {
    app.request(Method::POST, "/api/v1/mail/inbound", &app.admin)
        .header("content-type", "message/rfc822")
        .body(raw.replace('\n', "\r\n"))
        .send()
        .await
        .expect("POST")
}

async fn timeline(app: &TestApp, key: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/escalations/{key}/timeline"), &app.agent)
        .await
        .json()
        .await
        .unwrap()
}

/// A new report: Japanese subject as an RFC 2047 encoded word, a text part
/// and a PNG attachment.
fn new_report(from: &str, extra_headers: &str) -> String {
    format!(
        "From: Cyber Desk <{from}>
To: escalations@ombud.test
Subject: =?UTF-8?B?44Ki44Kr44Km44Oz44OI5LmX44Gj5Y+W44KK44Gu5aCx5ZGK?=
Message-ID: <report-1@police.example.jp>
Date: Wed, 25 Nov 2026 18:00:00 +0900
{extra_headers}MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=\"b1\"

--b1
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

有名人のアカウントが乗っ取られました。
--b1
Content-Type: image/png; name=\"screen.png\"
Content-Disposition: attachment; filename=\"screen.png\"
Content-Transfer-Encoding: base64

iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==
--b1--
"
    )
}

async fn emails_thread_onto_cases_or_open_new_ones_and_never_loop(app: TestApp) {
    let contacts = json!({"contacts": [{"name": "Cyber desk", "email": DESK}]});
    let patched = app
        .request(Method::PATCH, "/api/v1/partners/jp-police", &app.admin)
        .header("if-match", "\"1\"")
        .json(&contacts)
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);

    // A known contact opens a case; the attachment becomes evidence.
    let created = receive(&app, &new_report(DESK, "")).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    assert_eq!(
        (&created["outcome"], &created["escalation"]),
        (&json!("created"), &json!("ESC-1"))
    );
    let case: Value = app
        .get("/api/v1/escalations/ESC-1", &app.agent)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(case["title"], "アカウント乗っ取りの報告");
    assert_eq!(case["channel"], "email");
    assert_eq!(case["partner"], "jp-police");
    assert_eq!(case["evidence"][0]["filename"], "screen.png");
    assert_eq!(case["evidence"][0]["sniffed_type"], "image/png");

    // A reply with the key in the subject; Thai, quoted-printable.
    for to in ["triaged", "awaiting_partner"] {
        app.post(
            "/api/v1/escalations/ESC-1/transitions",
            &app.agent,
            &json!({"to": to}),
        )
        .await;
    }
    let thai = format!(
        "From: {DESK}
Subject: Re: [ESC-1] update
Message-ID: <reply-2@police.example.jp>
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

=E0=B8=82=E0=B8=AD=E0=B8=9A=E0=B8=84=E0=B8=B8=E0=B8=93
"
    );
    let threaded: Value = receive(&app, &thai).await.json().await.unwrap();
    assert_eq!(
        (&threaded["outcome"], &threaded["escalation"]),
        (&json!("threaded"), &json!("ESC-1"))
    );
    let events = timeline(&app, "ESC-1").await;
    let received = events
        .iter()
        .find(|e| e["kind"] == "message_received")
        .unwrap();
    assert_eq!(received["data"]["body"], "ขอบคุณ");
    let case: Value = app
        .get("/api/v1/escalations/ESC-1", &app.agent)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        case["status"], "investigating",
        "the reply ends the wait on the partner"
    );

    // A reply found by References to one of Ombud's Message-IDs; Latin-1.
    let latin = format!(
        "From: {DESK}
Subject: Re: your message
In-Reply-To: <esc-1.0f3a@ombud.test>
References: <esc-1.0f3a@ombud.test>
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Merci, d=E9j=E0 fait.
"
    );
    let threaded: Value = receive(&app, &latin).await.json().await.unwrap();
    assert_eq!(threaded["escalation"], "ESC-1");
    let events = timeline(&app, "ESC-1").await;
    assert!(
        events
            .iter()
            .any(|e| e["data"]["body"] == "Merci, déjà fait."),
        "{events:?}"
    );

    // Strangers are refused, clearly, and nothing is created.
    let stranger = receive(&app, &new_report("someone@elsewhere.example", "")).await;
    let problem =
        assert_problem(stranger, StatusCode::UNPROCESSABLE_ENTITY, "unknown_sender").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("someone@elsewhere.example")
    );
    assert_eq!(app.escalation_count().await, 1);

    // Bounces are dropped.
    let bounce = "From: MAILER-DAEMON@mx.police.example.jp
Subject: Undelivered Mail Returned to Sender
Content-Type: multipart/report; report-type=delivery-status; boundary=\"r\"

--r
Content-Type: text/plain

The mail could not be delivered.
--r--
";
    let dropped = receive(&app, bounce).await;
    assert_eq!(dropped.status(), StatusCode::ACCEPTED);
    assert_eq!(app.escalation_count().await, 1);

    // With an acknowledgement template, a person's report is answered, an
    // auto-reply's is not.
    let ack = json!({"code": "acknowledgement", "name": "Ack", "fallback_language": "en",
        "variants": {"en": {"subject": "Received", "body": "We opened {{key}}."}}});
    app.put("/api/v1/templates/acknowledgement", &app.admin, &ack)
        .await;
    let before = app.smtp.received().len();
    let robot =
        new_report(DESK, "Auto-Submitted: auto-replied\n").replace("report-1@", "report-3@");
    assert_eq!(receive(&app, &robot).await.status(), StatusCode::CREATED);
    assert_eq!(
        app.smtp.received().len(),
        before,
        "no answer to an auto-reply"
    );
    let person = new_report(DESK, "").replace("report-1@", "report-4@");
    assert_eq!(receive(&app, &person).await.status(), StatusCode::CREATED);
    assert_eq!(app.smtp.received().len(), before + 1);
}
