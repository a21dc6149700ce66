//! Intake spikes: weeks of steady intake planted through the API with past
//! arrival times, a burst in one hour, and the worker driven by hand on the
//! injected clock. One alert, announced by webhook, email and the console,
//! one link from exactly the escalations behind it.

use jiff::{SignedDuration, Timestamp};
use ombud_domain::Role;
use ombud_domain::emerging::segments::Segment;
use ombud_domain::emerging::spikes::Granularity;
use ombud_store::NewSpikeAlert;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::console::{Browser, add_user, location};
use crate::helpers::{TestApp, assert_problem, on_both_backends, police_case};
use crate::webhooks::{deliver, receiver};

on_both_backends!(
    a_burst_in_one_hour_is_one_alert_with_its_escalations_one_click_away,
    steady_intake_raises_no_alert,
    spikes_missed_while_no_node_ran_are_caught_up_a_week_back,
    bad_spike_rules_are_refused_and_change_nothing,
    spike_alerts_are_filtered_and_paged_like_escalations,
);

fn ts(text: &str) -> Timestamp {
    text.parse().expect("time")
}

const WEEK: SignedDuration = SignedDuration::from_hours(7 * 24);

/// The hour that closed when the test app's clock starts (Wednesday
/// 2026-11-25 09:00 UTC).
pub fn burst_hour() -> Timestamp {
    ts("2026-11-25T08:00:00Z")
}

/// A takeover report from the Japanese police about a social account.
pub fn takeover(received: Timestamp) -> Value {
    let mut case = police_case("Account taken over");
    case["received_at"] = json!(received);
    case
}

/// A scam ad reported from Thailand: another segment.
fn scam_ad(received: Timestamp) -> Value {
    json!({
        "type": "scams_fraud", "partner": "th-ministry", "title": "Scam ad",
        "country": "TH", "language": "th", "received_at": received,
        "subjects": [{"kind": "ad", "surface": "ads", "external_id": "991"}]
    })
}

/// Files `count` escalations of `case`, received a few minutes apart from
/// `start`; returns their keys.
pub async fn file(
    app: &TestApp,
    case: fn(Timestamp) -> Value,
    start: Timestamp,
    count: i64,
) -> Vec<String> {
    let mut keys = Vec::new();
    for i in 0..count {
        let received = start + SignedDuration::from_mins(4 * i + 1);
        let filed = app.file(&app.agent, case(received)).await;
        keys.push(filed["key"].as_str().unwrap().to_string());
    }
    keys
}

/// Four weeks of the same hour: two takeovers and three scam ads each.
pub async fn plant_steady_weeks(app: &TestApp) {
    for weeks in 1..=4 {
        let hour = burst_hour() - WEEK * weeks;
        file(app, takeover, hour, 2).await;
        file(app, scam_ad, hour, 3).await;
    }
}

pub async fn evaluate(app: &TestApp, after: &str) -> Vec<ombud_store::SpikeAlert> {
    ombud_server::spikes::evaluate_closed(&app.state, ts(after))
        .await
        .expect("evaluate")
        .raised
}

async fn json_of(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("json")
}

