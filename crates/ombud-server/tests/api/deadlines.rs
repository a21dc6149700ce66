//! Calendars, SLA policies and regulations decide the clocks of new
//! escalations; the lifecycle moves them.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, on_both_backends, police_case};

on_both_backends!(
    a_partners_business_hours_policy_sets_its_clocks,
    regulations_start_legal_clocks_and_can_be_switched_off,
    bad_settings_are_refused_whole_and_change_nothing,
    warnings_and_breaches_are_raised_once_when_due,
    clock_time_is_accounted_to_its_holders,
    a_change_of_priority_rechooses_the_clocks_and_lists_sort_by_deadline
);

fn tokyo_office() -> Value {
    let hours = json!(["09:00-18:00"]);
    json!({
        "time_zone": "Asia/Tokyo",
        "weekly": {"monday": hours, "tuesday": hours, "wednesday": hours, "thursday": hours, "friday": hours},
        "holidays": ["2026-11-23"]
    })
}

fn clocks_from<'a>(escalation: &'a Value, source_kind: &str) -> Vec<&'a Value> {
    escalation["clocks"]
        .as_array()
        .expect("clocks")
        .iter()
        .filter(|c| c["source"]["kind"] == source_kind)
        .collect()
}

fn clock<'a>(escalation: &'a Value, kind: &str, source: &str) -> &'a Value {
    escalation["clocks"]
        .as_array()
        .expect("clocks")
        .iter()
        .find(|c| c["kind"] == kind && c["source"]["id"] == source)
        .unwrap_or_else(|| panic!("no {kind} clock from {source}: {escalation:#}"))
}

async fn a_partners_business_hours_policy_sets_its_clocks(app: TestApp) {
    let created = app
        .put("/api/v1/calendars/tokyo", &app.admin, &tokyo_office())
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.headers()["etag"], "\"1\"");
    let policy = json!({
        "code": "police-jp", "name": "Japanese police, office hours", "partner": "jp-police",
        "basis": "business", "calendar": "tokyo",
        "targets": {"acknowledgement": "PT2H", "resolution": "P2D"}
    });
    let created = app
        .put("/api/v1/sla-policies/police-jp", &app.admin, &policy)
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    // A default policy the partner's own must win over.
    let default = json!({"code": "default", "name": "Default", "basis": "calendar",
        "targets": {"acknowledgement": "PT1H", "resolution": "PT24H"}});
    assert_eq!(
        app.put("/api/v1/sla-policies/default", &app.admin, &default)
            .await
            .status(),
        StatusCode::CREATED
    );

    // Filed Wednesday 18:00 in Tokyo, as the office closes: the clocks
    // start at Thursday's opening (00:00 UTC).
    let escalation = app.file(&app.agent, police_case("office hours")).await;
    let policy_clocks = clocks_from(&escalation, "policy");
    assert_eq!(policy_clocks.len(), 2, "{escalation:#}");
    let acknowledgement = clock(&escalation, "acknowledgement", "police-jp");
    assert_eq!(acknowledgement["due_at"], "2026-11-26T02:00:00Z");
    // Two business days: all of Thursday and Friday, due at Friday's close.
    let resolution = clock(&escalation, "resolution", "police-jp");
    assert_eq!(resolution["due_at"], "2026-11-27T09:00:00Z");
    assert_eq!(resolution["calendar"]["time_zone"], "Asia/Tokyo");

    // The partner sees the deadlines promised to them (the policy's), and
    // nothing internal: no regulatory clocks, holder, queue or score.
    let seen: Value = app
        .get("/api/v1/escalations/ESC-1", &app.police)
        .await
        .json()
        .await
        .unwrap();
    let sources: Vec<&str> = seen["clocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["source"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["policy", "policy"], "{seen:#}");
    assert_eq!(
        (
            &seen["queue"],
            &seen["score"],
            &seen["assignee"],
            &seen["consults"]
        ),
        (&Value::Null, &Value::Null, &Value::Null, &json!([]))
    );

    // Triage acknowledges; waiting on the partner pauses the resolution clock.
    for to in ["triaged", "awaiting_partner"] {
        let moved = app
            .post(
                "/api/v1/escalations/ESC-1/transitions",
                &app.agent,
                &json!({"to": to}),
            )
            .await;
        assert_eq!(moved.status(), StatusCode::OK, "{to}");
    }
    let now: Value = app
        .get("/api/v1/escalations/ESC-1", &app.agent)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        clock(&now, "acknowledgement", "police-jp")["stopped_at"],
        "2026-11-25T09:00:00Z"
    );
    assert_eq!(
        clock(&now, "resolution", "police-jp")["due_at"],
        Value::Null
    );
    let timeline: Value = app
        .get("/api/v1/escalations/ESC-1/timeline", &app.agent)
        .await
        .json()
        .await
        .unwrap();
    let text = timeline.to_string();
    assert!(text.contains("\"change\":\"paused\""), "{text}");
    assert!(text.contains("\"change\":\"met\""), "{text}");
    assert!(
        text.contains("police-jp"),
        "the created event names the clocks' source"
    );
}

