//! The staff console over HTTP, as a browser uses it: cookies, forms with
//! anti-forgery tokens, redirects after each post.

use ombud_domain::Role;
use ombud_store::NewUser;
use reqwest::header::{CONTENT_SECURITY_POLICY, COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::{Response, StatusCode};
use serde_json::json;

use crate::helpers::{PNG, TestApp, on_both_backends, police_case, upload};

on_both_backends!(
    staff_sign_in_claim_comment_and_sign_out,
    forms_without_this_sessions_token_are_refused,
    partners_see_only_their_own_cases_and_reply_in_the_portal,
    partners_file_new_escalations_and_keep_what_they_typed_on_errors,
    expired_sessions_end_at_the_sign_in_form,
    sensitive_media_is_blurred_until_revealed_and_each_reveal_is_logged,
    a_required_consult_asked_in_the_console_blocks_resolving_until_answered,
    staff_preview_and_send_a_template_to_the_partner,
    cases_are_handed_to_a_colleague_or_back_to_the_queue_with_a_note,
    the_overview_shows_the_backlog_and_intake_with_their_numbers,
    partners_attach_files_whose_content_matches_their_type,
    repeated_wrong_passwords_hold_the_account_for_a_while,
    partners_follow_the_deadlines_promised_to_them,
    staff_add_subjects_and_attach_files_in_the_workspace,
    work_lists_filter_save_and_act_in_bulk,
    related_escalations_are_shown_and_linked_both_ways,
    any_work_list_downloads_as_csv_with_every_row
);

pub const PASSWORD: &str = "correct horse battery staple";

pub async fn add_user(app: &TestApp, email: &str, role: Role, partner: Option<&str>) {
    let user = NewUser {
        email: email.into(),
        name: "Mika Tanaka".into(),
        role,
        partner: partner.map(str::to_string),
        password_hash: ombud_server::auth::hash_password(PASSWORD),
        created_at: "2026-11-25T09:00:00Z".parse().unwrap(),
    };
    app.stores.directory.create_user(&user).await.expect("user");
}

/// A browser: no automatic redirects, cookies carried by hand so that
/// their attributes can be checked.
pub struct Browser<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    cookies: Vec<String>,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Browser {
            app,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Vec::new(),
        }
    }

    fn keep_cookies(&mut self, response: &Response) {
        for set in response.headers().get_all(SET_COOKIE) {
            let pair = set.to_str().unwrap().split(';').next().unwrap().to_string();
            let name = pair.split('=').next().unwrap().to_string();
            self.cookies.retain(|c| !c.starts_with(&format!("{name}=")));
            if !pair.ends_with('=') {
                self.cookies.push(pair);
            }
        }
    }

    pub async fn get(&mut self, path: &str) -> Response {
        let response = self
            .client
            .get(format!("{}{path}", self.app.base))
            .header(COOKIE, self.cookies.join("; "))
            .send()
            .await
            .unwrap();
        self.keep_cookies(&response);
        response
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Response {
        let response = self
            .client
            .post(format!("{}{path}", self.app.base))
            .header(COOKIE, self.cookies.join("; "))
            .header(ORIGIN, &self.app.base)
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep_cookies(&response);
        response
    }

    async fn post_multipart(&mut self, path: &str, form: reqwest::multipart::Form) -> Response {
        let response = self
            .client
            .post(format!("{}{path}", self.app.base))
            .header(COOKIE, self.cookies.join("; "))
            .header(ORIGIN, &self.app.base)
            .multipart(form)
            .send()
            .await
            .unwrap();
        self.keep_cookies(&response);
        response
    }

    /// Signs in, expecting to land on `home`, and returns the session's
    /// anti-forgery token.
    pub async fn sign_in(&mut self, email: &str, home: &str) -> String {
        let page = self.get("/sign-in").await.text().await.unwrap();
        let signed_in = self
            .post(
                "/sign-in",
                &[
                    ("csrf", &token(&page)),
                    ("email", email),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&signed_in), home);
        token(&self.get(home).await.text().await.unwrap())
    }
}

