//! Scheduled reports: a saved query emailed as XLSX to its subscribers,
//! daily or weekly at a local time, over a real SMTP conversation with the
//! loopback sink; the worker driven by hand with the test clock.

use jiff::{SignedDuration, Timestamp};
use mail_parser::{MessageParser, MimeHeaders};
use ombud_domain::Role;
use ombud_server::AppState;
use ombud_server::reports::send_due_reports;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::analytics::xlsx_rows;
use crate::console::{Browser, add_user, location};
use crate::helpers::{TestApp, assert_problem, on_both_backends, police_case};

on_both_backends!(
    a_refused_schedule_changes_nothing,
    a_due_daily_report_arrives_with_the_query_rows_in_xlsx,
    a_weekly_report_goes_out_on_its_weekday_at_the_local_hour,
    slots_follow_the_wall_clock_across_daylight_saving,
    two_workers_racing_send_one_email,
    a_missed_slot_is_caught_up_once_after_downtime,
    a_report_the_relay_refused_is_retried_later_and_delivered,
    a_failing_query_sends_a_notice_instead_of_a_file,
    deleting_or_unsubscribing_stops_the_emails,
    the_console_sets_shows_and_clears_a_schedule
);

const QUERY: &str = "/api/v1/analytics/saved-queries/titles";
const SCHEDULE: &str = "/api/v1/analytics/saved-queries/titles/schedule";

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// Saves the query `titles` and adds the manager `lead@example.com`.
async fn titles_and_a_lead(app: &TestApp, sql: &str) {
    let saved = app
        .put(
            QUERY,
            &app.admin,
            &json!({"code": "titles", "name": "Titles", "description": "Every title", "sql": sql}),
        )
        .await;
    assert_eq!(saved.status(), StatusCode::CREATED);
    add_user(app, "lead@example.com", Role::Manager, None).await;
}

async fn schedule(app: &TestApp, body: Value) -> Value {
    let response = app.put(SCHEDULE, &app.admin, &body).await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{}",
        response.text().await.unwrap_or_default()
    );
    response.json().await.unwrap()
}

fn daily(at: &str, zone: &str) -> Value {
    json!({"every": "daily", "at": at, "time_zone": zone, "subscribers": ["lead@example.com"]})
}

/// Runs the report worker at `now`; returns how many reports went out.
async fn work_at(app: &TestApp, now: &str) -> usize {
    app.clock.set(at(now));
    send_due_reports(&app.state).await.expect("the worker runs")
}

/// A message the sink received, parsed.
struct Mail {
    subject: String,
    to: Vec<String>,
    text: String,
    /// The attached file's name and bytes.
    file: Option<(String, Vec<u8>)>,
}

