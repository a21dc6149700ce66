//! The console's admin pages over HTTP: reference data, settings documents
//! as JSON (with the routing dry run), partners, users and tokens; who may
//! use them; and refused input coming back as typed.

use ombud_domain::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::console::{Browser, add_user, hidden, location, setup};
use crate::helpers::{TestApp, on_both_backends};

on_both_backends!(
    only_admins_and_managers_configure,
    reference_data_and_settings_are_edited_and_checked_like_the_api,
    admins_add_users_and_tokens_and_revoke_them
);

async fn only_admins_and_managers_configure(app: TestApp) {
    setup(&app).await;
    add_user(&app, "lead@example.com", Role::Manager, None).await;
    let mut agent = Browser::new(&app);
    agent.sign_in("mika@example.com", "/console").await;
    assert_eq!(
        agent.get("/console/admin").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        agent.get("/console/admin/settings/queues").await.status(),
        StatusCode::FORBIDDEN
    );
    let mut manager = Browser::new(&app);
    manager.sign_in("lead@example.com", "/console").await;
    let index = manager.get("/console/admin").await.text().await.unwrap();
    assert!(
        index.contains("/console/admin/settings/routing-rules")
            && !index.contains("/console/admin/users")
    );
    assert_eq!(
        manager.get("/console/admin/users").await.status(),
        StatusCode::FORBIDDEN,
        "users and tokens are for admins"
    );
}