/// The value of the first hidden field `name` on a page.
pub fn hidden(html: &str, name: &str) -> String {
    let field = format!(r#"name="{name}" value=""#);
    let start = html.find(&field).expect("the field") + field.len();
    html[start..].split('"').next().unwrap().to_string()
}

/// The anti-forgery token of a page's forms.
fn token(html: &str) -> String {
    hidden(html, "csrf")
}

pub fn location(response: &Response) -> &str {
    response.headers()[LOCATION].to_str().unwrap()
}

pub async fn setup(app: &TestApp) {
    add_user(app, "mika@example.com", Role::Agent, None).await;
    let mika =
        json!({"email": "mika@example.com", "queues": [], "languages": ["ja"], "capacity": 5});
    let stored = app
        .put("/api/v1/agents/mika@example.com", &app.admin, &mika)
        .await;
    assert_eq!(stored.status(), StatusCode::CREATED);
    app.file(&app.police, police_case("Account of a singer taken over"))
        .await;
}

async fn staff_sign_in_claim_comment_and_sign_out(app: TestApp) {
    setup(&app).await;
    let mut browser = Browser::new(&app);
    let anonymous = browser.get("/console").await;
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&anonymous), "/sign-in");

    let form = browser.get("/sign-in").await;
    assert_eq!(form.status(), StatusCode::OK);
    let policy = form.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"));
    let csrf = token(&form.text().await.unwrap());
    let wrong = browser
        .post(
            "/sign-in",
            &[
                ("csrf", &csrf),
                ("email", "mika@example.com"),
                ("password", "guess"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let page = wrong.text().await.unwrap();
    assert!(page.contains("do not match an active account"));
    assert!(
        page.contains(r#"value="mika@example.com""#),
        "the email is kept"
    );

    let signed_in = browser
        .post(
            "/sign-in",
            &[
                ("csrf", &csrf),
                ("email", "Mika@Example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let session = signed_in
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("ombud_session="))
        .expect("a session cookie");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax"));
    assert!(!session.contains("Secure"), "plain HTTP on loopback");

    let unassigned = browser.get("/console?view=unassigned").await;
    assert_eq!(unassigned.status(), StatusCode::OK);
    let page = unassigned.text().await.unwrap();
    assert!(page.contains("ESC-1") && page.contains("Account of a singer taken over"));
    let csrf = token(&page);

    let claimed = browser.post("/console/claim", &[("csrf", &csrf)]).await;
    assert_eq!(claimed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&claimed), "/console/escalations/ESC-1");
    let stored = app.admin_json("/api/v1/escalations/ESC-1").await;
    assert_eq!(stored["assignee"], "mika@example.com");
    let mine = browser.get("/console").await.text().await.unwrap();
    assert!(mine.contains("My work") && mine.contains("ESC-1"));
    let nothing = browser.post("/console/claim", &[("csrf", &csrf)]).await;
    assert!(location(&nothing).contains("Nothing+to+claim"));

    let workspace = browser.get("/console/escalations/ESC-1").await;
    assert_eq!(workspace.status(), StatusCode::OK);
    let page = workspace.text().await.unwrap();
    assert!(page.contains("Account of a singer taken over") && page.contains("Timeline"));
    assert!(page.contains("account_access") || page.contains("jp-police"));
    let version = stored["version"].to_string();
    let commented = browser
        .post(
            "/console/escalations/ESC-1/comments",
            &[
                ("csrf", &csrf),
                ("body", "Checked the login history: two foreign IPs."),
                ("visibility", "internal"),
            ],
        )
        .await;
    assert_eq!(commented.status(), StatusCode::SEE_OTHER);
    let timeline = app.timeline("ESC-1", &app.admin).await;
    let note = timeline.last().unwrap();
    assert_eq!(
        (&note["kind"], &note["visibility"], &note["actor"]["name"]),
        (
            &json!("comment_added"),
            &json!("internal"),
            &json!("Mika Tanaka")
        )
    );
    let partner_view = app.timeline("ESC-1", &app.police).await;
    assert!(
        partner_view.iter().all(|e| e["kind"] != "comment_added"),
        "the partner never sees an internal note"
    );
    let page = browser
        .get("/console/escalations/ESC-1")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Checked the login history: two foreign IPs."));

    // The form was read at an older version: a clear refusal, nothing changed.
    let stale = browser
        .post(
            "/console/escalations/ESC-1/transition",
            &[
                ("csrf", &csrf),
                ("version", &version),
                ("to", "investigating"),
            ],
        )
        .await;
    assert!(stale.status().is_client_error(), "{}", stale.status());
    let refusal = stale.text().await.unwrap();
    assert!(refusal.contains("read it again"), "{refusal}");
    assert_eq!(
        app.timeline("ESC-1", &app.admin).await.len(),
        timeline.len()
    );

    let signed_out = browser.post("/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(location(&signed_out), "/sign-in");
    let after = browser.get("/console").await;
    assert_eq!(location(&after), "/sign-in");
}

async fn forms_without_this_sessions_token_are_refused(app: TestApp) {
    setup(&app).await;
    let mut browser = Browser::new(&app);
    // Signing in needs the token the form was served with.
    let forged = browser
        .post(
            "/sign-in",
            &[
                ("csrf", "made-up"),
                ("email", "mika@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let csrf = browser.sign_in("mika@example.com", "/console").await;
    for form in [
        vec![("csrf", "0".repeat(64))],
        vec![("csrf", String::new())],
    ] {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let refused = browser.post("/console/claim", &form).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    }
    let missing = browser.post("/console/claim", &[]).await;
    assert!(missing.status().is_client_error());
    // The right token from another site's page is refused too.
    let cross_site = browser
        .client
        .post(format!("{}/console/claim", app.base))
        .header(COOKIE, browser.cookies.join("; "))
        .header(ORIGIN, "https://attacker.example")
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    // A form missing a field gets the HTML error page saying so.
    let incomplete = browser
        .post(
            "/console/escalations/ESC-1/transition",
            &[("csrf", csrf.as_str()), ("to", "investigating")],
        )
        .await;
    assert_eq!(incomplete.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        incomplete.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        incomplete
            .text()
            .await
            .unwrap()
            .contains("missing field `version`")
    );
    let stored = app.admin_json("/api/v1/escalations/ESC-1").await;
    assert_eq!(
        stored["assignee"],
        json!(null),
        "no refused form changed anything"
    );
}

async fn partners_see_only_their_own_cases_and_reply_in_the_portal(app: TestApp) {
    setup(&app).await;
    // ESC-2 belongs to another partner; ESC-1 gets an internal note.
    let mut other = police_case("Ministry's own case");
    other["partner"] = json!("th-ministry");
    app.file(&app.ministry, other).await;
    let note = json!({"body": "Internal: the account owner is a minor", "visibility": "internal"});
    let noted = app
        .post("/api/v1/escalations/ESC-1/comments", &app.agent, &note)
        .await;
    assert_eq!(noted.status(), StatusCode::CREATED);
    add_user(
        &app,
        "desk@police.example",
        Role::Partner,
        Some("jp-police"),
    )
    .await;

    let mut partner = Browser::new(&app);
    partner.sign_in("desk@police.example", "/portal").await;
    let list = partner.get("/portal").await.text().await.unwrap();
    assert!(list.contains("ESC-1") && list.contains("Account of a singer taken over"));
    assert!(!list.contains("ESC-2") && !list.contains("Ministry's own case"));
    assert_eq!(
        partner.get("/portal/escalations/ESC-2").await.status(),
        StatusCode::NOT_FOUND,
        "another partner's case does not exist for them"
    );
    assert_eq!(
        partner.get("/console").await.status(),
        StatusCode::FORBIDDEN
    );

    let case = partner
        .get("/portal/escalations/ESC-1")
        .await
        .text()
        .await
        .unwrap();
    assert!(case.contains("パスワードとメールアドレスが変更されました"));
    assert!(
        !case.contains("the account owner is a minor"),
        "no internal note"
    );
    assert!(!case.contains("score") && !case.contains("Clocks"));
    let csrf = token(&case);

    let empty = partner
        .post(
            "/portal/escalations/ESC-1/replies",
            &[("csrf", &csrf), ("body", "   ")],
        )
        .await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = empty.text().await.unwrap();
    assert!(
        page.contains(r#"role="alert""#) && page.contains("body"),
        "{page}"
    );
    let before = app.timeline("ESC-1", &app.admin).await.len();

    let sent = partner
        .post(
            "/portal/escalations/ESC-1/replies",
            &[
                ("csrf", &csrf),
                ("body", "新しいログイン通知が届きました。"),
            ],
        )
        .await;
    assert_eq!(
        location(&sent),
        "/portal/escalations/ESC-1?notice=Reply+sent."
    );
    let timeline = app.timeline("ESC-1", &app.admin).await;
    assert_eq!(
        timeline.len(),
        before + 1,
        "the refused reply wrote nothing"
    );
    let reply = timeline.last().unwrap();
    assert_eq!(
        (
            &reply["visibility"],
            &reply["actor"]["role"],
            &reply["data"]["body"]
        ),
        (
            &json!("partner"),
            &json!("partner"),
            &json!("新しいログイン通知が届きました。")
        )
    );
    let case = partner
        .get("/portal/escalations/ESC-1")
        .await
        .text()
        .await
        .unwrap();
    assert!(case.contains("新しいログイン通知が届きました。"));
}

async fn partners_file_new_escalations_and_keep_what_they_typed_on_errors(app: TestApp) {
    setup(&app).await;
    add_user(
        &app,
        "desk@police.example",
        Role::Partner,
        Some("jp-police"),
    )
    .await;
    let mut partner = Browser::new(&app);
    partner.sign_in("desk@police.example", "/portal").await;
    let form = partner.get("/portal/new").await.text().await.unwrap();
    assert!(
        form.contains(r#"name="country" type="text" required value="JP""#),
        "preset from the partner"
    );
    let csrf = token(&form);
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("type", "impersonation"),
        ("title", ""),
        (
            "description",
            "偽アカウントが当庁の名前で詐欺を勧誘しています。",
        ),
        ("country", "Japan"),
        ("language", "ja"),
        ("partner_ref", "NPA-2026-0117"),
        ("subject_kind", "account"),
        ("subject_surface", "social"),
        ("subject", "https://social.example/npa_fake"),
        ("subject_kind", "post"),
        ("subject_surface", "social"),
        ("subject", "https://social.example/npa_fake/posts/77"),
        ("subject_kind", "account"),
        ("subject_surface", "social"),
        ("subject", ""),
        ("sensitive", "true"),
    ];
    // Text fields and files, as the browser sends the form.
    let form_with = |fields: &[(&str, &str)], files: &[(&[u8], &str, &str)]| {
        let form = files.iter().fold(
            reqwest::multipart::Form::new(),
            |form, (bytes, name, media)| {
                let part = reqwest::multipart::Part::bytes(bytes.to_vec())
                    .file_name(name.to_string())
                    .mime_str(media)
                    .unwrap();
                form.part("file", part)
            },
        );
        fields
            .iter()
            .fold(form, |form, (k, v)| form.text(k.to_string(), v.to_string()))
    };
    let count = app.escalation_count().await;
    let refused = partner
        .post_multipart(
            "/portal/new",
            form_with(&fields, &[(PNG, "screen.png", "image/png")]),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    assert!(
        page.contains("Nothing was sent") && page.contains("title:") && page.contains("country:"),
        "{page}"
    );
    assert!(
        page.contains("偽アカウントが当庁の名前で詐欺を勧誘しています。"),
        "the description is kept"
    );
    assert!(
        page.contains(r#"value="NPA-2026-0117""#)
            && page.contains(r#"<option value="impersonation" selected>"#)
            && page.contains(r#"value="https://social.example/npa_fake/posts/77""#)
            && page.contains(r#"<option value="post" selected>"#),
        "every subject row is kept"
    );
    assert!(page.contains("choose your files again"));
    assert_eq!(app.escalation_count().await, count, "nothing was filed");

    fields[2] = ("title", "Fake account of the police");
    fields[4] = ("country", "JP");
    let lying = partner
        .post_multipart(
            "/portal/new",
            form_with(
                &fields,
                &[
                    (PNG, "screen.png", "image/png"),
                    (b"#!/bin/sh", "notes.png", "image/png"),
                ],
            ),
        )
        .await;
    assert_eq!(lying.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = lying.text().await.unwrap();
    assert!(page.contains("notes.png: declared image/png"), "{page}");
    assert_eq!(
        app.escalation_count().await,
        count,
        "a refused file files nothing"
    );

    let filed = partner
        .post_multipart(
            "/portal/new",
            form_with(
                &fields,
                &[
                    (PNG, "screen.png", "image/png"),
                    (b"%PDF-1.4 order", "order.pdf", "application/pdf"),
                ],
            ),
        )
        .await;
    assert_eq!(filed.status(), StatusCode::SEE_OTHER);
    let key = format!("ESC-{}", count + 1);
    assert!(
        location(&filed).starts_with(&format!(
            "/portal/escalations/{key}?notice=Received+as+{key}+with+2+files"
        )),
        "{}",
        location(&filed)
    );
    let stored = app.admin_json(&format!("/api/v1/escalations/{key}")).await;
    assert_eq!(
        (
            &stored["partner"],
            &stored["channel"],
            &stored["partner_ref"],
            &stored["subjects"][0]["url"],
            &stored["subjects"][1]["kind"],
            stored["subjects"].as_array().unwrap().len(),
        ),
        (
            &json!("jp-police"),
            &json!("portal"),
            &json!("NPA-2026-0117"),
            &json!("https://social.example/npa_fake"),
            &json!("post"),
            2
        )
    );
    let evidence = stored["evidence"].as_array().unwrap();
    assert_eq!(evidence.len(), 2);
    assert!(
        evidence
            .iter()
            .all(|e| e["visibility"] == "partner" && e["sensitive"] == true),
        "{evidence:?}"
    );
    let page = partner
        .get(&format!("/portal/escalations/{key}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Fake account of the police") && page.contains(">order.pdf</a>"));
}

async fn expired_sessions_end_at_the_sign_in_form(app: TestApp) {
    setup(&app).await;
    let mut staff = Browser::new(&app);
    staff.sign_in("mika@example.com", "/console").await;
    assert_eq!(staff.get("/console").await.status(), StatusCode::OK);
    app.clock.advance(jiff::SignedDuration::from_hours(12));
    let expired = staff.get("/console").await;
    assert_eq!(expired.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&expired), "/sign-in");
}

async fn sensitive_media_is_blurred_until_revealed_and_each_reveal_is_logged(app: TestApp) {
    setup(&app).await;
    for (name, sensitive) in [("injury.png", "true"), ("screenshot.png", "false")] {
        let uploaded = app
            .request(
                reqwest::Method::POST,
                "/api/v1/escalations/ESC-1/evidence",
                &app.agent,
            )
            .multipart(upload(
                PNG.to_vec(),
                name,
                "image/png",
                &[("sensitive", sensitive)],
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(uploaded.status(), StatusCode::CREATED);
    }
    let mut staff = Browser::new(&app);
    let csrf = staff.sign_in("mika@example.com", "/console").await;
    let page = staff
        .get("/console/escalations/ESC-1")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(r#"alt="injury.png" class="blurred""#),
        "{page}"
    );
    assert!(
        page.contains(r#"alt="screenshot.png">"#),
        "not sensitive: not blurred"
    );
    assert!(
        !page.contains(r#"evidence/ev-1">injury.png</a>"#),
        "no plain link around the blur"
    );
    let image = staff.get("/console/escalations/ESC-1/evidence/ev-1").await;
    assert_eq!(image.headers()["content-type"], "image/png");
    assert!(
        image.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline")
    );

    let forged = staff
        .post(
            "/console/escalations/ESC-1/evidence/ev-1/reveal",
            &[("csrf", "forged")],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let not_sensitive = staff
        .post(
            "/console/escalations/ESC-1/evidence/ev-2/reveal",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(not_sensitive.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let reveals = |timeline: &[serde_json::Value]| {
        timeline
            .iter()
            .filter(|e| e["kind"] == "evidence_revealed")
            .count()
    };
    assert_eq!(reveals(&app.timeline("ESC-1", &app.admin).await), 0);

    let revealed = staff
        .post(
            "/console/escalations/ESC-1/evidence/ev-1/reveal",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(
        location(&revealed),
        "/console/escalations/ESC-1?revealed=ev-1#evidence-h"
    );
    let timeline = app.timeline("ESC-1", &app.admin).await;
    assert_eq!(reveals(&timeline), 1);
    let logged = timeline.last().unwrap();
    assert_eq!(
        (
            &logged["visibility"],
            &logged["actor"]["name"],
            &logged["data"]["id"]
        ),
        (&json!("internal"), &json!("Mika Tanaka"), &json!("ev-1"))
    );
    let page = staff
        .get("/console/escalations/ESC-1?revealed=ev-1")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"alt="injury.png">"#) && !page.contains(r#"class="blurred""#));
    assert_eq!(
        reveals(&app.timeline("ESC-1", &app.police).await),
        0,
        "partners never see reveals"
    );

    // A personal setting shows sensitive media as it is: each view is
    // logged as a reveal all the same.
    let saved = staff
        .post(
            "/console/preferences/media",
            &[("csrf", csrf.as_str()), ("sensitive", "revealed")],
        )
        .await;
    assert_eq!(location(&saved), "/console/preferences?notice=Saved.");
    let page = staff
        .get("/console/escalations/ESC-1")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"alt="injury.png">"#) && !page.contains(r#"class="blurred""#));
    assert_eq!(reveals(&app.timeline("ESC-1", &app.admin).await), 2);
    let refused = staff
        .post(
            "/console/preferences/media",
            &[("csrf", csrf.as_str()), ("sensitive", "sometimes")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Times in the workspace read in the user's own time zone.
    let before = staff
        .get("/console/escalations/ESC-1")
        .await
        .text()
        .await
        .unwrap();
    assert!(before.contains("2026-11-25 09:00 UTC"), "UTC by default");
    let zoned = staff
        .post(
            "/console/preferences/time-zone",
            &[("csrf", csrf.as_str()), ("time_zone", "Asia/Tokyo")],
        )
        .await;
    assert_eq!(location(&zoned), "/console/preferences?notice=Saved.");
    let after = staff
        .get("/console/escalations/ESC-1")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        after.contains("2026-11-25 18:00 JST")
            && after.contains(r#"datetime="2026-11-25T09:00:00Z""#),
        "shown in Tokyo time, the machine-readable time unchanged"
    );
    let unknown = staff
        .post(
            "/console/preferences/time-zone",
            &[("csrf", csrf.as_str()), ("time_zone", "Mars/Olympus")],
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.text().await.unwrap().contains("not a time zone"));
}

async fn work_lists_filter_save_and_act_in_bulk(app: TestApp) {
    setup(&app).await;
    let queue = json!({"code": "apac", "name": "APAC desk", "team": "Trust APAC"});
    let stored = app.put("/api/v1/queues/apac", &app.admin, &queue).await;
    assert!(stored.status().is_success());
    let mut p2 = police_case("Impersonation of the minister");
    p2["priority"] = json!("P3");
    app.file(&app.police, p2).await;
    let mut staff = Browser::new(&app);
    let csrf = staff.sign_in("mika@example.com", "/console").await;
    let text = |r: Response| async move { r.text().await.unwrap() };

    let p1 = text(staff.get("/console?view=all&priority=P1&queue=").await).await;
    assert!(
        p1.contains("ESC-1") && !p1.contains("ESC-2"),
        "filtered by priority"
    );
    let found = text(staff.get("/console?view=all&q=SINGER").await).await;
    assert!(found.contains("<mark>singer</mark>"), "matches are marked");
    let unknown = staff.get("/console?view=all&colour=red").await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    assert!(text(unknown).await.contains("colour"));

    // Save the P1 list under a name: it heads the list and is on the
    // preferences page, where it can be deleted.
    let saved = staff
        .post(
            "/console/views",
            &[
                ("csrf", csrf.as_str()),
                ("name", "P1 everywhere"),
                ("query", "view=all&priority=P1&queue="),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let named = text(staff.get("/console?view=all&priority=P1").await).await;
    assert!(named.contains("<h1>P1 everywhere"), "{named}");
    let bad = staff
        .post(
            "/console/views",
            &[
                ("csrf", csrf.as_str()),
                ("name", "broken"),
                ("query", "view=somewhere"),
            ],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let prefs = text(staff.get("/console/preferences").await).await;
    assert!(prefs.contains(">P1 everywhere</a>") && !prefs.contains("broken"));
    staff
        .post(
            "/console/views/delete",
            &[("csrf", csrf.as_str()), ("name", "P1 everywhere")],
        )
        .await;
    assert!(
        !text(staff.get("/console/preferences").await)
            .await
            .contains(">P1 everywhere</a>")
    );

    // Bulk: assign both to me, tag them, move them; a bad tag is refused
    // per case, by name, and changes nothing.
    let bulk = |action: &'static str, field: &'static str, value: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("back", "view=all".to_string()),
            ("key", "ESC-1".to_string()),
            ("key", "ESC-2".to_string()),
            ("action", action.to_string()),
            (field, value.to_string()),
        ]
    };
    for (action, field, value) in [
        ("assign", "assignee", "me"),
        ("tag", "tag", "press"),
        ("move", "queue", "apac"),
    ] {
        let form = bulk(action, field, value);
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let done = staff.post("/console/bulk", &form).await;
        assert_eq!(
            location(&done),
            "/console?view=all&notice=Changed+2.",
            "{action}"
        );
    }
    let form = bulk("tag", "tag", "Bad Tag");
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = staff.post("/console/bulk", &form).await;
    assert!(
        location(&refused).contains("Changed+0.+Not+changed%3A+ESC-1"),
        "{}",
        location(&refused)
    );
    for key in ["ESC-1", "ESC-2"] {
        let stored = app.admin_json(&format!("/api/v1/escalations/{key}")).await;
        assert_eq!(stored["assignee"], "mika@example.com");
        assert_eq!(stored["queue"], "apac");
        assert!(stored["tags"].as_array().unwrap().contains(&json!("press")));
        assert!(
            !stored["tags"]
                .as_array()
                .unwrap()
                .contains(&json!("Bad Tag"))
        );
    }

    let mine = text(staff.get("/console?view=mine").await).await;
    assert!(
        mine.contains(r#"My work <span class="count">2</span>"#)
            && mine.contains(r#"Unassigned <span class="count">0</span>"#),
        "each list's count"
    );

    // Waiting on consults lists what has a consult without its answer.
    let ask = json!({"function": "legal", "question": "Valid order?", "required": false});
    let asked = app
        .post("/api/v1/escalations/ESC-2/consults", &app.admin, &ask)
        .await;
    assert_eq!(asked.status(), StatusCode::CREATED);
    let waiting = text(staff.get("/console?view=consults").await).await;
    assert!(
        waiting.contains("ESC-2") && !waiting.contains(">ESC-1<"),
        "{waiting}"
    );
}

async fn a_required_consult_asked_in_the_console_blocks_resolving_until_answered(app: TestApp) {
    setup(&app).await;
    let mut staff = Browser::new(&app);
    let csrf = staff.sign_in("mika@example.com", "/console").await;
    let page = staff
        .get("/console/escalations/ESC-1")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"<option value="legal">Legal</option>"#));
    let asked = staff
        .post(
            "/console/escalations/ESC-1/consults",
            &[
                ("csrf", csrf.as_str()),
                ("function", "legal"),
                ("question", "Is the takedown order valid in Japan?"),
                ("required", "yes"),
                ("due_within", "PT24H"),
            ],
        )
        .await;
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    let page = staff
        .get("/console/escalations/ESC-1")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Is the takedown order valid in Japan?")
            && page.contains("open, due in 1d 0h")
    );

    assert!(
        !page.contains(r#"<option value="resolved">"#),
        "the status form does not resolve: a decision does"
    );
    let version = hidden(&page, "version");
    let bypass = staff
        .post(
            "/console/escalations/ESC-1/transition",
            &[
                ("csrf", csrf.as_str()),
                ("version", &version),
                ("to", "resolved"),
            ],
        )
        .await;
    assert_eq!(bypass.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bypass.text().await.unwrap().contains("decision"));
    let resolve = [
        ("csrf", csrf.as_str()),
        ("version", &version),
        ("outcome", "removed"),
        ("policy", "harassment"),
        ("policy_version", "2026-07"),
        ("root_cause", "automation_false_positive"),
        (
            "root_cause_note",
            "The classifier missed the impersonation.",
        ),
        ("owning_team", "Integrity ML"),
        ("fix_url", "https://tracker.example/ML-88"),
        ("fix_status", "in_progress"),
    ];
    let blocked = staff
        .post("/console/escalations/ESC-1/decision", &resolve)
        .await;
    assert!(blocked.status().is_client_error(), "{}", blocked.status());
    let refusal = blocked.text().await.unwrap();
    assert!(
        refusal.contains("legal"),
        "the error names the consult: {refusal}"
    );

    let answered = staff
        .post(
            "/console/escalations/ESC-1/consults/1/answer",
            &[
                ("csrf", csrf.as_str()),
                ("verdict", "approve"),
                ("note", "Valid under the Provider Liability Act."),
            ],
        )
        .await;
    assert_eq!(answered.status(), StatusCode::SEE_OTHER);
    let page = staff
        .get("/console/escalations/ESC-1")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("approve by Mika Tanaka: Valid under the Provider Liability Act."));
    let version = hidden(&page, "version");
    let mut resolve = resolve.to_vec();
    resolve[1] = ("version", &version);
    let mut bad = resolve.clone();
    bad[2] = ("outcome", "vanished");
    let unknown = staff
        .post("/console/escalations/ESC-1/decision", &bad)
        .await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.text().await.unwrap().contains("unknown outcome"));
    let resolved = staff
        .post("/console/escalations/ESC-1/decision", &resolve)
        .await;
    assert_eq!(resolved.status(), StatusCode::SEE_OTHER);
    let stored = app.admin_json("/api/v1/escalations/ESC-1").await;
    assert_eq!(stored["status"], "resolved");
    let decision = &stored["decision"];
    assert_eq!(
        (
            &decision["outcome"],
            &decision["policy"],
            &decision["policy_version"],
            &decision["root_cause"],
            &decision["owning_team"],
            &decision["upstream_fix"]["status"],
            &decision["decided_by"],
        ),
        (
            &json!("removed"),
            &json!("harassment"),
            &json!("2026-07"),
            &json!("automation_false_positive"),
            &json!("Integrity ML"),
            &json!("in_progress"),
            &json!("Mika Tanaka"),
        )
    );
    let page = staff
        .get("/console/escalations/ESC-1")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("automation false positive — The classifier missed the impersonation.")
            && page.contains("Amend the decision")
    );
    // The partner learns the outcome, never the root cause.
    let told: serde_json::Value = app
        .get("/api/v1/escalations/ESC-1", &app.police)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(told["decision"]["outcome"], "removed");
    assert_eq!(told["decision"]["root_cause"], serde_json::Value::Null);
    assert_eq!(told["decision"]["upstream_fix"], serde_json::Value::Null);
}

async fn staff_preview_and_send_a_template_to_the_partner(app: TestApp) {
    setup(&app).await;
    crate::messages::give_the_police_a_desk_and_templates(&app).await;
    let mut staff = Browser::new(&app);
    let csrf = staff.sign_in("mika@example.com", "/console").await;
    let page = staff
        .get("/console/escalations/ESC-1?preview=update")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("desk@police.example.jp"), "{page}");
    assert!(
        page.contains("受付: Account of a singer taken over"),
        "the partner's language"
    );
    assert!(page.contains("ESC-1 として受け付けました。"));
    assert!(app.smtp.received().is_empty(), "a preview sends nothing");
    let unknown = staff.get("/console/escalations/ESC-1?preview=nope").await;
    assert_eq!(unknown.status(), StatusCode::OK);
    assert!(
        unknown
            .text()
            .await
            .unwrap()
            .contains("there is no template")
    );

    let sent = staff
        .post(
            "/console/escalations/ESC-1/messages",
            &[("csrf", csrf.as_str()), ("template", "update")],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    assert!(location(&sent).contains("Message+sent"));
    let mail = app.smtp.received();
    assert_eq!(mail.len(), 1);
    assert!(mail[0].contains("desk@police.example.jp"));
    let timeline = app.timeline("ESC-1", &app.police).await;
    let archived = timeline.last().unwrap();
    assert_eq!(
        (&archived["kind"], &archived["actor"]["name"]),
        (&json!("message_sent"), &json!("Mika Tanaka")),
        "the partner sees the exact message, sent by the agent"
    );
}

async fn cases_are_handed_to_a_colleague_or_back_to_the_queue_with_a_note(app: TestApp) {
    setup(&app).await;
    add_user(&app, "ren@example.com", Role::Agent, None).await;
    let ren = json!({"email": "ren@example.com", "languages": ["ja"], "capacity": 5});
    app.put("/api/v1/agents/ren@example.com", &app.admin, &ren)
        .await;
    let mut staff = Browser::new(&app);
    let csrf = staff.sign_in("mika@example.com", "/console").await;
    let page = staff
        .get("/console/escalations/ESC-1")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"<option value="ren@example.com">"#));
    let handed = staff
        .post(
            "/console/escalations/ESC-1/handoff",
            &[
                ("csrf", csrf.as_str()),
                ("to", "ren@example.com"),
                ("note", "Needs a Japanese speaker tonight"),
            ],
        )
        .await;
    assert_eq!(
        location(&handed),
        "/console/escalations/ESC-1?notice=Handed+to+ren@example.com."
    );
    let stored = app.admin_json("/api/v1/escalations/ESC-1").await;
    assert_eq!(stored["assignee"], "ren@example.com");
    let timeline = app.timeline("ESC-1", &app.admin).await;
    assert_eq!(
        timeline.last().unwrap()["data"]["note"],
        "Needs a Japanese speaker tonight"
    );
    let back = staff
        .post(
            "/console/escalations/ESC-1/handoff",
            &[("csrf", csrf.as_str()), ("to", "")],
        )
        .await;
    assert_eq!(
        location(&back),
        "/console/escalations/ESC-1?notice=Back+in+its+queue."
    );
    let stored = app.admin_json("/api/v1/escalations/ESC-1").await;
    assert_eq!(stored["assignee"], json!(null));
}

async fn the_overview_shows_the_backlog_and_intake_with_their_numbers(app: TestApp) {
    setup(&app).await;
    let mut case = police_case("Fraud ads");
    case["priority"] = json!("P3");
    case["type"] = json!("scams_fraud");
    app.file(&app.police, case).await;
    let mut staff = Browser::new(&app);
    staff.sign_in("mika@example.com", "/console").await;
    let page = staff.get("/console/overview").await.text().await.unwrap();
    assert!(page.contains("<strong>2</strong> open in all"), "{page}");
    assert!(
        page.contains(
            "<tr><th scope=\"row\">new</th><td>0</td><td>1</td><td>0</td><td>1</td><td>0</td><td>2</td></tr>"
        ),
        "{page}"
    );
    assert!(
        page.contains("<title>new: 2</title>"),
        "the chart draws the same numbers"
    );
    assert!(
        page.contains("<title>11-25: 2</title>"),
        "today's intake bar"
    );
    let csv = staff
        .get("/console/overview/intake.csv")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        csv,
        "day,type,escalations\r\n2026-11-25,account_access,1\r\n2026-11-25,scams_fraud,1\r\n"
    );
}

async fn partners_attach_files_whose_content_matches_their_type(app: TestApp) {
    setup(&app).await;
    add_user(
        &app,
        "desk@police.example",
        Role::Partner,
        Some("jp-police"),
    )
    .await;
    let mut partner = Browser::new(&app);
    let csrf = partner.sign_in("desk@police.example", "/portal").await;
    let send = |token: String, bytes: Vec<u8>, media: &'static str| {
        let form = upload(
            bytes,
            "screen.png",
            media,
            &[("csrf", &token), ("sensitive", "true")],
        );
        partner
            .client
            .post(format!("{}/portal/escalations/ESC-1/evidence", app.base))
            .header(COOKIE, partner.cookies.join("; "))
            .header(ORIGIN, &app.base)
            .multipart(form)
            .send()
    };
    let forged = send("forged".into(), PNG.to_vec(), "image/png")
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let lying = send(csrf.clone(), b"#!/bin/sh".to_vec(), "image/png")
        .await
        .unwrap();
    assert_eq!(lying.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(lying.text().await.unwrap().contains("declared image/png"));
    let stored = app.admin_json("/api/v1/escalations/ESC-1").await;
    assert_eq!(stored["evidence"], json!([]), "refused files are not kept");

    let attached = send(csrf.clone(), PNG.to_vec(), "image/png").await.unwrap();
    assert_eq!(
        location(&attached),
        "/portal/escalations/ESC-1?notice=File+attached."
    );
    let stored = app.admin_json("/api/v1/escalations/ESC-1").await;
    assert_eq!(
        (
            &stored["evidence"][0]["visibility"],
            &stored["evidence"][0]["sensitive"]
        ),
        (&json!("partner"), &json!(true))
    );
    let page = partner
        .get("/portal/escalations/ESC-1")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"evidence/ev-1">screen.png</a>"#));
    let file = partner.get("/portal/escalations/ESC-1/evidence/ev-1").await;
    assert_eq!(file.bytes().await.unwrap().as_ref(), PNG);
}

async fn repeated_wrong_passwords_hold_the_account_for_a_while(app: TestApp) {
    setup(&app).await;
    let mut browser = Browser::new(&app);
    let csrf = token(&browser.get("/sign-in").await.text().await.unwrap());
    let attempt = async |browser: &mut Browser<'_>, password: &str| {
        browser
            .post(
                "/sign-in",
                &[
                    ("csrf", csrf.as_str()),
                    ("email", "mika@example.com"),
                    ("password", password),
                ],
            )
            .await
            .status()
    };
    for _ in 0..5 {
        assert_eq!(
            attempt(&mut browser, "guess").await,
            StatusCode::UNAUTHORIZED
        );
    }
    // Now even the right password waits.
    assert_eq!(
        attempt(&mut browser, PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    app.clock.advance(jiff::SignedDuration::from_mins(15));
    assert_eq!(attempt(&mut browser, PASSWORD).await, StatusCode::SEE_OTHER);
}

async fn partners_follow_the_deadlines_promised_to_them(app: TestApp) {
    let policy = json!({"code": "default", "name": "Default", "basis": "calendar",
        "targets": {"acknowledgement": "PT1H", "resolution": "PT24H"}});
    let created = app
        .put("/api/v1/sla-policies/default", &app.admin, &policy)
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    setup(&app).await;
    add_user(
        &app,
        "desk@police.example",
        Role::Partner,
        Some("jp-police"),
    )
    .await;
    let mut partner = Browser::new(&app);
    partner.sign_in("desk@police.example", "/portal").await;
    let page = partner
        .get("/portal/escalations/ESC-1")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Our commitments"));
    assert!(
        page.contains(
            "<td>acknowledgement</td><td>PT1H</td><td>running</td><td>2026-11-25 10:00 UTC</td>"
        ),
        "{page}"
    );
    assert!(page.contains("<td>resolution</td><td>PT24H</td>"));
}

async fn staff_add_subjects_and_attach_files_in_the_workspace(app: TestApp) {
    setup(&app).await;
    let mut staff = Browser::new(&app);
    let csrf = staff.sign_in("mika@example.com", "/console").await;
    let added = staff
        .post(
            "/console/escalations/ESC-1/subjects",
            &[
                ("csrf", csrf.as_str()),
                ("kind", "ad"),
                ("surface", "ads"),
                ("subject", "https://ads.example/123"),
            ],
        )
        .await;
    assert_eq!(
        location(&added),
        "/console/escalations/ESC-1?notice=Subject+added."
    );
    let empty = staff
        .post(
            "/console/escalations/ESC-1/subjects",
            &[
                ("csrf", csrf.as_str()),
                ("kind", "ad"),
                ("surface", "ads"),
                ("subject", " "),
            ],
        )
        .await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.text().await.unwrap().contains("give the subject"));
    let attach = |visibility: &'static str| {
        let form = upload(
            PNG.to_vec(),
            "injury.png",
            "image/png",
            &[
                ("csrf", csrf.as_str()),
                ("visibility", visibility),
                ("sensitive", "true"),
            ],
        );
        staff
            .client
            .post(format!("{}/console/escalations/ESC-1/evidence", app.base))
            .header(COOKIE, staff.cookies.join("; "))
            .header(ORIGIN, &app.base)
            .multipart(form)
            .send()
    };
    assert_eq!(
        attach("internal").await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        attach("partner").await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    let stored = app.admin_json("/api/v1/escalations/ESC-1").await;
    assert_eq!(stored["subjects"][1]["url"], "https://ads.example/123");
    assert_eq!(
        (
            &stored["evidence"][0]["visibility"],
            &stored["evidence"][1]["visibility"]
        ),
        (&json!("internal"), &json!("partner"))
    );
    let seen: serde_json::Value = app
        .get("/api/v1/escalations/ESC-1", &app.police)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        seen["evidence"].as_array().unwrap().len(),
        1,
        "the partner sees only theirs"
    );
}

async fn related_escalations_are_shown_and_linked_both_ways(app: TestApp) {
    setup(&app).await;
    // Same subject as ESC-1: linked on intake as a possible duplicate.
    app.file(&app.police, police_case("The singer's account again"))
        .await;
    let mut other = police_case("Scam ads with the singer's face");
    other["subjects"] = json!([{"kind": "ad", "surface": "ads", "external_id": "ad-77"}]);
    app.file(&app.police, other).await;
    let mut staff = Browser::new(&app);
    let csrf = staff.sign_in("mika@example.com", "/console").await;
    let page = staff
        .get("/console/escalations/ESC-2")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(r#"possible duplicate <a href="/console/escalations/ESC-1">ESC-1</a>"#),
        "{page}"
    );
    let linked = staff
        .post(
            "/console/escalations/ESC-3/links",
            &[
                ("csrf", csrf.as_str()),
                ("kind", "related"),
                ("to", "ESC-1"),
                ("note", "same campaign"),
            ],
        )
        .await;
    assert_eq!(
        location(&linked),
        "/console/escalations/ESC-3?notice=Linked+to+ESC-1.#links-h"
    );
    let back = staff
        .get("/console/escalations/ESC-1")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        back.contains(r#"related <a href="/console/escalations/ESC-3">ESC-3</a> <span class="by">same campaign</span>"#),
        "linked back"
    );
    let nowhere = staff
        .post(
            "/console/escalations/ESC-3/links",
            &[
                ("csrf", csrf.as_str()),
                ("kind", "related"),
                ("to", "ESC-999"),
            ],
        )
        .await;
    assert!(nowhere.status().is_client_error());
}

async fn any_work_list_downloads_as_csv_with_every_row(app: TestApp) {
    setup(&app).await;
    // More than one export page (200 rows), and titles a spreadsheet could
    // misread: a comma, quotes and a line break; a formula.
    let tricky = "Fake \"police\", Tokyo\nsecond line";
    for i in 0..204 {
        let title = match i {
            0 => tricky.to_string(),
            1 => "=HYPERLINK(\"https://evil.example\")".to_string(),
            n => format!("Case {n}"),
        };
        app.file(&app.police, police_case(&title)).await;
    }
    let mut staff = Browser::new(&app);
    staff.sign_in("mika@example.com", "/console").await;
    let page = staff
        .get("/console?view=all&priority=P1")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(r#"href="/console/export.csv?view=all&"#)
            && page.contains("priority=P1\" download")
    );
    let export = staff.get("/console/export.csv?view=all&priority=P1").await;
    assert_eq!(export.status(), StatusCode::OK);
    assert_eq!(export.headers()["content-type"], "text/csv; charset=utf-8");
    let body = export.bytes().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_ref());
    assert_eq!(
        reader.headers().unwrap().iter().take(4).collect::<Vec<_>>(),
        ["key", "title", "status", "priority"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 205, "every open P1 case, past the first page");
    let titles: Vec<&str> = rows.iter().map(|r| &r[1]).collect();
    assert!(titles.contains(&tricky), "quoted and read back whole");
    assert!(
        titles.contains(&"'=HYPERLINK(\"https://evil.example\")"),
        "defused"
    );
    let mut keys: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 205, "no case twice");
    let none = staff.get("/console/export.csv?view=all&priority=P4").await;
    assert_eq!(
        none.bytes()
            .await
            .unwrap()
            .iter()
            .filter(|b| **b == b'\n')
            .count(),
        1,
        "the header only"
    );
}
