//! Emerging issues: similar escalations found together in any script, by
//! text or by a shared subject, and turned into a link group.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::console::{Browser, add_user, location};
use crate::helpers::{TestApp, assert_problem, on_both_backends, police_case};

on_both_backends!(similar_escalations_cluster_and_link_as_a_group);

fn case(title: &str, description: &str, url: &str) -> Value {
    let mut case = police_case(title);
    case["description"] = json!(description);
    case["subjects"] = json!([{"kind": "account", "surface": "social", "url": url}]);
    case
}

async fn key(app: &TestApp, body: Value) -> String {
    app.file(&app.police, body).await["key"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn similar_escalations_cluster_and_link_as_a_group(app: TestApp) {
    // Three reports of one Japanese scam wave, worded a little differently,
    // each about a different account; two unrelated reports that share one
    // account; one report about something else entirely.
    let wave = [
        key(
            &app,
            case(
                "投資詐欺の広告が急増しています",
                "有名人の写真を使った投資詐欺広告が多数表示されています。被害届が出ています。",
                "https://social.example/a1",
            ),
        )
        .await,
        key(
            &app,
            case(
                "投資詐欺の広告が急増しています!",
                "有名人の写真を使った投資詐欺広告が多数表示されています。被害届が複数出ています。",
                "https://social.example/a2",
            ),
        )
        .await,
        key(
            &app,
            case(
                "投資詐欺の広告が急増",
                "有名人の写真を使った投資詐欺広告が多数表示されています。被害届が出ています",
                "https://social.example/a3",
            ),
        )
        .await,
    ];
    let same_account = [
        key(
            &app,
            case(
                "Harassment of a journalist",
                "Threats in replies since Monday.",
                "https://social.example/shared",
            ),
        )
        .await,
        key(
            &app,
            case(
                "Impersonation report",
                "Someone copied the profile photo.",
                "https://social.example/shared",
            ),
        )
        .await,
    ];
    key(
        &app,
        case(
            "Account locked after password change",
            "The owner cannot sign in.",
            "https://social.example/lone",
        ),
    )
    .await;

    assert_problem(
        app.get("/api/v1/emerging/clusters", &app.police).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_problem(
        app.get(
            "/api/v1/emerging/clusters?created_after=yesterday",
            &app.agent,
        )
        .await,
        StatusCode::BAD_REQUEST,
        "bad_query",
    )
    .await;
    let report: Value = app
        .get("/api/v1/emerging/clusters", &app.agent)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["compared"], json!(6));
    let mut found: Vec<Vec<String>> = report["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let mut members: Vec<String> = c["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m.as_str().unwrap().to_string())
                .collect();
            members.sort();
            members
        })
        .collect();
    found.sort();
    let mut expected = vec![wave.to_vec(), same_account.to_vec()];
    for group in &mut expected {
        group.sort();
    }
    expected.sort();
    assert_eq!(found, expected, "{report}");
    let by_subject = report["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["members"].as_array().unwrap().len() == 2)
        .unwrap();
    assert_eq!(by_subject["shared_subjects"].as_array().unwrap().len(), 1);

    // The console links the wave as a group, once.
    add_user(&app, "lead@example.com", ombud_domain::Role::Manager, None).await;
    let mut lead = Browser::new(&app);
    let csrf = lead.sign_in("lead@example.com", "/console").await;
    let page = lead.get("/console/emerging").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&wave[0]) && html.contains("投資詐欺"),
        "members are listed with titles"
    );
    let mut form = vec![("csrf", csrf.as_str()), ("note", "scam ad wave")];
    form.extend(wave.iter().map(|k| ("member", k.as_str())));
    let linked = lead.post("/console/emerging/link", &form).await;
    assert_eq!(linked.status(), StatusCode::SEE_OTHER);
    assert!(location(&linked).contains("notice"));
    for member in &wave[1..] {
        let escalation: Value = app
            .get(&format!("/api/v1/escalations/{member}"), &app.admin)
            .await
            .json()
            .await
            .unwrap();
        let links = escalation["links"].as_array().unwrap();
        assert!(
            links
                .iter()
                .any(|l| l["key"] == json!(wave[0]) && l["kind"] == "related"),
            "{member} is related to the first: {links:?}"
        );
    }
    let first: Value = app
        .get(&format!("/api/v1/escalations/{}", wave[0]), &app.admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        first["links"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["kind"] == "related")
            .count(),
        2
    );

    let again: Value = app
        .get("/api/v1/emerging/clusters", &app.agent)
        .await
        .json()
        .await
        .unwrap();
    let wave_cluster = again["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["members"].as_array().unwrap().len() == 3)
        .unwrap();
    assert_eq!(wave_cluster["linked"], json!(true));

    // Linking through the API is idempotent and checks its input.
    let body = json!({"members": [wave[0], wave[1]]});
    let relinked = app
        .post("/api/v1/emerging/clusters/link", &app.agent, &body)
        .await;
    assert_eq!(relinked.status(), StatusCode::OK);
    let first_again: Value = app
        .get(&format!("/api/v1/escalations/{}", wave[0]), &app.admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first_again["links"], first["links"], "no second link");
    for bad in [
        json!({"members": [wave[0]]}),
        json!({"members": [wave[0], "ESC-999999"]}),
    ] {
        let response = app
            .post("/api/v1/emerging/clusters/link", &app.agent, &bad)
            .await;
        assert!(response.status().is_client_error(), "{bad}");
    }
}