fn mails(app: &TestApp) -> Vec<Mail> {
    app.smtp
        .received()
        .iter()
        .map(|raw| {
            let message = MessageParser::default()
                .parse(raw.as_bytes())
                .expect("a message");
            Mail {
                subject: message.subject().unwrap_or_default().to_string(),
                to: message
                    .to()
                    .map(|to| {
                        to.iter()
                            .filter_map(|a| a.address())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
                text: message.body_text(0).unwrap_or_default().to_string(),
                file: message.attachments().next().map(|part| {
                    (
                        part.attachment_name().unwrap_or_default().to_string(),
                        part.contents().to_vec(),
                    )
                }),
            }
        })
        .collect()
}

fn subjects(app: &TestApp) -> Vec<String> {
    mails(app).into_iter().map(|m| m.subject).collect()
}

async fn a_refused_schedule_changes_nothing(app: TestApp) {
    titles_and_a_lead(&app, "SELECT key FROM escalations").await;
    add_user(&app, "agent@example.com", Role::Agent, None).await;
    add_user(&app, "gone@example.com", Role::Manager, None).await;
    app.stores
        .directory
        .set_user_active("gone@example.com", false)
        .await
        .unwrap();

    assert_problem(
        app.put(SCHEDULE, &app.agent, &daily("08:00", "UTC")).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_problem(
        app.get(SCHEDULE, &app.agent).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_problem(
        app.put(
            "/api/v1/analytics/saved-queries/nope/schedule",
            &app.admin,
            &daily("08:00", "UTC"),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let problem = assert_problem(
        app.put(
            SCHEDULE,
            &app.admin,
            &json!({
                "every": "weekly",
                "at": "25:00",
                "time_zone": "Mars/Olympus_Mons",
                "subscribers": [
                    "not an address",
                    "agent@example.com",
                    "gone@example.com",
                    "Lead@Example.com",
                    "lead@example.com",
                    "stranger@example.com"
                ]
            }),
        )
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
    assert_eq!(
        fields,
        [
            "at",
            "time_zone",
            "weekday",
            "subscribers[0]",
            "subscribers[4]",
            "subscribers[1]",
            "subscribers[2]",
            "subscribers[5]"
        ],
        "{problem}"
    );
    let unknown = assert_problem(
        app.put(
            SCHEDULE,
            &app.admin,
            &json!({"every": "hourly", "at": "08:00", "time_zone": "UTC", "subscribers": ["lead@example.com"]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(unknown["errors"][0]["field"], "every");
    assert_problem(
        app.get(SCHEDULE, &app.admin).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // Without outbound email there is nothing to schedule.
    let config = ombud_server::ServerConfig {
        mail: None,
        ..(*app.state.config).clone()
    };
    let mailless = AppState::new(app.stores.clone(), app.clock.clone(), config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(ombud_server::serve(
        listener,
        mailless,
        std::future::pending(),
    ));
    assert_problem(
        app.client
            .put(format!("{base}{SCHEDULE}"))
            .bearer_auth(&app.admin)
            .json(&daily("08:00", "UTC"))
            .send()
            .await
            .unwrap(),
        StatusCode::CONFLICT,
        "mail_not_configured",
    )
    .await;

    // A good one is stored, versioned like the saved query.
    let created = app
        .put(SCHEDULE, &app.admin, &daily("08:00", "Asia/Tokyo"))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.headers()["etag"], "\"1\"");
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["set_by"], "admin");
    assert_eq!(created["set_at"], "2026-11-25T09:00:00Z");
    assert_eq!(
        created["next_run"], "2026-11-25T23:00:00Z",
        "08:00 in Tokyo"
    );
    assert_eq!(created["last_run"], Value::Null);
    let stale = app
        .request(Method::PUT, SCHEDULE, &app.admin)
        .header("if-match", "\"7\"")
        .json(&daily("09:00", "UTC"))
        .send()
        .await
        .unwrap();
    assert_problem(stale, StatusCode::PRECONDITION_FAILED, "version_mismatch").await;
    let read = app.get(SCHEDULE, &app.admin).await;
    assert_eq!(read.headers()["etag"], "\"1\"");
    assert_eq!(read.json::<Value>().await.unwrap(), created);
    let replaced = app
        .request(Method::PUT, SCHEDULE, &app.admin)
        .header("if-match", "\"1\"")
        .json(&json!({
            "every": "weekly", "weekday": "friday", "at": "17:30",
            "time_zone": "Europe/Dublin", "subscribers": ["LEAD@example.com"]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(replaced.status(), StatusCode::OK);
    assert_eq!(replaced.headers()["etag"], "\"2\"");
    let replaced: Value = replaced.json().await.unwrap();
    assert_eq!(replaced["subscribers"], json!(["lead@example.com"]));
    assert_eq!(replaced["next_run"], "2026-11-27T17:30:00Z");

    assert_problem(
        app.request(Method::DELETE, SCHEDULE, &app.agent)
            .send()
            .await
            .unwrap(),
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let deleted = app
        .request(Method::DELETE, SCHEDULE, &app.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.request(Method::DELETE, SCHEDULE, &app.admin)
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(work_at(&app, "2026-12-01T12:00:00Z").await, 0);
    assert!(app.smtp.received().is_empty());
}

async fn a_due_daily_report_arrives_with_the_query_rows_in_xlsx(app: TestApp) {
    for title in ["乗っ取られたアカウント", "=1+1", "Plain"] {
        app.file(&app.police, police_case(title)).await;
    }
    titles_and_a_lead(
        &app,
        "SELECT key, title, priority, sensitive FROM escalations ORDER BY key",
    )
    .await;
    // 09:00 UTC is 10:00 in Berlin: today's 11:00 is still to come.
    let set = schedule(&app, daily("11:00", "Europe/Berlin")).await;
    assert_eq!(set["next_run"], "2026-11-25T10:00:00Z");

    assert_eq!(work_at(&app, "2026-11-25T09:59:59Z").await, 0);
    assert!(app.smtp.received().is_empty(), "not before its time");
    assert_eq!(work_at(&app, "2026-11-25T10:00:00Z").await, 1);
    assert_eq!(
        work_at(&app, "2026-11-25T10:01:00Z").await,
        0,
        "once a slot"
    );

    let sent = mails(&app);
    assert_eq!(sent.len(), 1);
    let mail = &sent[0];
    assert_eq!(mail.subject, "Titles: report of 2026-11-25");
    assert_eq!(mail.to, ["lead@example.com"]);
    assert!(
        mail.text
            .starts_with("Titles\nEvery title\n\nThe attached file holds the 3 rows"),
        "{}",
        mail.text
    );
    assert!(mail.text.contains("every day at 11:00 (Europe/Berlin)"));
    let (name, bytes) = mail.file.as_ref().expect("an attachment");
    assert_eq!(name, "titles-2026-11-25.xlsx");

    let ran: Value = app
        .get(&format!("{QUERY}/run"), &app.admin)
        .await
        .json()
        .await
        .unwrap();
    let mut expected = vec![ran["columns"].as_array().unwrap().to_vec()];
    expected.extend(
        ran["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row.as_array().unwrap().clone()),
    );
    assert_eq!(
        xlsx_rows(bytes),
        expected,
        "the file holds the query's rows"
    );
    assert_eq!(expected.len(), 4);

    let read: Value = app.admin_json(SCHEDULE).await;
    assert_eq!(read["last_run"]["state"], "sent");
    assert_eq!(read["last_run"]["rows"], 3);
    assert_eq!(read["last_run"]["slot"], "2026-11-25T10:00:00Z");
    assert_eq!(read["next_run"], "2026-11-26T10:00:00Z");
    assert_eq!(work_at(&app, "2026-11-26T10:00:00Z").await, 1);
    assert_eq!(
        subjects(&app)[1],
        "Titles: report of 2026-11-26",
        "and again the next day"
    );
}

async fn a_weekly_report_goes_out_on_its_weekday_at_the_local_hour(app: TestApp) {
    titles_and_a_lead(&app, "SELECT 1 AS one").await;
    schedule(
        &app,
        json!({
            "every": "weekly", "weekday": "monday", "at": "08:00",
            "time_zone": "America/New_York", "subscribers": ["lead@example.com"]
        }),
    )
    .await;
    // Every hour from Wednesday 25 November to Tuesday 8 December.
    let mut now = at("2026-11-25T09:00:00Z");
    let mut sent_at = Vec::new();
    while now < at("2026-12-08T12:00:00Z") {
        if work_at(&app, &now.to_string()).await == 1 {
            sent_at.push(now.to_string());
        }
        now = now.checked_add(SignedDuration::from_hours(1)).unwrap();
    }
    // 08:00 EST is 13:00 UTC; Mondays 30 November and 7 December.
    assert_eq!(sent_at, ["2026-11-30T13:00:00Z", "2026-12-07T13:00:00Z"]);
    assert_eq!(
        subjects(&app),
        [
            "Titles: report of 2026-11-30",
            "Titles: report of 2026-12-07"
        ]
    );
}

async fn slots_follow_the_wall_clock_across_daylight_saving(app: TestApp) {
    titles_and_a_lead(&app, "SELECT 1 AS one").await;
    app.clock.set(at("2027-03-27T12:00:00Z"));
    // Berlin skips 02:00–03:00 on 28 March 2027 and repeats 02:00–03:00
    // on 31 October 2027.
    schedule(&app, daily("02:30", "Europe/Berlin")).await;
    assert_eq!(work_at(&app, "2027-03-28T00:59:59Z").await, 0);
    assert_eq!(
        work_at(&app, "2027-03-28T01:00:00Z").await,
        1,
        "at 03:00 CEST, when the clocks land"
    );
    assert_eq!(work_at(&app, "2027-03-29T00:29:59Z").await, 0);
    assert_eq!(work_at(&app, "2027-03-29T00:30:00Z").await, 1, "02:30 CEST");
    assert_eq!(
        work_at(&app, "2027-10-31T00:30:00Z").await,
        1,
        "the first 02:30"
    );
    assert_eq!(
        work_at(&app, "2027-10-31T01:30:00Z").await,
        0,
        "not the second"
    );
    assert_eq!(work_at(&app, "2027-11-01T01:29:59Z").await, 0);
    assert_eq!(work_at(&app, "2027-11-01T01:30:00Z").await, 1, "02:30 CET");
    assert_eq!(
        subjects(&app),
        [
            "Titles: report of 2027-03-28",
            "Titles: report of 2027-03-29",
            "Titles: report of 2027-10-31",
            "Titles: report of 2027-11-01"
        ]
    );
}

async fn two_workers_racing_send_one_email(app: TestApp) {
    titles_and_a_lead(&app, "SELECT key FROM escalations").await;
    schedule(&app, daily("10:00", "UTC")).await;
    // A second node: its own state over the same database.
    let other = AppState::new(
        app.stores.clone(),
        app.clock.clone(),
        (*app.state.config).clone(),
    );
    for day in 25..=30 {
        app.clock.set(at(&format!("2026-11-{day}T10:00:00Z")));
        let (one, two) = tokio::join!(send_due_reports(&app.state), send_due_reports(&other));
        assert_eq!(one.unwrap() + two.unwrap(), 1, "one of them sends it");
    }
    assert_eq!(app.smtp.received().len(), 6, "one email a day");
}

async fn a_missed_slot_is_caught_up_once_after_downtime(app: TestApp) {
    titles_and_a_lead(&app, "SELECT key FROM escalations").await;
    schedule(&app, daily("10:00", "UTC")).await;
    assert_eq!(work_at(&app, "2026-11-25T10:00:00Z").await, 1);
    // No node runs from then until 29 November at 15:00.
    assert_eq!(work_at(&app, "2026-11-29T15:00:00Z").await, 1);
    assert_eq!(work_at(&app, "2026-11-29T15:01:00Z").await, 0);
    assert_eq!(
        subjects(&app),
        [
            "Titles: report of 2026-11-25",
            "Titles: report of 2026-11-29"
        ],
        "the newest missed slot, once"
    );
    let read = app.admin_json(SCHEDULE).await;
    assert_eq!(read["next_run"], "2026-11-30T10:00:00Z");
}

async fn a_report_the_relay_refused_is_retried_later_and_delivered(app: TestApp) {
    titles_and_a_lead(&app, "SELECT key FROM escalations").await;
    schedule(&app, daily("10:00", "UTC")).await;
    app.smtp.refuse(true);
    assert_eq!(work_at(&app, "2026-11-25T10:00:00Z").await, 0);
    let read = app.admin_json(SCHEDULE).await;
    assert_eq!(read["last_run"]["state"], "retrying", "{read}");
    assert_eq!(read["last_run"]["attempts"], 1);
    assert!(
        read["last_run"]["error"]
            .as_str()
            .unwrap()
            .contains("try again"),
        "{read}"
    );
    assert_eq!(read["next_run"], "2026-11-25T10:00:30Z", "30 s of backoff");

    app.smtp.refuse(false);
    assert_eq!(work_at(&app, "2026-11-25T10:00:29Z").await, 0);
    assert!(app.smtp.received().is_empty(), "not before the backoff");
    assert_eq!(work_at(&app, "2026-11-25T10:00:30Z").await, 1);
    let sent = mails(&app);
    assert_eq!(sent.len(), 1);
    assert!(sent[0].file.is_some());
    let read = app.admin_json(SCHEDULE).await;
    assert_eq!(read["last_run"]["state"], "sent");
    assert_eq!(read["last_run"]["attempts"], 2);
    assert_eq!(read["last_run"]["slot"], "2026-11-25T10:00:00Z");
    assert_eq!(work_at(&app, "2026-11-25T11:00:00Z").await, 0, "sent once");
}

async fn a_failing_query_sends_a_notice_instead_of_a_file(app: TestApp) {
    // It looks like a query, so it saves; the database refuses it.
    titles_and_a_lead(&app, "SELECT no_such_column FROM escalations").await;
    schedule(&app, daily("10:00", "UTC")).await;
    assert_eq!(work_at(&app, "2026-11-25T10:00:00Z").await, 0);
    let sent = mails(&app);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].subject, "Titles: the report of 2026-11-25 failed");
    assert!(sent[0].file.is_none());
    assert!(sent[0].text.contains("no_such_column"), "{}", sent[0].text);
    let read = app.admin_json(SCHEDULE).await;
    assert_eq!(read["last_run"]["state"], "query_failed");
    assert_eq!(
        read["next_run"], "2026-11-26T10:00:00Z",
        "tried again tomorrow"
    );
    assert_eq!(work_at(&app, "2026-11-25T12:00:00Z").await, 0);
    assert_eq!(app.smtp.received().len(), 1, "one notice a slot");
}

async fn deleting_or_unsubscribing_stops_the_emails(app: TestApp) {
    titles_and_a_lead(&app, "SELECT key FROM escalations").await;
    schedule(&app, daily("10:00", "UTC")).await;
    assert_eq!(work_at(&app, "2026-11-25T10:00:00Z").await, 1);
    let deleted = app
        .request(Method::DELETE, SCHEDULE, &app.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(work_at(&app, "2026-11-26T10:00:00Z").await, 0);

    // A subscriber who is no longer an active manager gets nothing.
    schedule(&app, daily("10:00", "UTC")).await;
    app.stores
        .directory
        .set_user_active("lead@example.com", false)
        .await
        .unwrap();
    assert_eq!(work_at(&app, "2026-11-27T10:00:00Z").await, 0);
    let read = app.admin_json(SCHEDULE).await;
    assert_eq!(read["last_run"]["state"], "no_recipients");

    // Deleting the saved query takes its schedule with it.
    app.stores
        .directory
        .set_user_active("lead@example.com", true)
        .await
        .unwrap();
    let deleted = app
        .request(Method::DELETE, QUERY, &app.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    titles_and_query_again(&app).await;
    assert_problem(
        app.get(SCHEDULE, &app.admin).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(work_at(&app, "2026-11-28T10:00:00Z").await, 0);
    assert_eq!(app.smtp.received().len(), 1, "only the first report");
}

/// Saves `titles` again, as a new query of the same code.
async fn titles_and_query_again(app: &TestApp) {
    let saved = app
        .put(
            QUERY,
            &app.admin,
            &json!({"code": "titles", "name": "Titles", "sql": "SELECT 1 AS one"}),
        )
        .await;
    assert_eq!(saved.status(), StatusCode::CREATED);
}

async fn the_console_sets_shows_and_clears_a_schedule(app: TestApp) {
    titles_and_a_lead(&app, "SELECT key FROM escalations").await;
    let mut lead = Browser::new(&app);
    let csrf = lead.sign_in("lead@example.com", "/console").await;
    let page = lead
        .get("/console/analytics?saved=titles")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Not emailed on a schedule."));
    assert!(
        page.contains("lead@example.com</textarea>"),
        "the reader is the first subscriber offered"
    );

    let form = |zone: &'static str| {
        vec![
            ("csrf", csrf.as_str()),
            ("code", "titles"),
            ("every", "weekly"),
            ("weekday", "monday"),
            ("at", "08:00"),
            ("time_zone", zone),
            ("subscribers", "lead@example.com\r\n"),
        ]
    };
    let refused = lead
        .post(
            "/console/analytics/saved/schedule",
            &form("Europe/Atlantis"),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains("Nothing was saved") && html.contains("Europe/Atlantis"));
    assert_problem(
        app.get(SCHEDULE, &app.admin).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    let saved = lead
        .post("/console/analytics/saved/schedule", &form("Europe/Berlin"))
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert!(location(&saved).contains("saved=titles"));
    let page = lead
        .get("/console/analytics?saved=titles")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("every Monday at 08:00 (Europe/Berlin)"),
        "{page}"
    );
    assert!(page.contains("2026-11-30 08:00 CET"), "the next run");
    assert_eq!(app.admin_json(SCHEDULE).await["set_by"], "Mika Tanaka");

    assert_eq!(work_at(&app, "2026-11-30T07:00:00Z").await, 1);
    // Days later, the session has expired: a new one.
    let csrf = lead.sign_in("lead@example.com", "/console").await;
    let page = lead
        .get("/console/analytics?saved=titles")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("sent (for 2026-11-30 08:00 CET"),
        "the last result"
    );

    let cleared = lead
        .post(
            "/console/analytics/saved/schedule/delete",
            &[("csrf", &csrf), ("code", "titles")],
        )
        .await;
    assert_eq!(cleared.status(), StatusCode::SEE_OTHER);
    assert!(
        lead.get("/console/analytics?saved=titles")
            .await
            .text()
            .await
            .unwrap()
            .contains("Not emailed on a schedule.")
    );
    assert_eq!(work_at(&app, "2026-12-07T07:00:00Z").await, 0);
}
