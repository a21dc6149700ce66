//! End to end in a real browser: headless Chromium, driven over WebDriver
//! (chromedriver on a free loopback port), against the real server. Where
//! chromedriver is not installed the tests say so and pass, except when
//! `OMBUD_REQUIRE_BROWSER` is set, as `.ci/run` sets it. With
//! `OMBUD_SCREENSHOTS=DIR` the pages it passes are saved there as PNG
//! (how docs/screenshots/ is made).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use ombud_domain::Role;
use serde_json::json;

use crate::console::{PASSWORD, add_user, setup};
use crate::helpers::{PNG, TestApp, on_both_backends, police_case};

on_both_backends!(
    an_agent_signs_in_claims_and_comments_in_chromium,
    a_partner_files_an_escalation_with_an_image_and_sees_it_acknowledged,
    a_manager_follows_a_spike_to_its_escalations_and_acknowledges_it_in_chromium
);

/// A headless Chromium session; the driver stops with it.
struct Browser {
    client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

/// Starts chromedriver and a headless Chromium, or says why not.
async fn chromium() -> Option<Browser> {
    let Some(driver) = on_path("chromedriver") else {
        assert!(
            std::env::var_os("OMBUD_REQUIRE_BROWSER").is_none(),
            "OMBUD_REQUIRE_BROWSER is set but chromedriver is not installed (apt-get install chromium chromium-driver)"
        );
        eprintln!("SKIPPED: chromedriver not found on PATH; the browser tests did not run");
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let driver = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let profile = tempfile::tempdir().expect("profile dir");
    // Headless, and none of the background traffic that would try to
    // reach the internet.
    let mut args = vec![
        "--headless".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        "--disable-background-networking".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--window-size=1280,900".into(),
    ];
    args.push(format!("--user-data-dir={}", profile.path().display()));
    let mut options = json!({"args": args});
    if let Some(chromium) = on_path("chromium") {
        options["binary"] = json!(chromium);
    }
    let capabilities = json!({"goog:chromeOptions": options})
        .as_object()
        .cloned()
        .expect("an object");
    let url = format!("http://127.0.0.1:{port}");
    let mut browser = Browser {
        client: connect(&url, &capabilities).await,
        driver,
        _profile: profile,
    };
    browser
        .client
        .set_window_size(1280, 900)
        .await
        .expect("window size");
    let _ = &mut browser;
    Some(browser)
}

async fn connect(url: &str, capabilities: &serde_json::Map<String, serde_json::Value>) -> Client {
    // chromedriver takes a moment to listen.
    for _ in 0..100 {
        match ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities.clone())
            .connect(url)
            .await
        {
            Ok(client) => return client,
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("chromedriver did not accept a session at {url}");
}

async fn path(client: &Client) -> String {
    client.current_url().await.expect("url").path().to_string()
}

/// Saves the page as `DIR/name.png` when `OMBUD_SCREENSHOTS=DIR` is set
/// (on SQLite only, so that one run writes each picture once).
async fn screenshot(client: &Client, app: &TestApp, name: &str) {
    let Some(dir) = std::env::var_os("OMBUD_SCREENSHOTS") else {
        return;
    };
    if app.stores.maintenance.backend_name() != "sqlite" {
        return;
    }
    let png = client.screenshot().await.expect("screenshot");
    std::fs::write(PathBuf::from(dir).join(format!("{name}.png")), png).expect("write screenshot");
}

/// Waits for a form's post to land on the page titled `title` (a click
/// returns before the next page has loaded).
async fn arrive(client: &Client, title: &str) {
    for _ in 0..200 {
        if client.title().await.expect("title") == title {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "never reached {title:?}; at {} titled {:?}",
        path(client).await,
        client.title().await.expect("title")
    );
}

/// Types `text` into the element `locator` finds.
async fn type_into(client: &Client, locator: Locator<'_>, text: &str) {
    let element = client.find(locator).await.expect("the field");
    element.send_keys(text).await.expect("typing");
}

/// Picks `value` in the select with id `id`.
async fn choose(client: &Client, id: &str, value: &str) {
    let select = client.find(Locator::Id(id)).await.expect("the select");
    select.select_by_value(value).await.expect("choosing");
}

/// Clicks the element `locator` finds.
async fn click(client: &Client, locator: Locator<'_>) {
    let element = client.find(locator).await.expect("the control");
    element.click().await.expect("clicking");
}

/// Waits for the page after a post to say `expected` in its notice (the
/// page before may have had a notice of its own).
async fn notice_is(client: &Client, expected: &str) {
    let mut seen = String::new();
    for _ in 0..200 {
        if let Ok(element) = client.find(Locator::Css(".notice")).await
            && let Ok(text) = element.text().await
        {
            if text == expected {
                return;
            }
            seen = text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the notice never said {expected:?}; last {seen:?}");
}

/// What sticks out past the window's right edge (nothing when the page
/// fits: no scrolling sideways), as `tag.class` names.
async fn wider_than_the_window(client: &Client) -> Vec<String> {
    let script = "const w = window.innerWidth; \
        if (document.documentElement.scrollWidth <= w) return []; \
        return [...document.querySelectorAll('body *')] \
          .filter(e => e.getBoundingClientRect().right > w + 1) \
          .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '') + (e.id ? '#' + e.id : ''));";
    let found = client.execute(script, vec![]).await.expect("measure");
    serde_json::from_value(found).expect("a list of names")
}

/// At a phone's width (390 px), each page in `paths` fits without
/// scrolling sideways; the first is the screenshot `shot`.
async fn usable_on_a_phone(client: &Client, app: &TestApp, shot: &str, paths: &[&str]) {
    client.set_window_size(390, 844).await.expect("resize");
    for (i, path) in paths.iter().enumerate() {
        client
            .goto(&format!("{}{path}", app.base))
            .await
            .expect("goto");
        if i == 0 {
            screenshot(client, app, shot).await;
        }
        let sticking_out = wider_than_the_window(client).await;
        assert!(
            sticking_out.is_empty(),
            "{path} is wider than a phone: {sticking_out:?}"
        );
    }
    client.set_window_size(1280, 900).await.expect("resize");
}

/// The text of the element `locator` finds, once it is there.
async fn text_of(client: &Client, locator: Locator<'_>) -> String {
    let element = client
        .wait()
        .for_element(locator)
        .await
        .expect("the element");
    element.text().await.expect("its text")
}

async fn an_agent_signs_in_claims_and_comments_in_chromium(app: TestApp) {
    let Some(browser) = chromium().await else {
        return;
    };
    setup(&app).await;
    crate::messages::give_the_police_a_desk_and_templates(&app).await;
    // Less urgent cases behind ESC-1, as on a real list.
    for (title, priority) in [
        ("Impersonation of a TV presenter", "P2"),
        ("Scam ads using a minister's photo", "P3"),
    ] {
        let mut case = police_case(title);
        case["priority"] = json!(priority);
        app.file(&app.police, case).await;
    }
    let c = &browser.client;
    c.goto(&format!("{}/console", app.base))
        .await
        .expect("goto");
    assert_eq!(path(c).await, "/sign-in", "signed out: the sign-in form");
    screenshot(c, &app, "sign-in").await;
    type_into(c, Locator::Id("email"), "mika@example.com").await;
    type_into(c, Locator::Id("password"), PASSWORD).await;
    click(c, Locator::Css("form[action='/sign-in'] button")).await;
    arrive(c, "My work · Ombud").await;
    assert_eq!(path(c).await, "/console");

    click(c, Locator::LinkText("Overview")).await;
    arrive(c, "Overview · Ombud").await;
    assert!(
        c.find(Locator::Css("svg.chart rect.bar")).await.is_ok(),
        "charts drawn"
    );
    screenshot(c, &app, "overview").await;

    click(c, Locator::LinkText("Unassigned")).await;
    arrive(c, "Unassigned · Ombud").await;
    // The script loaded under the strict CSP: `j` selects the first row.
    type_into(c, Locator::Css("body"), "j").await;
    assert!(
        text_of(c, Locator::Css("tr.selected"))
            .await
            .contains("ESC-1")
    );
    screenshot(c, &app, "work-list").await;

    click(c, Locator::Css("button[data-key=n]")).await;
    arrive(c, "ESC-1 Account of a singer taken over · Ombud").await;
    assert_eq!(path(c).await, "/console/escalations/ESC-1");
    let facts = text_of(c, Locator::Css("article dl.facts")).await;
    assert!(facts.contains("mika@example.com"), "{facts}");

    type_into(c, Locator::Id("comment"), "ログイン履歴を確認しました。").await;
    click(c, Locator::Css("form[action$='/comments'] button")).await;
    notice_is(c, "Comment added.").await;
    let timeline = text_of(c, Locator::Css(".timeline")).await;
    assert!(timeline.contains("ログイン履歴を確認しました。"));
    screenshot(c, &app, "workspace").await;

    // `?` lists the shortcuts; Escape closes the list.
    type_into(c, Locator::Css("body"), "?").await;
    assert!(
        c.find(Locator::Id("shortcuts"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap()
    );
    type_into(c, Locator::Css("[data-close]"), "\u{E00C}").await;
    assert!(
        !c.find(Locator::Id("shortcuts"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap()
    );

    // Reply to the partner from a template, read first as they will.
    let mails = app.smtp.received().len();
    choose(c, "template", "update").await;
    click(c, Locator::Css("form[method=get] button")).await;
    let preview = text_of(c, Locator::Css(".preview")).await;
    assert!(
        preview.contains("ESC-1 として受け付けました。"),
        "{preview}"
    );
    click(c, Locator::Css("form[action$='/messages'] button")).await;
    notice_is(c, "Message sent to the partner.").await;
    assert_eq!(app.smtp.received().len(), mails + 1);

    // Ask Legal, which blocks resolving until it answers.
    click(
        c,
        Locator::Css("section[aria-labelledby=consults-h] summary"),
    )
    .await;
    type_into(c, Locator::Id("question"), "Is the order valid in Japan?").await;
    click(c, Locator::Css("form[action$='/consults'] button")).await;
    notice_is(c, "Consult requested.").await;
    choose(c, "outcome", "removed").await;
    choose(c, "root_cause", "automation_false_positive").await;
    click(c, Locator::Css("form[action$='/decision'] button")).await;
    arrive(c, "Conflict · Ombud").await;
    c.back().await.unwrap();
    c.refresh().await.unwrap();
    type_into(c, Locator::Id("note-1"), "Valid.").await;
    click(c, Locator::Css("form[action$='/consults/1/answer'] button")).await;
    notice_is(c, "Consult answered.").await;
    // Resolve with the decision: outcome, policy, and the root cause.
    choose(c, "outcome", "removed").await;
    choose(c, "policy", "harassment").await;
    choose(c, "root_cause", "automation_false_positive").await;
    type_into(c, Locator::Id("root_cause_note"), "Classifier missed it.").await;
    type_into(
        c,
        Locator::Id("fix_url"),
        "https://tracker.example/browse/ML-88",
    )
    .await;
    click(c, Locator::Css("form[action$='/decision'] button")).await;
    notice_is(c, "Resolved as removed.").await;
    let decision = text_of(c, Locator::Css("section[aria-labelledby=decision-h]")).await;
    assert!(
        decision.contains("automation false positive — Classifier missed it."),
        "{decision}"
    );

    usable_on_a_phone(
        c,
        &app,
        "phone-workspace",
        &[
            "/console/escalations/ESC-1",
            "/console?view=all",
            "/console/overview",
            "/console/root-causes",
            "/console/root-causes/automation_false_positive",
            "/console/emerging",
            "/console/preferences",
        ],
    )
    .await;
    c.goto(&format!("{}/console/escalations/ESC-1", app.base))
        .await
        .expect("goto");

    // A form whose token is not the session's is refused and changes nothing.
    let before = app.timeline("ESC-1", &app.admin).await.len();
    c.execute(
        "document.querySelector(\"form[action$='/comments'] input[name=csrf]\").value = 'forged';",
        vec![],
    )
    .await
    .unwrap();
    type_into(c, Locator::Id("comment"), "should not land").await;
    click(c, Locator::Css("form[action$='/comments'] button")).await;
    arrive(c, "Forbidden · Ombud").await;
    assert_eq!(app.timeline("ESC-1", &app.admin).await.len(), before);

    browser.client.clone().close().await.expect("close");
}

async fn a_partner_files_an_escalation_with_an_image_and_sees_it_acknowledged(app: TestApp) {
    let Some(browser) = chromium().await else {
        return;
    };
    crate::messages::give_the_police_a_desk_and_templates(&app).await;
    add_user(
        &app,
        "desk@police.example",
        Role::Partner,
        Some("jp-police"),
    )
    .await;
    let image = tempfile::Builder::new()
        .suffix(".png")
        .tempfile()
        .expect("temp file");
    std::fs::write(image.path(), PNG).expect("write the image");
    let c = &browser.client;
    c.goto(&format!("{}/sign-in", app.base))
        .await
        .expect("goto");
    type_into(c, Locator::Id("email"), "desk@police.example").await;
    type_into(c, Locator::Id("password"), PASSWORD).await;
    click(c, Locator::Css("form[action='/sign-in'] button")).await;
    arrive(c, "Our escalations · Ombud").await;

    click(c, Locator::LinkText("New escalation")).await;
    arrive(c, "New escalation · Ombud").await;
    choose(c, "type", "impersonation").await;
    type_into(c, Locator::Id("title"), "警察庁をかたる偽アカウント").await;
    type_into(
        c,
        Locator::Id("description"),
        "当庁の名前で詐欺を勧誘しています。",
    )
    .await;
    type_into(
        c,
        Locator::Id("subject_1"),
        "https://social.example/npa_fake",
    )
    .await;
    let chosen = image.path().to_str().expect("a UTF-8 path");
    type_into(c, Locator::Id("file"), chosen).await;
    click(c, Locator::Css("input[name=sensitive]")).await;
    click(c, Locator::Css("form[action='/portal/new'] button")).await;
    notice_is(
        c,
        "Received as ESC-1 with 1 file. The escalations team has it.",
    )
    .await;
    let files = text_of(c, Locator::Css("section[aria-labelledby=files-h] ul")).await;
    assert!(files.contains(".png"), "{files}");
    // The acknowledgement went out by email and shows as a message sent.
    let timeline = text_of(c, Locator::Css(".timeline")).await;
    assert!(timeline.contains("message sent"), "{timeline}");
    assert!(
        app.smtp
            .received()
            .iter()
            .any(|mail| mail.contains("ESC-1")),
        "the acknowledgement names the case"
    );

    usable_on_a_phone(
        c,
        &app,
        "phone-portal-new",
        &["/portal/new", "/portal", "/portal/escalations/ESC-1"],
    )
    .await;

    // Staff write an internal note; another partner files a case of its own.
    let note = json!({"body": "Internal: suspect is a former employee.", "visibility": "internal"});
    let noted = app
        .post("/api/v1/escalations/ESC-1/comments", &app.admin, &note)
        .await;
    assert!(noted.status().is_success());
    let mut ministry_case = police_case("The ministry's own case");
    ministry_case["partner"] = json!("th-ministry");
    let other = app.file(&app.ministry, ministry_case).await["key"]
        .as_str()
        .expect("a key")
        .to_string();
    c.refresh().await.unwrap();
    let page = text_of(c, Locator::Css("article")).await;
    assert!(
        !page.contains("former employee"),
        "internal notes stay internal"
    );
    c.goto(&format!("{}/portal/escalations/{other}", app.base))
        .await
        .expect("goto");
    arrive(c, "Not Found · Ombud").await;

    // The partner marked the image sensitive: staff see it blurred and grey
    // until they reveal it, and the reveal is on the timeline.
    c.goto(&format!("{}/portal", app.base)).await.expect("goto");
    click(c, Locator::Css("form[action='/sign-out'] button")).await;
    arrive(c, "Sign in · Ombud").await;
    setup(&app).await;
    type_into(c, Locator::Id("email"), "mika@example.com").await;
    type_into(c, Locator::Id("password"), PASSWORD).await;
    click(c, Locator::Css("form[action='/sign-in'] button")).await;
    arrive(c, "My work · Ombud").await;
    c.goto(&format!("{}/console/escalations/ESC-1", app.base))
        .await
        .expect("goto");
    let filter = |c: &Client| {
        let c = c.clone();
        async move {
            c.execute(
                "return getComputedStyle(document.querySelector('ul.evidence img')).filter;",
                vec![],
            )
            .await
            .expect("style")
            .as_str()
            .unwrap_or_default()
            .to_string()
        }
    };
    let blurred = filter(c).await;
    assert!(
        blurred.contains("blur") && blurred.contains("grayscale"),
        "{blurred}"
    );
    click(c, Locator::Css("form[action$='/reveal'] button")).await;
    for _ in 0..200 {
        if filter(c).await == "none" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(filter(c).await, "none", "revealed");
    let timeline = text_of(c, Locator::Css(".timeline")).await;
    assert!(timeline.contains("evidence revealed"), "{timeline}");
    browser.client.clone().close().await.expect("close");
}

async fn a_manager_follows_a_spike_to_its_escalations_and_acknowledges_it_in_chromium(
    app: TestApp,
) {
    use crate::spikes::{burst_hour, evaluate, file, plant_steady_weeks, takeover};
    let Some(browser) = chromium().await else {
        return;
    };
    add_user(&app, "lead@example.com", Role::Manager, None).await;
    plant_steady_weeks(&app).await;
    file(&app, takeover, burst_hour(), 12).await;
    assert_eq!(evaluate(&app, "2026-11-25T08:30:00Z").await.len(), 1);

    let c = &browser.client;
    c.goto(&format!("{}/sign-in", app.base))
        .await
        .expect("goto");
    type_into(c, Locator::Id("email"), "lead@example.com").await;
    type_into(c, Locator::Id("password"), PASSWORD).await;
    click(c, Locator::Css("form[action='/sign-in'] button")).await;
    arrive(c, "My work · Ombud").await;
    click(c, Locator::LinkText("1 intake spike")).await;
    arrive(c, "Emerging issues · Ombud").await;
    let row = text_of(c, Locator::Css("table.spikes tr.waiting")).await;
    assert!(
        row.contains("account_access · social · JP · any policy") && row.contains("2.0"),
        "{row}"
    );
    screenshot(c, &app, "spikes").await;
    usable_on_a_phone(c, &app, "phone-spikes", &["/console/emerging"]).await;

    // One click to exactly the burst, whatever their status.
    click(c, Locator::LinkText("12 escalations")).await;
    arrive(c, "All open · Ombud").await;
    let rows = c
        .find_all(Locator::Css("table.work tbody tr"))
        .await
        .expect("rows");
    assert_eq!(rows.len(), 12);
    c.back().await.expect("back");
    arrive(c, "Emerging issues · Ombud").await;
    click(c, Locator::Css("table.spikes form button")).await;
    notice_is(
        c,
        "Acknowledged the spike in account_access · social · JP · any policy.",
    )
    .await;
    let row = text_of(c, Locator::Css("table.spikes tbody tr")).await;
    assert!(row.contains("Mika Tanaka"), "{row}");
    assert!(
        c.find(Locator::Css("table.spikes tr.waiting"))
            .await
            .is_err()
    );

    browser.client.clone().close().await.expect("close");
}