async fn regulations_start_legal_clocks_and_can_be_switched_off(app: TestApp) {
    // A government's complaint about intimate images in India: the IT Rules
    // give two hours for intimate imagery and three for government orders.
    let mut case = police_case("morphed images");
    case["partner"] = json!("th-ministry");
    case["type"] = json!("ncii");
    case["country"] = json!("IN");
    let escalation = app.file(&app.admin, case.clone()).await;
    assert_eq!(
        clock(&escalation, "resolution", "in-itr-ncii-3-2-b")["due_at"],
        "2026-11-25T11:00:00Z"
    );
    assert_eq!(
        clock(&escalation, "resolution", "in-itr-3-1-d-order")["due_at"],
        "2026-11-25T12:00:00Z"
    );

    let switched_off = app
        .put(
            "/api/v1/regulations/in-itr-ncii-3-2-b",
            &app.admin,
            &json!({"enabled": false}),
        )
        .await;
    assert_eq!(switched_off.status(), StatusCode::OK);
    let later = app.file(&app.admin, case).await;
    assert!(
        !later.to_string().contains("in-itr-ncii-3-2-b"),
        "a disabled rule starts no clock"
    );
    let catalogue: Vec<Value> = app
        .get("/api/v1/regulations", &app.agent)
        .await
        .json()
        .await
        .unwrap();
    let find = |id: &str| catalogue.iter().find(|r| r["id"] == id).unwrap().clone();
    assert_eq!(find("in-itr-ncii-3-2-b")["enabled"], false);
    let low = find("in-itr-3-1-j-info");
    assert_eq!(
        (&low["enabled"], &low["needs_legal_review"]),
        (&json!(false), &json!(true))
    );
    assert_eq!(
        app.put("/api/v1/regulations/no-such-law", &app.admin, &json!({}))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let bad = app
        .put(
            "/api/v1/regulations/in-itr-ncii-3-2-b",
            &app.admin,
            &json!({"act_within": "two hours"}),
        )
        .await;
    assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}

async fn bad_settings_are_refused_whole_and_change_nothing(app: TestApp) {
    let bad_calendar = json!({
        "time_zone": "Mars/Olympus",
        "weekly": {"monday": ["18:00-09:00"], "someday": ["09:00-10:00"]}
    });
    let refused = app
        .put("/api/v1/calendars/mars", &app.admin, &bad_calendar)
        .await;
    let problem = assert_problem(
        refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let text = problem.to_string();
    for field in ["time_zone", "weekly.monday[0]", "weekly.someday"] {
        assert!(text.contains(field), "{field} not named in {text}");
    }
    let bad_policy = json!({
        "code": "fast", "name": "Fast", "basis": "business", "calendar": "nowhere",
        "targets": {"resolution": "P1DT2H"}, "warn_at_percent": [120]
    });
    let refused = app
        .put("/api/v1/sla-policies/fast", &app.admin, &bad_policy)
        .await;
    let problem = assert_problem(
        refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let text = problem.to_string();
    for field in ["calendar", "targets.resolution", "warn_at_percent"] {
        assert!(text.contains(field), "{field} not named in {text}");
    }
    let mut other_code = bad_policy.clone();
    other_code["code"] = json!("slow");
    assert_problem(
        app.put("/api/v1/sla-policies/fast", &app.admin, &other_code)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let listed: Vec<Value> = app
        .get("/api/v1/sla-policies", &app.admin)
        .await
        .json()
        .await
        .unwrap();
    assert!(listed.is_empty(), "nothing was stored: {listed:?}");

    // Only admins and managers configure; partners do not even read.
    assert_eq!(
        app.put("/api/v1/calendars/tokyo", &app.agent, &tokyo_office())
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get("/api/v1/calendars", &app.police).await.status(),
        StatusCode::FORBIDDEN
    );

    // A stale If-Match is refused; a calendar in use cannot be deleted.
    app.put("/api/v1/calendars/tokyo", &app.admin, &tokyo_office())
        .await;
    let mut edited = tokyo_office();
    edited["holidays"] = json!(["2026-11-23", "2026-12-31"]);
    let updated = app
        .request(Method::PUT, "/api/v1/calendars/tokyo", &app.admin)
        .header("if-match", "\"1\"")
        .json(&edited)
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status(), StatusCode::OK);
    assert_eq!(updated.headers()["etag"], "\"2\"");
    let stale = app
        .request(Method::PUT, "/api/v1/calendars/tokyo", &app.admin)
        .header("if-match", "\"1\"")
        .json(&tokyo_office())
        .send()
        .await
        .unwrap();
    assert_problem(stale, StatusCode::PRECONDITION_FAILED, "version_mismatch").await;
    let stored: Value = app
        .get("/api/v1/calendars/tokyo", &app.agent)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored["holidays"], json!(["2026-11-23", "2026-12-31"]));
    let policy = json!({"code": "office", "name": "Office", "basis": "business", "calendar": "tokyo",
        "targets": {"resolution": "PT8H"}});
    assert_eq!(
        app.put("/api/v1/sla-policies/office", &app.admin, &policy)
            .await
            .status(),
        StatusCode::CREATED
    );
    let in_use = app
        .request(Method::DELETE, "/api/v1/calendars/tokyo", &app.admin)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(in_use, StatusCode::CONFLICT, "conflict").await;
    assert!(problem["detail"].as_str().unwrap().contains("office"));
}

async fn warnings_and_breaches_are_raised_once_when_due(app: TestApp) {
    let policy = json!({"code": "default", "name": "Default", "basis": "calendar",
        "targets": {"resolution": "PT4H"}, "warn_at_percent": [75]});
    assert_eq!(
        app.put("/api/v1/sla-policies/default", &app.admin, &policy)
            .await
            .status(),
        StatusCode::CREATED
    );
    app.file(&app.agent, police_case("against the clock")).await;
    let kinds = async |token: &str| {
        let timeline: Vec<Value> = app
            .get("/api/v1/escalations/ESC-1/timeline", token)
            .await
            .json()
            .await
            .unwrap();
        timeline
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_string())
            .filter(|k| k.starts_with("clock_"))
            .collect::<Vec<_>>()
    };
    let raise_at = async |at: &str| {
        app.clock.set(at.parse().unwrap());
        ombud_server::alerts::raise_due_alerts(&app.state)
            .await
            .expect("raise alerts");
    };
    // Filed at 09:00: 75 % at 12:00, breach at 13:00.
    raise_at("2026-11-25T11:59:00Z").await;
    assert!(kinds(&app.agent).await.is_empty());
    raise_at("2026-11-25T12:00:00Z").await;
    raise_at("2026-11-25T12:30:00Z").await;
    assert_eq!(kinds(&app.agent).await, ["clock_warning"]);
    raise_at("2026-11-25T13:00:01Z").await;
    raise_at("2026-11-25T14:00:00Z").await;
    assert_eq!(kinds(&app.agent).await, ["clock_warning", "clock_breached"]);
    assert!(kinds(&app.police).await.is_empty(), "alerts are internal");
    let escalation: Value = app
        .get("/api/v1/escalations/ESC-1", &app.agent)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(escalation["clocks"][0]["alerts_raised"], json!([75, 100]));
}

async fn clock_time_is_accounted_to_its_holders(app: TestApp) {
    let policy = json!({"code": "default", "name": "Default", "basis": "calendar",
        "targets": {"resolution": "PT24H"}});
    app.put("/api/v1/sla-policies/default", &app.admin, &policy)
        .await;
    app.file(&app.agent, police_case("accounted")).await;
    let at = |time: &str| app.clock.set(time.parse().unwrap());
    at("2026-11-25T10:00:00Z");
    let consult = json!({"function": "legal", "question": "May we disclose?"});
    app.post("/api/v1/escalations/ESC-1/consults", &app.agent, &consult)
        .await;
    at("2026-11-25T10:45:00Z");
    app.post(
        "/api/v1/escalations/ESC-1/consults/1/answer",
        &app.agent,
        &json!({"verdict": "advise", "note": "Only the subscriber name"}),
    )
    .await;
    at("2026-11-25T11:00:00Z");
    let accounts: Vec<Value> = app
        .get("/api/v1/escalations/ESC-1/clocks/accounting", &app.agent)
        .await
        .json()
        .await
        .unwrap();
    let holders = &accounts[0]["holders"];
    assert_eq!(accounts[0]["kind"], "resolution");
    assert_eq!(holders[0]["holder"], "unrouted");
    assert_eq!(holders[0]["time"], "PT1H15M", "09:00-10:00 and 10:45-11:00");
    assert_eq!(holders[1]["holder"], "consult:legal");
    assert_eq!(holders[1]["time"], "PT45M");
}

async fn a_change_of_priority_rechooses_the_clocks_and_lists_sort_by_deadline(app: TestApp) {
    let app = &app;
    for policy in [
        json!({"code": "urgent", "name": "Urgent", "basis": "calendar",
               "conditions": {"priorities": ["P0", "P1"]},
               "targets": {"acknowledgement": "PT1H", "resolution": "PT4H"}}),
        json!({"code": "standard", "name": "Standard", "basis": "calendar",
               "targets": {"acknowledgement": "PT4H", "resolution": "P3D"}}),
    ] {
        let path = format!("/api/v1/sla-policies/{}", policy["code"].as_str().unwrap());
        assert_eq!(
            app.put(&path, &app.admin, &policy).await.status(),
            StatusCode::CREATED
        );
    }
    let mut filed = Vec::new();
    for priority in ["P3", "P1", "P3"] {
        let mut case = police_case(&format!("{priority} case"));
        case["priority"] = json!(priority);
        filed.push(app.file(&app.agent, case).await);
    }
    let keys = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["key"].as_str().unwrap().to_string())
            .collect()
    };
    let list = |query: &'static str| async move {
        let response = app
            .get(&format!("/api/v1/escalations?{query}"), &app.agent)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<Value>().await.unwrap()
    };
    assert_eq!(
        keys(&list("sort=due_at").await),
        ["ESC-2", "ESC-1", "ESC-3"]
    );

    // Raised to P0, ESC-3 falls under the urgent policy: its clocks are
    // re-chosen in the same change, counting from receipt.
    let raised = app
        .patch_escalation(&filed[2], json!({"priority": "P0"}))
        .await;
    let resolution = clock(&raised, "resolution", "urgent");
    assert_eq!(resolution["due_at"], "2026-11-25T13:00:00Z");
    assert!(
        clocks_from(&raised, "policy")
            .iter()
            .all(|c| c["source"]["id"] == "urgent")
    );
    let timeline = app.timeline("ESC-3", &app.agent).await;
    let changed = timeline
        .iter()
        .find(|e| e["kind"] == "clocks_changed")
        .expect("the re-chosen clocks are in the timeline");
    let what: Vec<(&str, &str)> = changed["data"]["clocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["source"]["id"].as_str().unwrap(),
                c["change"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        what,
        [
            ("standard", "dropped"),
            ("standard", "dropped"),
            ("urgent", "started"),
            ("urgent", "started")
        ]
    );

    // Page by page, nearest deadline first; the same due instant by key.
    let mut seen = Vec::new();
    let mut query = "sort=due_at&limit=1".to_string();
    loop {
        let response = app
            .get(&format!("/api/v1/escalations?{query}"), &app.agent)
            .await;
        let page: Value = response.json().await.unwrap();
        seen.extend(keys(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("sort=due_at&limit=1&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ["ESC-2", "ESC-3", "ESC-1"]);
    assert_eq!(keys(&list("sort=-due_at&limit=1").await), ["ESC-1"]);
}