async fn a_burst_in_one_hour_is_one_alert_with_its_escalations_one_click_away(app: TestApp) {
    add_user(&app, "lead@example.com", Role::Manager, None).await;
    let (url, received) = receiver(0).await;
    let subscription = json!({"code": "siem", "url": url, "secret": "s3cret-shared-with-the-siem",
        "event_types": ["spike_detected"]});
    assert_eq!(
        app.put("/api/v1/webhooks/siem", &app.admin, &subscription)
            .await
            .status(),
        StatusCode::CREATED
    );
    // Three weeks of baseline, not the four planted.
    let rule = json!({"threshold": 4.0, "min_count": 5, "min_excess": 3, "weeks": 3});
    assert_eq!(
        app.put("/api/v1/emerging/spike-rule", &app.admin, &rule)
            .await
            .status(),
        StatusCode::CREATED
    );
    plant_steady_weeks(&app).await;
    let burst = file(&app, takeover, burst_hour(), 12).await;
    file(&app, scam_ad, burst_hour(), 3).await;

    // The worker last looked at 08:30; the hour closed at 09:00.
    let raised = evaluate(&app, "2026-11-25T08:30:00Z").await;
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert!(
        evaluate(&app, "2026-11-25T08:30:00Z").await.is_empty(),
        "a second evaluation of the hour claims nothing"
    );

    let page = json_of(app.get("/api/v1/emerging/spikes", &app.agent).await).await;
    let alerts = page["items"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{page}");
    let alert = &alerts[0];
    assert_eq!(
        alert["segment"],
        json!({"type": "account_access", "surface": "social", "country": "JP", "policy": null})
    );
    assert_eq!(
        (
            &alert["granularity"],
            &alert["bucket_start"],
            &alert["bucket_end"],
            &alert["count"],
            &alert["baseline"],
            &alert["samples"],
        ),
        (
            &json!("hour"),
            &json!("2026-11-25T08:00:00Z"),
            &json!("2026-11-25T09:00:00Z"),
            &json!(12),
            &json!(2.0),
            &json!(3),
        )
    );
    // Median 2, no spread: the floor √2 divides the excess of 10.
    let score = alert["score"].as_f64().unwrap();
    assert!((score - 10.0 / 2f64.sqrt()).abs() < 1e-9, "{score}");
    assert_eq!(alert["acknowledged"], Value::Null);
    let id = alert["id"].as_i64().unwrap();
    assert_eq!(
        json_of(
            app.get(&format!("/api/v1/emerging/spikes/{id}"), &app.agent)
                .await
        )
        .await,
        *alert
    );

    // The link is the escalation list's own filter: exactly the burst.
    let link = alert["escalations"].as_str().unwrap();
    let listed = json_of(app.get(link, &app.agent).await).await;
    let mut keys: Vec<String> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap().to_string())
        .collect();
    keys.sort();
    let mut expected = burst.clone();
    expected.sort();
    assert_eq!(keys, expected, "{link}");

    // A webhook, signed and delivered through the outbox.
    deliver(&app).await;
    let sent = received.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    let payload: Value = serde_json::from_str(&sent[0].1).unwrap();
    assert_eq!(payload["type"], "spike_detected");
    assert_eq!(payload["alert"], *alert);
    assert!(sent[0].0.contains_key("ombud-signature"));
    let log = json_of(
        app.get("/api/v1/webhooks/siem/deliveries", &app.admin)
            .await,
    )
    .await;
    assert_eq!(
        (
            &log[0]["spike_alert"],
            &log[0]["escalation"],
            &log[0]["state"]
        ),
        (&json!(id), &Value::Null, &json!("delivered"))
    );
    // An email to the managers.
    let mail = app.smtp.received();
    assert_eq!(mail.len(), 1, "{mail:?}");
    // Long lines travel quoted-printable: soft breaks and `=3D` for `=`.
    let text = mail[0].replace("=\n", "").replace("=3D", "=");
    assert!(
        text.contains("To: lead@example.com")
            && text.contains("Subject: Intake spike: account_access on social in JP, any policy")
            && text.contains("12 escalations of account_access")
            && text.contains(alert["console"].as_str().unwrap()),
        "{text}"
    );
    deliver(&app).await;
    assert_eq!(
        (received.lock().unwrap().len(), app.smtp.received().len()),
        (1, 1),
        "each is sent once"
    );

    // In the console: the managers' work list says so, the emerging page
    // lists it with its link, and a manager acknowledges it there.
    let mut lead = Browser::new(&app);
    let csrf = lead.sign_in("lead@example.com", "/console").await;
    let work = lead.get("/console").await.text().await.unwrap();
    assert!(work.contains("1 intake spike</a> waiting"), "{work}");
    let page = lead.get("/console/emerging").await.text().await.unwrap();
    let console_link = alert["console"].as_str().unwrap();
    assert!(
        page.contains(&console_link.replace('&', "&#38;"))
            && page.contains("12 escalations")
            && page.contains(&format!("/console/emerging/spikes/{id}/acknowledge")),
        "{page}"
    );
    let list = lead.get(console_link).await;
    assert_eq!(list.status(), StatusCode::OK);
    let list = list.text().await.unwrap();
    for key in &burst {
        assert!(
            list.contains(&format!("/console/escalations/{key}\"")),
            "{key}"
        );
    }
    assert_eq!(
        list.matches("/console/escalations/ESC-").count(),
        burst.len()
    );
    let acknowledged = lead
        .post(
            &format!("/console/emerging/spikes/{id}/acknowledge"),
            &[("csrf", csrf.as_str())],
        )
        .await;
    assert_eq!(acknowledged.status(), StatusCode::SEE_OTHER);
    assert!(location(&acknowledged).starts_with("/console/emerging?notice="));
    let work = lead.get("/console").await.text().await.unwrap();
    assert!(!work.contains("intake spike"));

    // Through the API: agents may not, managers may, and the first stands.
    let path = format!("/api/v1/emerging/spikes/{id}/acknowledge");
    assert_problem(
        app.post(&path, &app.agent, &json!({})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let again = json_of(
        app.request(Method::POST, &path, &app.admin)
            .header("idempotency-key", "ack-1")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(again["acknowledged"]["name"], "Mika Tanaka");
    let waiting = json_of(
        app.get("/api/v1/emerging/spikes?acknowledged=false", &app.agent)
            .await,
    )
    .await;
    assert_eq!(waiting["items"], json!([]));
    assert_problem(
        app.post(
            "/api/v1/emerging/spikes/999/acknowledge",
            &app.admin,
            &json!({}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_problem(
        app.get("/api/v1/emerging/spikes", &app.police).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

async fn steady_intake_raises_no_alert(app: TestApp) {
    let (url, received) = receiver(0).await;
    let subscription = json!({"code": "all", "url": url, "secret": "s3cret-shared-with-the-siem",
        "event_types": ["spike_detected"]});
    app.put("/api/v1/webhooks/all", &app.admin, &subscription)
        .await;
    plant_steady_weeks(&app).await;
    file(&app, takeover, burst_hour(), 2).await;
    file(&app, scam_ad, burst_hour(), 4).await;
    // Two days later: the burst hour, and the day it was in, have closed.
    app.clock.set(ts("2026-11-27T00:30:00Z"));
    assert!(evaluate(&app, "2026-11-25T08:30:00Z").await.is_empty());
    // After a long downtime the last week is looked at, and holds nothing
    // either.
    assert!(evaluate(&app, "2020-01-01T00:00:00Z").await.is_empty());
    let page = json_of(app.get("/api/v1/emerging/spikes", &app.agent).await).await;
    assert_eq!(page["items"], json!([]));
    deliver(&app).await;
    assert!(received.lock().unwrap().is_empty());
}

async fn spikes_missed_while_no_node_ran_are_caught_up_a_week_back(app: TestApp) {
    plant_steady_weeks(&app).await;
    // A burst a week ago, and one in the hour that closed at start.
    file(&app, takeover, burst_hour() - WEEK, 12).await;
    file(&app, takeover, burst_hour(), 12).await;
    // No node ran for three days.
    app.clock.set(burst_hour() + SignedDuration::from_hours(72));
    let mut raised: Vec<(Granularity, Timestamp, u64)> = evaluate(&app, "2026-11-01T00:00:00Z")
        .await
        .into_iter()
        .map(|a| (a.alert.granularity, a.alert.bucket, a.alert.count))
        .collect();
    raised.sort_by_key(|(_, bucket, _)| *bucket);
    assert_eq!(
        raised,
        [
            (Granularity::Day, ts("2026-11-25T00:00:00Z"), 12),
            (Granularity::Hour, burst_hour(), 12),
        ],
        "the hour and its day, but not last week's burst, ten days back"
    );
    assert!(evaluate(&app, "2026-11-01T00:00:00Z").await.is_empty());
}

async fn bad_spike_rules_are_refused_and_change_nothing(app: TestApp) {
    let default = json_of(app.get("/api/v1/emerging/spike-rule", &app.agent).await).await;
    assert_eq!(
        default,
        json!({"threshold": 4.0, "min_count": 5, "min_excess": 3, "weeks": 8})
    );
    let bad = json!({"threshold": 0.5, "min_count": 0, "min_excess": 3, "weeks": 2});
    let problem = assert_problem(
        app.put("/api/v1/emerging/spike-rule", &app.admin, &bad)
            .await,
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
    assert_eq!(fields, ["threshold", "min_count", "weeks"]);
    assert_problem(
        app.put(
            "/api/v1/emerging/spike-rule",
            &app.admin,
            &json!({"treshold": 5.0}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_problem(
        app.put("/api/v1/emerging/spike-rule", &app.agent, &default)
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let unchanged = app.get("/api/v1/emerging/spike-rule", &app.agent).await;
    assert!(
        unchanged.headers().get("etag").is_none(),
        "still none stored"
    );
    assert_eq!(json_of(unchanged).await, default);

    let stricter = json!({"threshold": 6.0, "min_count": 10, "min_excess": 5, "weeks": 4});
    let created = app
        .put("/api/v1/emerging/spike-rule", &app.admin, &stricter)
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let etag = created.headers()["etag"].to_str().unwrap().to_string();
    let read = app.get("/api/v1/emerging/spike-rule", &app.agent).await;
    assert_eq!(read.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(json_of(read).await, stricter);
    let stale = app
        .request(Method::PUT, "/api/v1/emerging/spike-rule", &app.admin)
        .header("if-match", "\"99\"")
        .json(&default)
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(
        json_of(app.get("/api/v1/emerging/spike-rule", &app.agent).await).await,
        stricter
    );
}

async fn spike_alerts_are_filtered_and_paged_like_escalations(app: TestApp) {
    let segment = |country: &str, policy: Option<&str>| Segment {
        escalation_type: "account_access".into(),
        surface: "(none)".into(),
        country: country.into(),
        policy: policy.map(String::from),
    };
    let mut ids = Vec::new();
    for (segment, granularity, bucket) in [
        (
            segment("JP", None),
            Granularity::Day,
            "2026-11-23T00:00:00Z",
        ),
        (
            segment("JP", Some("spam")),
            Granularity::Hour,
            "2026-11-24T10:00:00Z",
        ),
        (
            segment("TH", None),
            Granularity::Hour,
            "2026-11-24T11:00:00Z",
        ),
    ] {
        let alert = NewSpikeAlert {
            segment,
            granularity,
            bucket: ts(bucket),
            count: 9,
            baseline: 1.0,
            spread: 1.0,
            score: 8.0,
            samples: 8,
            created_at: ts("2026-11-25T09:00:00Z"),
        };
        ids.push(app.stores.spikes.record(&alert).await.unwrap().unwrap().id);
    }
    let ids_of = |page: &Value| -> Vec<i64> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_i64().unwrap())
            .collect()
    };
    let first = app.get("/api/v1/emerging/spikes?limit=2", &app.agent).await;
    let link = first.headers()["link"].to_str().unwrap().to_string();
    let first = json_of(first).await;
    assert_eq!(ids_of(&first), [ids[2], ids[1]], "newest bucket first");
    let cursor = first["next_cursor"].as_str().unwrap();
    assert_eq!(
        link,
        format!("</api/v1/emerging/spikes?limit=2&cursor={cursor}>; rel=\"next\"")
    );
    let second = json_of(
        app.get(
            &format!("/api/v1/emerging/spikes?limit=2&cursor={cursor}"),
            &app.agent,
        )
        .await,
    )
    .await;
    assert_eq!(
        (ids_of(&second), &second["next_cursor"]),
        (vec![ids[0]], &Value::Null)
    );
    for (query, expected) in [
        ("granularity=day", vec![ids[0]]),
        ("country=jp", vec![ids[1], ids[0]]),
        (
            "type=account_access,scams_fraud&granularity=hour",
            vec![ids[2], ids[1]],
        ),
        (
            "bucket_after=2026-11-24T00:00:00Z&bucket_before=2026-11-24T11:00:00Z",
            vec![ids[1]],
        ),
        ("acknowledged=true", vec![]),
    ] {
        let page = json_of(
            app.get(&format!("/api/v1/emerging/spikes?{query}"), &app.agent)
                .await,
        )
        .await;
        assert_eq!(ids_of(&page), expected, "{query}");
    }
    // A policy's alert links to the escalations decided under it; a
    // segment without subjects to those without any.
    let policy = json_of(
        app.get(&format!("/api/v1/emerging/spikes/{}", ids[1]), &app.agent)
            .await,
    )
    .await;
    assert_eq!(
        policy["escalations"],
        "/api/v1/escalations?type=account_access&surface=%28none%29&country=JP&policy=spam\
         &received_after=2026-11-24T10%3A00%3A00Z&received_before=2026-11-24T11%3A00%3A00Z"
    );
    assert_eq!(
        json_of(
            app.get(policy["escalations"].as_str().unwrap(), &app.agent)
                .await
        )
        .await["items"],
        json!([])
    );
    for (query, field) in [
        ("granularity=week", "granularity"),
        ("limit=0", "limit"),
        ("cursor=zz", "cursor"),
        ("bucket_after=yesterday", "bucket_after"),
    ] {
        let problem = assert_problem(
            app.get(&format!("/api/v1/emerging/spikes?{query}"), &app.agent)
                .await,
            StatusCode::BAD_REQUEST,
            "bad_query",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], field, "{query}");
    }
    assert_problem(
        app.get("/api/v1/emerging/spikes?colour=red", &app.agent)
            .await,
        StatusCode::BAD_REQUEST,
        "bad_query",
    )
    .await;
    assert_problem(
        app.get("/api/v1/emerging/spikes/abc", &app.agent).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}
