//! Root causes as first-class records: the figures per cause, upstream
//! fixes tracked from decisions with their status history, recurrences
//! after a fix shipped, and the console's Pareto and cause pages.
//!
//! The fixture, by the server's clock on 2026-11-25 (UTC), all partner
//! escalations decided by the agent a minute after filing unless said:
//!
//! | key   | filed    | root cause                | fix named        | after     |
//! | ----- | -------- | ------------------------- | ---------------- | --------- |
//! | ESC-1 | 09:00:00 | automation_false_positive | ML-88 proposed   |           |
//! | ESC-2 | 09:10:00 | automation_false_positive | ML-88 in_progress|           |
//! | ESC-3 | 09:20:00 | reviewer_error            | —                |           |
//! | ESC-4 | 09:30:00 | (none)                    | —                |           |
//! | ESC-5 | 09:40:00 | not decided               |                  |           |
//!
//! ML-88 ships at 10:00:00 (changed by the admin, note "release 4.2").
//!
//! | ESC-6 | 10:00:00 | automation_false_positive | —                | same second: no |
//! | ESC-7 | 10:30:00 | automation_false_positive | —                | reopened  |
//! | ESC-8 | 11:00:00 | automation_false_positive | ML-91 proposed   |           |
//! | ESC-9 | 10:45:00 | reviewer_error            | —                |           |
//!
//! ML-91 ships at 12:00:00; ESC-10 is filed at 12:30:00 and decided with
//! automation_false_positive. So the cause has 6 escalations (ESC-7 open
//! again), recurrences from 10:00:00: ESC-7, ESC-8, ESC-10 = 3; ML-88's own
//! are the same 3, ML-91's (from 12:00:00) only ESC-10 = 1. ESC-1 is amended
//! at 12:40 resending "ML-88 proposed": ML-88 stays shipped.

use ombud_domain::Role;
use ombud_domain::fix::Fix;
use reqwest::StatusCode;
use reqwest::header::{ETAG, IF_MATCH};
use serde_json::{Value, json};

use crate::console::{Browser, add_user, location};
use crate::helpers::{TestApp, assert_problem, on_both_backends, police_case};

on_both_backends!(
    root_causes_count_escalations_fixes_and_recurrences_after_shipping,
    a_fix_is_tracked_from_decisions_and_changed_with_its_history,
    partners_cannot_see_root_causes_or_fixes,
    the_console_shows_the_pareto_table_and_changes_a_fix
);

const ML_88: &str = "https://tracker.example/browse/ML-88";
const ML_91: &str = "https://tracker.example/browse/ML-91";
const AFP: &str = "automation_false_positive";

fn at(time: &str) -> jiff::Timestamp {
    format!("2026-11-25T{time}Z").parse().unwrap()
}

