//! The real `ombud` binary: token creation for scripts, user and partner
//! administration, export/import round trips, backup and the demo.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn ombud(data: &Path, args: &[&str]) -> Output {
    ombud_with(data, args, &[], None)
}

fn ombud_with(data: &Path, args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ombud"));
    command
        .arg("--data")
        .arg(data)
        .args(args)
        .env("OMBUD_LOG", "warn")
        .env_remove("OMBUD_DATABASE_URL");
    for (k, v) in env {
        command.env(k, v);
    }
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("run ombud");
    if let Some(input) = stdin {
        // A command that refuses early closes stdin; that is its answer, not a test failure.
        let _ = child.stdin.take().expect("stdin").write_all(input);
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("ombud output")
}

/// Waits up to about 20 s for a server on `addr` to answer `/healthz`.
fn answers_health(addr: &str) -> bool {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut wait = std::time::Duration::from_millis(50);
        for _ in 0..30 {
            if client
                .get(format!("http://{addr}/healthz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return true;
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(std::time::Duration::from_secs(1));
        }
        false
    })
}

fn free_addr() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn token_create_prints_only_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let added = ombud(
        dir.path(),
        &[
            "partner",
            "add",
            "--slug",
            "jp-police",
            "--name",
            "Police",
            "--kind",
            "law_enforcement",
            "--country",
            "JP",
        ],
    );
    assert!(added.status.success(), "{}", stderr(&added));
    let token = ombud(
        dir.path(),
        &[
            "token",
            "create",
            "--role",
            "partner",
            "--partner",
            "jp-police",
            "--name",
            "portal",
        ],
    );
    assert!(token.status.success(), "{}", stderr(&token));
    let printed = stdout(&token);
    assert!(
        printed.starts_with("ombud_") && printed.ends_with('\n') && printed.lines().count() == 1,
        "{printed:?}"
    );
    let refused = ombud(
        dir.path(),
        &["token", "create", "--role", "partner", "--name", "x"],
    );
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("partner: a partner user or token belongs to a partner"),
        "{}",
        stderr(&refused)
    );
    assert!(stdout(&refused).is_empty());
}

#[test]
fn bad_users_and_partners_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let bad_partner = ombud(
        dir.path(),
        &[
            "partner",
            "add",
            "--slug",
            "Bad Slug",
            "--name",
            "x",
            "--kind",
            "alien",
            "--country",
            "XX",
        ],
    );
    assert!(!bad_partner.status.success());
    let why = stderr(&bad_partner);
    assert!(
        why.contains("slug") && why.contains("kind") && why.contains("country"),
        "{why}"
    );
    let short = ombud_with(
        dir.path(),
        &[
            "user",
            "add",
            "--email",
            "a@example.com",
            "--name",
            "A",
            "--role",
            "agent",
        ],
        &[("OMBUD_PASSWORD", "short")],
        None,
    );
    assert!(!short.status.success());
    assert!(stderr(&short).contains("at least 12"), "{}", stderr(&short));
    let ok = ombud_with(
        dir.path(),
        &[
            "user",
            "add",
            "--email",
            "A@Example.com",
            "--name",
            "A",
            "--role",
            "agent",
        ],
        &[],
        Some(b"correct horse battery\n"),
    );
    assert!(ok.status.success(), "{}", stderr(&ok));
    let again = ombud_with(
        dir.path(),
        &[
            "user",
            "add",
            "--email",
            "a@example.com",
            "--name",
            "A",
            "--role",
            "agent",
        ],
        &[],
        Some(b"correct horse battery\n"),
    );
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn export_import_export_is_byte_identical() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let seeded = ombud(a.path(), &["demo", "--count", "120", "--no-serve"]);
    assert!(seeded.status.success(), "{}", stderr(&seeded));
    let first = ombud(a.path(), &["export"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let exported = stdout(&first);
    assert_eq!(
        exported
            .lines()
            .filter(|l| l.starts_with("{\"escalation\""))
            .count(),
        120
    );
    let imported = ombud_with(b.path(), &["import"], &[], Some(exported.as_bytes()));
    assert!(imported.status.success(), "{}", stderr(&imported));
    let second = ombud(b.path(), &["export"]);
    assert!(
        stdout(&second) == exported,
        "the re-export differs from the export"
    );
    let twice = ombud_with(b.path(), &["import"], &[], Some(exported.as_bytes()));
    assert!(
        !twice.status.success(),
        "importing into a non-empty store must be refused"
    );
}

#[test]
fn export_from_sqlite_imports_into_postgres_exactly() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(db) = runtime.block_on(ombud_store_postgres::testing::TempDatabase::create()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    assert!(
        ombud(dir.path(), &["demo", "--count", "60", "--no-serve"])
            .status
            .success()
    );
    let exported = stdout(&ombud(dir.path(), &["export"]));
    let imported = ombud_with(
        dir.path(),
        &["import", "--database-url", db.url()],
        &[],
        Some(exported.as_bytes()),
    );
    assert!(imported.status.success(), "{}", stderr(&imported));
    let again = ombud(dir.path(), &["export", "--database-url", db.url()]);
    assert!(
        stdout(&again) == exported,
        "PostgreSQL re-export differs from the SQLite export"
    );
}

#[test]
fn backup_is_a_database_that_opens_with_the_same_data() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        ombud(dir.path(), &["demo", "--count", "50", "--no-serve"])
            .status
            .success()
    );
    let copy = tempfile::tempdir().unwrap();
    let target = copy.path().join("ombud.db");
    let backup = ombud(dir.path(), &["backup", "--to", target.to_str().unwrap()]);
    assert!(backup.status.success(), "{}", stderr(&backup));
    let original = stdout(&ombud(dir.path(), &["export"]));
    let restored = stdout(&ombud(copy.path(), &["export"]));
    assert!(original == restored, "the backup holds different data");
    let refused = ombud(dir.path(), &["backup", "--to", target.to_str().unwrap()]);
    assert!(
        !refused.status.success(),
        "an existing backup file is never overwritten"
    );
}

