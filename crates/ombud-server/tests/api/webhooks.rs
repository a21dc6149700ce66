//! Webhooks: signed deliveries to a real receiver on loopback, retried with
//! backoff, logged.

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode as AxumStatus};
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::{TestApp, assert_problem, on_both_backends, police_case};

on_both_backends!(deliveries_are_signed_retried_and_logged);

const SECRET: &str = "s3cret-shared-with-the-siem";

/// What a receiver was sent: each request's headers and body.
pub type Received = Arc<Mutex<Vec<(HeaderMap, String)>>>;

/// A receiver on 127.0.0.1 that fails its first `failures` requests and
/// accepts the rest, keeping what it was sent.
pub async fn receiver(failures: usize) -> (String, Received) {
    let received: Received = Arc::default();
    let kept = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let kept = kept.clone();
            async move {
                let mut all = kept.lock().unwrap();
                all.push((headers, body));
                if all.len() <= failures {
                    AxumStatus::INTERNAL_SERVER_ERROR
                } else {
                    AxumStatus::NO_CONTENT
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

pub async fn deliver(app: &TestApp) {
    ombud_server::webhooks::deliver_webhooks(&app.state)
        .await
        .expect("deliver");
}

async fn deliveries_are_signed_retried_and_logged(app: TestApp) {
    let (url, received) = receiver(1).await;
    let subscription = json!({"code": "siem", "url": url, "secret": SECRET,
        "event_types": ["created", "status_changed"]});
    assert_eq!(
        app.put("/api/v1/webhooks/siem", &app.admin, &subscription)
            .await
            .status(),
        StatusCode::CREATED
    );
    let listed: Vec<Value> = app
        .get("/api/v1/webhooks", &app.admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["code"], "siem");
    assert!(
        listed[0].get("secret").is_none(),
        "secrets are write-only: {listed:?}"
    );
    let mut weak = subscription.clone();
    weak["secret"] = json!("short");
    weak["code"] = json!("weak");
    assert_problem(
        app.put("/api/v1/webhooks/weak", &app.admin, &weak).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;

    app.file(&app.agent, police_case("hooked")).await;
    let note = json!({"body": "not subscribed", "visibility": "internal"});
    app.post("/api/v1/escalations/ESC-1/comments", &app.agent, &note)
        .await;

    // First attempt fails: the delivery waits 30 s.
    deliver(&app).await;
    assert_eq!(received.lock().unwrap().len(), 1);
    let log: Vec<Value> = app
        .get("/api/v1/webhooks/siem/deliveries", &app.admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(log.len(), 1, "only the subscribed event: {log:?}");
    assert_eq!(
        (
            &log[0]["state"],
            &log[0]["attempts"],
            &log[0]["last_status"]
        ),
        (&json!("pending"), &json!(1), &json!(500))
    );
    assert_eq!(log[0]["next_attempt_at"], "2026-11-25T09:00:30Z");
    deliver(&app).await;
    assert_eq!(received.lock().unwrap().len(), 1, "not before its time");

    app.clock.set("2026-11-25T09:00:30Z".parse().unwrap());
    deliver(&app).await;
    let log: Vec<Value> = app
        .get("/api/v1/webhooks/siem/deliveries", &app.admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (&log[0]["state"], &log[0]["attempts"]),
        (&json!("delivered"), &json!(2))
    );

    let all = received.lock().unwrap().clone();
    assert_eq!(all.len(), 2);
    let (headers, body) = &all[1];
    let payload: Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        (&payload["type"], &payload["escalation"]),
        (&json!("created"), &json!("ESC-1"))
    );
    assert_eq!(
        headers["ombud-event-id"].to_str().unwrap(),
        payload["id"].to_string()
    );
    // The signature is an HMAC-SHA256 of "<t>.<body>" under the secret.
    let signature = headers["ombud-signature"].to_str().unwrap();
    let (t, v1) = signature
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
        .expect("t=…,v1=…");
    assert_eq!(t, "1795597230", "2026-11-25T09:00:30Z, when it was sent");
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    assert_eq!(v1, hex::encode(mac.finalize().into_bytes()));
    // A retry sends the same event with the same id, for receivers to drop copies.
    assert_eq!(all[0].1, all[1].1);
    assert_eq!(all[0].0["ombud-event-id"], all[1].0["ombud-event-id"]);
}