/// Files a police escalation at `time` and returns its key.
async fn file_at(app: &TestApp, time: &str) -> String {
    app.clock.set(at(time));
    app.file(&app.police, police_case(&format!("Filed at {time}")))
        .await["key"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Decides `key` at `time` as the agent, expecting 200.
async fn decide_at(app: &TestApp, key: &str, time: &str, decision: Value) {
    app.clock.set(at(time));
    let response = app
        .post(
            &format!("/api/v1/escalations/{key}/decision"),
            &app.agent,
            &decision,
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{}",
        response.text().await.unwrap()
    );
}

fn with_cause(cause: &str, fix: Option<(&str, &str)>) -> Value {
    let mut decision = json!({"outcome": "reinstated", "root_cause": cause});
    if let Some((url, status)) = fix {
        decision["upstream_fix"] = json!({"url": url, "status": status, "owner": "amara"});
    }
    decision
}

/// Changes fix `url` as `token` at `time`, expecting 200; returns the fix.
async fn change_fix(app: &TestApp, token: &str, url: &str, time: &str, change: Value) -> Value {
    app.clock.set(at(time));
    let response = app
        .post(
            &format!("/api/v1/fixes/{}/changes", Fix::code_for(url)),
            token,
            &change,
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{}",
        response.text().await.unwrap()
    );
    response.json().await.unwrap()
}

/// The scenario of this module's table.
async fn fixture(app: &TestApp) {
    let e1 = file_at(app, "09:00:00").await;
    decide_at(
        app,
        &e1,
        "09:01:00",
        with_cause(AFP, Some((ML_88, "proposed"))),
    )
    .await;
    let e2 = file_at(app, "09:10:00").await;
    decide_at(
        app,
        &e2,
        "09:11:00",
        with_cause(AFP, Some((ML_88, "in_progress"))),
    )
    .await;
    let e3 = file_at(app, "09:20:00").await;
    decide_at(app, &e3, "09:21:00", with_cause("reviewer_error", None)).await;
    let e4 = file_at(app, "09:30:00").await;
    decide_at(app, &e4, "09:31:00", json!({"outcome": "upheld"})).await;
    file_at(app, "09:40:00").await;
    change_fix(
        app,
        &app.admin,
        ML_88,
        "10:00:00",
        json!({"status": "shipped", "note": "release 4.2"}),
    )
    .await;
    let e6 = file_at(app, "10:00:00").await;
    decide_at(app, &e6, "10:01:00", with_cause(AFP, None)).await;
    let e7 = file_at(app, "10:30:00").await;
    decide_at(app, &e7, "10:31:00", with_cause(AFP, None)).await;
    let e8 = file_at(app, "11:00:00").await;
    decide_at(
        app,
        &e8,
        "11:01:00",
        with_cause(AFP, Some((ML_91, "proposed"))),
    )
    .await;
    let e9 = file_at(app, "10:45:00").await;
    decide_at(app, &e9, "11:02:00", with_cause("reviewer_error", None)).await;
    // ESC-7 is reopened: still decided with the cause, open again.
    let reopened = app
        .post(
            &format!("/api/v1/escalations/{e7}/transitions"),
            &app.agent,
            &json!({"to": "investigating"}),
        )
        .await;
    assert_eq!(reopened.status(), StatusCode::OK);
    change_fix(
        app,
        &app.agent,
        ML_91,
        "12:00:00",
        json!({"status": "shipped"}),
    )
    .await;
    let e10 = file_at(app, "12:30:00").await;
    decide_at(app, &e10, "12:31:00", with_cause(AFP, None)).await;
    // ESC-1's outcome is amended, its old fix fields sent again.
    let mut amended = with_cause(AFP, Some((ML_88, "proposed")));
    amended["outcome"] = json!("upheld");
    decide_at(app, &e1, "12:40:00", amended).await;
    assert_eq!(
        [&e1, &e2, &e3, &e4, &e6, &e7, &e8, &e9, &e10],
        [
            "ESC-1", "ESC-2", "ESC-3", "ESC-4", "ESC-6", "ESC-7", "ESC-8", "ESC-9", "ESC-10"
        ]
    );
}

fn cause<'a>(list: &'a Value, code: &str) -> &'a Value {
    list["root_causes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == code)
        .unwrap_or_else(|| panic!("{code} in {list}"))
}

async fn root_causes_count_escalations_fixes_and_recurrences_after_shipping(app: TestApp) {
    fixture(&app).await;
    // Retired causes stay listed while a decision names them; unused
    // retired ones go.
    for code in ["reviewer_error", "product_bug"] {
        let retired = app
            .put(
                &format!("/api/v1/reference/root-causes/{code}"),
                &app.admin,
                &json!({"code": code, "label": code, "active": false}),
            )
            .await;
        assert_eq!(retired.status(), StatusCode::OK);
    }

    let list = app.admin_json("/api/v1/root-causes").await;
    assert_eq!(
        (&list["decided"], &list["without_root_cause"]),
        (&json!(9), &json!(1))
    );
    let codes: Vec<&str> = list["root_causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            AFP,
            "reviewer_error",
            "coordinated_abuse",
            "partner_error",
            "policy_gap",
            "user_error",
            "working_as_intended"
        ],
        "most escalations first, then by code; product_bug is retired and unused"
    );
    let afp = cause(&list, AFP);
    assert_eq!(
        (
            &afp["total"],
            &afp["resolved"],
            &afp["open"],
            &afp["first_shipped_at"],
            &afp["recurrences"],
            &afp["active"]
        ),
        (
            &json!(6),
            &json!(5),
            &json!(1),
            &json!("2026-11-25T10:00:00Z"),
            &json!(3),
            &json!(true)
        ),
        "{afp}"
    );
    assert_eq!(
        afp["fixes"],
        json!([
            {"code": Fix::code_for(ML_88), "url": ML_88, "status": "shipped", "owner": "amara",
             "shipped_at": "2026-11-25T10:00:00Z", "recurrences": 3},
            {"code": Fix::code_for(ML_91), "url": ML_91, "status": "shipped", "owner": "amara",
             "shipped_at": "2026-11-25T12:00:00Z", "recurrences": 1},
        ])
    );
    let reviewer = cause(&list, "reviewer_error");
    assert_eq!(
        (
            &reviewer["total"],
            &reviewer["recurrences"],
            &reviewer["active"],
            &reviewer["first_shipped_at"]
        ),
        (&json!(2), &json!(0), &json!(false), &Value::Null)
    );
    assert_eq!(cause(&list, "policy_gap")["total"], 0);

    // One cause: its escalations newest filed first, recurring ones marked.
    let detail = app.admin_json(&format!("/api/v1/root-causes/{AFP}")).await;
    assert_eq!(detail["total"], 6);
    let rows: Vec<(&str, bool, Option<&str>)> = detail["escalations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["key"].as_str().unwrap(),
                e["recurring"].as_bool().unwrap(),
                e["fix_url"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("ESC-10", true, None),
            ("ESC-8", true, Some(ML_91)),
            ("ESC-7", true, None),
            ("ESC-6", false, None),
            ("ESC-2", false, Some(ML_88)),
            ("ESC-1", false, Some(ML_88)),
        ]
    );
    let esc7 = &detail["escalations"][2];
    assert_eq!(
        (&esc7["status"], &esc7["created_at"], &esc7["decided_at"]),
        (
            &json!("investigating"),
            &json!("2026-11-25T10:30:00Z"),
            &json!("2026-11-25T10:31:00Z")
        )
    );
    let page = app
        .admin_json(&format!("/api/v1/root-causes/{AFP}?offset=1&limit=2"))
        .await;
    let keys: Vec<&str> = page["escalations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["ESC-8", "ESC-7"]);
    assert_eq!((&page["offset"], &page["limit"]), (&json!(1), &json!(2)));
    let retired = app.admin_json("/api/v1/root-causes/reviewer_error").await;
    assert_eq!(
        (&retired["total"], &retired["active"]),
        (&json!(2), &json!(false))
    );
    for path in [
        "/api/v1/root-causes/gremlins",
        "/api/v1/root-causes/Not%20a%20code",
        "/api/v1/root-causes/product_bug'--",
    ] {
        assert_problem(
            app.get(path, &app.agent).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    assert_eq!(
        app.admin_json("/api/v1/root-causes/product_bug").await["total"],
        0,
        "a retired cause still has its page"
    );
    for limit in ["0", "501", "ten"] {
        assert_problem(
            app.get(
                &format!("/api/v1/root-causes/{AFP}?limit={limit}"),
                &app.agent,
            )
            .await,
            StatusCode::BAD_REQUEST,
            "bad_query",
        )
        .await;
    }
}

async fn a_fix_is_tracked_from_decisions_and_changed_with_its_history(app: TestApp) {
    fixture(&app).await;
    let path = format!("/api/v1/fixes/{}", Fix::code_for(ML_88));
    let read = app.get(&path, &app.agent).await;
    assert_eq!(read.status(), StatusCode::OK);
    let etag = read.headers()[ETAG].to_str().unwrap().to_string();
    let fix: Value = read.json().await.unwrap();
    assert_eq!(
        (&fix["root_cause"], &fix["status"], &fix["shipped_at"]),
        (
            &json!(AFP),
            &json!("shipped"),
            &json!("2026-11-25T10:00:00Z")
        )
    );
    assert_eq!(
        fix["history"],
        json!([
            {"status": "proposed", "owner": "amara", "at": "2026-11-25T09:01:00Z", "by": "agent", "escalation": "ESC-1"},
            {"status": "in_progress", "owner": "amara", "at": "2026-11-25T09:11:00Z", "by": "agent", "escalation": "ESC-2"},
            {"status": "shipped", "owner": "amara", "at": "2026-11-25T10:00:00Z", "by": "admin", "note": "release 4.2"},
        ]),
        "ESC-1's amendment resent 'proposed' and changed nothing"
    );
    let listed = app.admin_json("/api/v1/fixes").await;
    assert_eq!(listed.as_array().unwrap().len(), 2);

    // A change over a stale version is refused; asking for what is already
    // so changes nothing; a real change joins the history.
    let change = format!("{path}/changes");
    app.clock.set(at("13:00:00"));
    let stale = app
        .request(reqwest::Method::POST, &change, &app.agent)
        .header(IF_MATCH, "\"1\"")
        .json(&json!({"status": "wont_fix"}))
        .send()
        .await
        .unwrap();
    assert_problem(stale, StatusCode::PRECONDITION_FAILED, "version_mismatch").await;
    let same = change_fix(
        &app,
        &app.agent,
        ML_88,
        "13:00:00",
        json!({"status": "shipped"}),
    )
    .await;
    assert_eq!(same["history"].as_array().unwrap().len(), 3);
    let reverted = app
        .request(reqwest::Method::POST, &change, &app.agent)
        .header(IF_MATCH, &etag)
        .json(&json!({"status": "in_progress", "owner": "ml-platform", "note": "regressed in 4.3"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reverted.status(), StatusCode::OK);
    let reverted: Value = reverted.json().await.unwrap();
    assert_eq!(
        reverted["history"][3],
        json!({"status": "in_progress", "owner": "ml-platform", "at": "2026-11-25T13:00:00Z", "by": "agent", "note": "regressed in 4.3"})
    );
    assert_eq!(
        reverted["shipped_at"], "2026-11-25T10:00:00Z",
        "first shipped stays"
    );
    let refused = app
        .post(&change, &app.agent, &json!({"status": "launched"}))
        .await;
    assert_problem(
        refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let missing = app
        .post(
            "/api/v1/fixes/fix-nothing/changes",
            &app.agent,
            &json!({"status": "shipped"}),
        )
        .await;
    assert_problem(missing, StatusCode::NOT_FOUND, "not_found").await;

    // A decision newly naming the fix moves it with a history entry.
    let e11 = file_at(&app, "13:10:00").await;
    decide_at(
        &app,
        &e11,
        "13:11:00",
        with_cause(AFP, Some((ML_88, "shipped"))),
    )
    .await;
    let fix = app.admin_json(&path).await;
    assert_eq!(
        fix["history"][4],
        json!({"status": "shipped", "owner": "amara", "at": "2026-11-25T13:11:00Z", "by": "agent", "escalation": "ESC-11"})
    );

    // A fix belongs to one cause: naming it with another is refused and
    // the escalation is left as it was.
    let e12 = file_at(&app, "13:20:00").await;
    let wrong = app
        .post(
            &format!("/api/v1/escalations/{e12}/decision"),
            &app.agent,
            &with_cause("reviewer_error", Some((ML_88, "shipped"))),
        )
        .await;
    let problem =
        assert_problem(wrong, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        problem["errors"][0]["field"], "upstream_fix.url",
        "{problem}"
    );
    assert_eq!(
        app.admin_json(&format!("/api/v1/escalations/{e12}")).await["status"],
        "new"
    );
}

async fn partners_cannot_see_root_causes_or_fixes(app: TestApp) {
    fixture(&app).await;
    let code = Fix::code_for(ML_88);
    for path in [
        "/api/v1/root-causes".to_string(),
        format!("/api/v1/root-causes/{AFP}"),
        "/api/v1/fixes".to_string(),
        format!("/api/v1/fixes/{code}"),
    ] {
        assert_problem(
            app.get(&path, &app.police).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
    let change = app
        .post(
            &format!("/api/v1/fixes/{code}/changes"),
            &app.police,
            &json!({"status": "wont_fix"}),
        )
        .await;
    assert_problem(change, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(
        app.admin_json(&format!("/api/v1/fixes/{code}")).await["status"],
        "shipped"
    );
    // The partner's own escalation does not tell the cause or the fix.
    let told = app
        .get("/api/v1/escalations/ESC-1", &app.police)
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(told["decision"]["upstream_fix"], Value::Null);
}

async fn the_console_shows_the_pareto_table_and_changes_a_fix(app: TestApp) {
    fixture(&app).await;
    add_user(&app, "mika@example.com", Role::Agent, None).await;
    let mut staff = Browser::new(&app);
    let csrf = staff.sign_in("mika@example.com", "/console").await;
    let home = staff.get("/console").await.text().await.unwrap();
    assert!(home.contains(r#"<a href="/console/root-causes">Root causes</a>"#));

    let pareto = staff.get("/console/root-causes").await;
    assert_eq!(pareto.status(), StatusCode::OK);
    let pareto = pareto.text().await.unwrap();
    assert!(
        pareto.contains("Decided escalations: 9 (8 with a root cause, 1 without)."),
        "{pareto}"
    );
    // 6 and 2 of the 8 with a cause: 75 % and 25 %, adding up to 100 %.
    assert!(
        pareto.contains(concat!(
            r#"<th scope="row"><a href="/console/root-causes/automation_false_positive">Automation false positive</a></th>"#,
            "\n    <td>6</td>\n    <td>75.0\u{a0}%</td>\n    <td>75.0\u{a0}%</td>\n    <td>1</td>\n    <td>shipped, shipped</td>\n",
            r#"    <td>3 <span class="by">since 2026-11-25 10:00 UTC</span></td>"#
        )),
        "{pareto}"
    );
    assert!(
        pareto.contains("<td>2</td>\n    <td>25.0\u{a0}%</td>\n    <td>100.0\u{a0}%</td>"),
        "{pareto}"
    );
    assert!(pareto.contains(r#"<div class="scroll"><table class="pareto">"#));

    let page = staff
        .get(&format!("/console/root-causes/{AFP}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"<a href="/console/escalations/ESC-10">ESC-10</a>"#));
    assert!(
        page.contains(
            "<tr class=\"recurring\">\n      <td><a href=\"/console/escalations/ESC-7\">"
        )
    );
    assert!(
        page.contains("<tr>\n      <td><a href=\"/console/escalations/ESC-6\">"),
        "same second: not recurring"
    );
    assert!(page.contains("3 filed after the first fix shipped (2026-11-25 10:00 UTC)"));
    assert!(page.contains("release 4.2") && page.contains(ML_91));
    assert!(page.contains("1–6 of 6, newest filed first"));

    // The fix form: version from the record, a change, and the history.
    let code = Fix::code_for(ML_91);
    let version = app
        .get(&format!("/api/v1/fixes/{code}"), &app.admin)
        .await
        .headers()[ETAG]
        .to_str()
        .unwrap()
        .trim_matches('"')
        .to_string();
    assert!(page.contains(&format!(r#"action="/console/fixes/{code}""#)));
    app.clock.set(at("14:00:00"));
    let form = |version: &str| -> Vec<(&'static str, String)> {
        vec![
            ("csrf", csrf.clone()),
            ("version", version.to_string()),
            ("status", "wont_fix".to_string()),
            ("owner", "kenji".to_string()),
            ("note", "Superseded by ML-88".to_string()),
        ]
    };
    let refs = |form: &[(&'static str, String)]| -> Vec<(&'static str, String)> { form.to_vec() };
    let post = async |staff: &mut Browser<'_>, form: Vec<(&'static str, String)>| {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        staff.post(&format!("/console/fixes/{code}"), &pairs).await
    };
    let refused = post(&mut staff, refs(&form(&version)[1..])).await;
    assert_eq!(
        refused.status(),
        StatusCode::FORBIDDEN,
        "no anti-forgery token"
    );
    let changed = post(&mut staff, form(&version)).await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&changed).starts_with(&format!("/console/root-causes/{AFP}?notice=")),
        "{}",
        location(&changed)
    );
    let fix = app.admin_json(&format!("/api/v1/fixes/{code}")).await;
    assert_eq!(
        fix["history"].as_array().unwrap().last().unwrap(),
        &json!({"status": "wont_fix", "owner": "kenji", "at": "2026-11-25T14:00:00Z", "by": "Mika Tanaka", "note": "Superseded by ML-88"})
    );
    assert_eq!(fix["shipped_at"], "2026-11-25T12:00:00Z");
    let stale = post(&mut staff, form(&version)).await;
    assert_eq!(
        stale.status(),
        StatusCode::PRECONDITION_FAILED,
        "a change made meanwhile is not overwritten"
    );
    let page = staff
        .get(&format!("/console/root-causes/{AFP}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Superseded by ML-88") && page.contains("wont fix"));

    // Deciding in the workspace "as tracked" keeps the fix where it stands.
    let e = file_at(&app, "14:10:00").await;
    let workspace = staff
        .get(&format!("/console/escalations/{e}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(workspace.contains(r#"<option value="">as tracked (proposed if new)</option>"#));
    let version = crate::console::hidden(&workspace, "version");
    let decided = staff
        .post(
            &format!("/console/escalations/{e}/decision"),
            &[
                ("csrf", csrf.as_str()),
                ("version", &version),
                ("outcome", "reinstated"),
                ("root_cause", AFP),
                ("fix_url", ML_91),
                ("fix_status", ""),
            ],
        )
        .await;
    assert_eq!(decided.status(), StatusCode::SEE_OTHER);
    let stored = app.admin_json(&format!("/api/v1/escalations/{e}")).await;
    assert_eq!(
        stored["decision"]["upstream_fix"],
        json!({"url": ML_91, "status": "wont_fix", "owner": "kenji"})
    );
    let fix = app.admin_json(&format!("/api/v1/fixes/{code}")).await;
    assert_eq!(
        fix["history"].as_array().unwrap().len(),
        3,
        "no change to record"
    );
    let workspace = staff
        .get(&format!("/console/escalations/{e}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(workspace.contains(&format!(r#"<a href="/console/root-causes/{AFP}">"#)));

    // Partners have no console.
    add_user(
        &app,
        "desk@police.example",
        Role::Partner,
        Some("jp-police"),
    )
    .await;
    let mut partner = Browser::new(&app);
    partner.sign_in("desk@police.example", "/portal").await;
    assert_eq!(
        partner.get("/console/root-causes").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        partner
            .get(&format!("/console/root-causes/{AFP}"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
}