async fn reference_data_and_settings_are_edited_and_checked_like_the_api(app: TestApp) {
    setup(&app).await;
    add_user(&app, "lead@example.com", Role::Manager, None).await;
    let mut lead = Browser::new(&app);
    let csrf = lead.sign_in("lead@example.com", "/console").await;

    // Reference data: add an outcome; a bad code comes back as typed.
    let refused = lead
        .post(
            "/console/admin/reference/outcomes",
            &[
                ("csrf", csrf.as_str()),
                ("code", "Partly Restored"),
                ("label", "Partly restored"),
                ("active", "on"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    assert!(page.contains("code:") && page.contains(r#"value="Partly restored""#));
    let added = lead
        .post(
            "/console/admin/reference/outcomes",
            &[
                ("csrf", csrf.as_str()),
                ("code", "partly_restored"),
                ("label", "Partly restored"),
                ("active", "on"),
            ],
        )
        .await;
    assert_eq!(
        location(&added),
        "/console/admin/reference/outcomes?notice=Saved."
    );
    // Retire it: the checkbox left unticked.
    lead.post(
        "/console/admin/reference/outcomes/partly_restored",
        &[("csrf", csrf.as_str()), ("label", "Partly restored")],
    )
    .await;
    let item = app
        .admin_json("/api/v1/reference/outcomes/partly_restored")
        .await;
    assert_eq!(
        (&item["label"], &item["active"]),
        (&json!("Partly restored"), &json!(false))
    );

    // A queue as JSON: faults are named by their place, the text is kept.
    let bad = r#"{"code": "emea", "name": "EMEA desk", "team": 7}"#;
    let refused = lead
        .post(
            "/console/admin/settings/queues",
            &[("csrf", csrf.as_str()), ("text", bad)],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    assert!(page.contains("team: invalid type"), "{page}");
    assert!(page.contains("EMEA desk"), "kept as typed");
    let good = r#"{"code": "emea", "name": "EMEA desk", "team": "Trust EMEA"}"#;
    let created = lead
        .post(
            "/console/admin/settings/queues",
            &[("csrf", csrf.as_str()), ("text", good)],
        )
        .await;
    assert_eq!(
        location(&created),
        "/console/admin/settings/queues/emea?notice=Created."
    );
    let again = lead
        .post(
            "/console/admin/settings/queues",
            &[("csrf", csrf.as_str()), ("text", good)],
        )
        .await;
    assert_eq!(
        again.status(),
        StatusCode::CONFLICT,
        "a code is not taken twice"
    );
    let editor = lead
        .get("/console/admin/settings/queues/emea")
        .await
        .text()
        .await
        .unwrap();
    let version = hidden(&editor, "version");
    let renamed = r#"{"code": "emea", "name": "Europe desk", "team": "Trust EMEA"}"#;
    let saved = lead
        .post(
            "/console/admin/settings/queues/emea",
            &[
                ("csrf", csrf.as_str()),
                ("version", &version),
                ("text", renamed),
            ],
        )
        .await;
    assert_eq!(
        location(&saved),
        "/console/admin/settings/queues/emea?notice=Saved."
    );
    let stale = lead
        .post(
            "/console/admin/settings/queues/emea",
            &[
                ("csrf", csrf.as_str()),
                ("version", &version),
                ("text", good),
            ],
        )
        .await;
    assert_eq!(
        stale.status(),
        StatusCode::PRECONDITION_FAILED,
        "no lost update"
    );
    let queues: Vec<serde_json::Value> = app
        .get("/api/v1/queues", &app.admin)
        .await
        .json()
        .await
        .unwrap();
    let queue = queues.iter().find(|q| q["code"] == "emea").unwrap();
    assert_eq!(queue["name"], "Europe desk");

    // The routing rules page dry-runs the rules on a case.
    let rule = json!({"code": "japan-police", "name": "Japanese police first", "position": 1,
        "when": {"in": {"field": "country", "values": ["JP"]}}, "then": [{"set_queue": "emea"}]});
    let stored = app
        .put("/api/v1/routing-rules/japan-police", &app.admin, &rule)
        .await;
    assert!(
        stored.status().is_success(),
        "{}",
        stored.text().await.unwrap()
    );
    let dry = lead
        .get("/console/admin/settings/routing-rules?dry_run=ESC-1")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        dry.contains("rule japan-police fired: Japanese police first")
            && dry.contains("queue emea"),
        "{dry}"
    );
    let unknown = lead
        .get("/console/admin/settings/routing-rules?dry_run=ESC-999")
        .await
        .text()
        .await
        .unwrap();
    assert!(unknown.contains("ESC-999"), "the error names the case");

    // Partners: edit the fields as JSON against the version shown.
    let editor = lead
        .get("/console/admin/partners/jp-police")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        editor.contains("tier") && editor.contains("allowed_types"),
        "{editor}"
    );
    let version = hidden(&editor, "version");
    let saved = lead
        .post(
            "/console/admin/partners/jp-police",
            &[
                ("csrf", csrf.as_str()),
                ("version", &version),
                ("text", r#"{"tier": 1, "language": "ja"}"#),
            ],
        )
        .await;
    assert_eq!(
        location(&saved),
        "/console/admin/partners/jp-police?notice=Saved."
    );
    let refused = lead
        .post(
            "/console/admin/partners/jp-police",
            &[
                ("csrf", csrf.as_str()),
                ("version", &version),
                ("text", r#"{"tier": 9}"#),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("tier"));
    let partner = app.admin_json("/api/v1/partners/jp-police").await;
    assert_eq!(partner["tier"], 1);
}

async fn admins_add_users_and_tokens_and_revoke_them(app: TestApp) {
    setup(&app).await;
    add_user(&app, "root@example.com", Role::Admin, None).await;
    let mut admin = Browser::new(&app);
    let csrf = admin.sign_in("root@example.com", "/console").await;

    let short = admin
        .post(
            "/console/admin/users",
            &[
                ("csrf", csrf.as_str()),
                ("email", "desk@police.example"),
                ("name", "Police desk"),
                ("role", "partner"),
                ("partner", "jp-police"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = short.text().await.unwrap();
    assert!(page.contains("at least 12") && page.contains(r#"value="desk@police.example""#));
    assert!(
        !page.contains(r#"value="short""#),
        "a password is never shown back"
    );
    let staff_with_partner = admin
        .post(
            "/console/admin/users",
            &[
                ("csrf", csrf.as_str()),
                ("email", "desk@police.example"),
                ("name", "Police desk"),
                ("role", "agent"),
                ("partner", "jp-police"),
                ("password", "a long enough password"),
            ],
        )
        .await;
    assert_eq!(
        staff_with_partner.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let added = admin
        .post(
            "/console/admin/users",
            &[
                ("csrf", csrf.as_str()),
                ("email", "desk@police.example"),
                ("name", "Police desk"),
                ("role", "partner"),
                ("partner", "jp-police"),
                ("password", "a long enough password"),
            ],
        )
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let mut desk = Browser::new(&app);
    let page = desk.get("/sign-in").await.text().await.unwrap();
    let signed_in = desk
        .post(
            "/sign-in",
            &[
                ("csrf", &hidden(&page, "csrf")),
                ("email", "desk@police.example"),
                ("password", "a long enough password"),
            ],
        )
        .await;
    assert_eq!(location(&signed_in), "/portal", "the new user signs in");
    assert_eq!(desk.get("/portal").await.status(), StatusCode::OK);

    // Deactivated, the user is signed out at once; an admin cannot stop
    // themselves.
    let stopped = admin
        .post(
            "/console/admin/users/desk@police.example/active",
            &[("csrf", csrf.as_str()), ("active", "false")],
        )
        .await;
    assert_eq!(stopped.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        desk.get("/portal").await.status(),
        StatusCode::SEE_OTHER,
        "to the sign-in form"
    );
    let own = admin
        .post(
            "/console/admin/users/root@example.com/active",
            &[("csrf", csrf.as_str()), ("active", "false")],
        )
        .await;
    assert_eq!(own.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let created = admin
        .post(
            "/console/admin/tokens",
            &[
                ("csrf", csrf.as_str()),
                ("name", "SOAR integration"),
                ("role", "agent"),
            ],
        )
        .await;
    assert_eq!(created.status(), StatusCode::OK);
    let page = created.text().await.unwrap();
    let secret = {
        let start = page
            .find(r#"id="secret" type="text" readonly size="60" value=""#)
            .unwrap()
            + 50;
        page[start..].split('"').next().unwrap().to_string()
    };
    assert!(secret.starts_with("ombud_"), "{secret}");
    assert_eq!(
        app.get("/api/v1/escalations", &secret).await.status(),
        StatusCode::OK
    );
    let listed = admin
        .get("/console/admin/users")
        .await
        .text()
        .await
        .unwrap();
    assert!(!listed.contains(&secret), "the secret is shown once");
    // The id in the first cell of the new token's row.
    let id = {
        let row = listed.find("SOAR integration (").unwrap();
        let cell = listed[..row].rfind("<tr><td>").unwrap() + "<tr><td>".len();
        listed[cell..].split('<').next().unwrap().to_string()
    };
    let revoked = admin
        .post(
            &format!("/console/admin/tokens/{id}/revoke"),
            &[("csrf", csrf.as_str())],
        )
        .await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/api/v1/escalations", &secret).await.status(),
        StatusCode::UNAUTHORIZED
    );
}