#[test]
fn demo_seeds_many_languages_prints_credentials_and_serves() {
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ombud"))
        .args(["demo", "--count", "200", "--addr", &addr, "--data"])
        .arg(dir.path())
        .env("OMBUD_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ready = answers_health(&addr);
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    assert!(ready, "the demo server never answered /healthz");
    let printed = stdout(&output);
    assert!(
        printed.contains(&format!("http://{addr}/"))
            && printed.contains("admin@ombud.demo")
            && printed.contains("ombud_"),
        "{printed}"
    );
    let exported = stdout(&ombud(dir.path(), &["export"]));
    let escalations: Vec<serde_json::Value> = exported
        .lines()
        .filter_map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .ok()?
                .get("escalation")
                .cloned()
        })
        .collect();
    assert_eq!(escalations.len(), 200);
    let languages: std::collections::HashSet<&str> = escalations
        .iter()
        .filter_map(|e| e["escalation"]["language"].as_str())
        .collect();
    let statuses: std::collections::HashSet<&str> = escalations
        .iter()
        .filter_map(|e| e["escalation"]["status"].as_str())
        .collect();
    assert!(languages.len() >= 8, "{languages:?}");
    assert!(statuses.len() >= 6, "{statuses:?}");
}

#[test]
fn config_prints_a_default_that_loads_back() {
    let dir = tempfile::tempdir().unwrap();
    let printed = ombud(dir.path(), &["config"]);
    assert!(printed.status.success());
    let file = dir.path().join("ombud.toml");
    std::fs::write(&file, stdout(&printed)).unwrap();
    let migrated = ombud(
        &dir.path().join("d"),
        &["--config", file.to_str().unwrap(), "migrate"],
    );
    assert!(migrated.status.success(), "{}", stderr(&migrated));
}

#[test]
fn mailgate_tells_the_mta_to_bounce_retry_or_deliver() {
    let dir = tempfile::tempdir().unwrap();
    let message = b"From: stranger@elsewhere.example\r\nSubject: hello\r\n\r\nHi\r\n";
    // Nobody listening: try again later (EX_TEMPFAIL).
    let nowhere = ombud_with(
        dir.path(),
        &[
            "mailgate",
            "--url",
            &format!("http://{}", free_addr()),
            "--token",
            "x",
        ],
        &[],
        Some(message),
    );
    assert_eq!(nowhere.status.code(), Some(75), "{}", stderr(&nowhere));

    let token = stdout(&ombud(
        dir.path(),
        &["token", "create", "--role", "admin", "--name", "gate"],
    ));
    let addr = free_addr();
    let mut server = Command::new(env!("CARGO_BIN_EXE_ombud"))
        .args(["serve", "--addr", &addr, "--data"])
        .arg(dir.path())
        .env("OMBUD_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ready = answers_health(&addr);
    let url = format!("http://{addr}");
    let gate = |message: &[u8]| {
        ombud_with(
            dir.path(),
            &["mailgate", "--url", &url, "--token", token.trim()],
            &[],
            Some(message),
        )
    };
    let stranger = gate(message);
    let bounce = gate(b"From: MAILER-DAEMON@mx.example\r\nSubject: Undelivered\r\nContent-Type: multipart/report; boundary=r\r\n\r\n--r\r\n\r\nx\r\n--r--\r\n");
    let _ = server.kill();
    let _ = server.wait();
    assert!(ready, "the server never answered /healthz");
    // An unknown sender: bounce it (EX_NOUSER), saying why.
    assert_eq!(stranger.status.code(), Some(67), "{}", stderr(&stranger));
    assert!(stderr(&stranger).contains("stranger@elsewhere.example"));
    // A bounce is taken and dropped.
    assert_eq!(bounce.status.code(), Some(0), "{}", stderr(&bounce));
    assert!(stdout(&bounce).starts_with("ignored"));
}
