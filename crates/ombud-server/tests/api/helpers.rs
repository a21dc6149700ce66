//! A running Ombud per test, with seeded partners, users and tokens, torn
//! down (server stopped, database dropped) when the test ends.

use std::sync::Arc;

use ombud_domain::{Clock, ManualClock, NewPartner, Role};
use ombud_server::{AppState, ServerConfig};
use ombud_store::{NewUser, Stores};
use ombud_store_postgres::testing::TempDatabase;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Keeps the database alive as long as the app.
#[allow(dead_code)] // Held only for its Drop.
enum Storage {
    Sqlite(tempfile::TempDir),
    Postgres(TempDatabase),
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub stores: Stores,
    pub state: AppState,
    /// The server's clock, which tests move.
    pub clock: Arc<ManualClock>,
    /// Where the server's outbound email goes.
    pub smtp: crate::smtp::SmtpSink,
    /// admin, agent, partner of jp-police, partner of th-ministry
    pub admin: String,
    pub agent: String,
    pub police: String,
    pub ministry: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _storage: Storage,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.shutdown.take() {
            let _ = stop.send(());
        }
    }
}

/// Small limits so the 413 paths are cheap to reach.
pub const MAX_BODY: usize = 64 * 1024;
pub const MAX_UPLOAD: usize = 256 * 1024;

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        let (stores, storage) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                (
                    ombud_store_sqlite::open(dir.path())
                        .await
                        .expect("open sqlite"),
                    Storage::Sqlite(dir),
                )
            }
            Backend::Postgres => {
                let db = TempDatabase::create().await?;
                (
                    ombud_store_postgres::open(db.url(), None)
                        .await
                        .expect("open postgres"),
                    Storage::Postgres(db),
                )
            }
        };
        let clock = Arc::new(ManualClock::new(
            "2026-11-25T09:00:00Z".parse().expect("time"),
        ));
        let now = clock.now();
        for (slug, kind, country, language) in [
            ("jp-police", "law_enforcement", "JP", "ja"),
            ("th-ministry", "government", "TH", "th"),
        ] {
            let partner = NewPartner {
                slug: slug.into(),
                name: slug.into(),
                kind: kind.into(),
                tier: 1,
                country: country.into(),
                language: language.into(),
                contacts: Vec::new(),
                allowed_types: Vec::new(),
            }
            .validate(now)
            .expect("valid partner");
            stores
                .directory
                .create_partner(&partner)
                .await
                .expect("partner");
        }
        let user = NewUser {
            email: "aiko@example.com".into(),
            name: "Aiko".into(),
            role: Role::Agent,
            partner: None,
            password_hash: "x".into(),
            created_at: now,
        };
        stores.directory.create_user(&user).await.expect("user");
        let token = async |role, partner: Option<&str>, name: &str| {
            let (secret, record) = ombud_server::auth::new_token(name, role, partner, now);
            stores.directory.create_token(&record).await.expect("token");
            secret
        };
        let admin = token(Role::Admin, None, "admin").await;
        let agent = token(Role::Agent, None, "agent").await;
        let police = token(Role::Partner, Some("jp-police"), "police portal").await;
        let ministry = token(Role::Partner, Some("th-ministry"), "ministry portal").await;
        let smtp = crate::smtp::SmtpSink::start().await;
        let config = ServerConfig {
            mail: Some(
                ombud_server::mail::MailConfig::from_url(
                    &format!("smtp://127.0.0.1:{}", smtp.port),
                    "escalations@ombud.test",
                )
                .expect("a plain loopback relay"),
            ),
            max_body_bytes: MAX_BODY,
            max_upload_bytes: MAX_UPLOAD,
            // Tests move the clock and run the workers themselves.
            background_workers: false,
            ..Default::default()
        };
        let state = AppState::new(stores.clone(), clock.clone(), config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(ombud_server::serve(listener, state.clone(), async move {
            let _ = stopped.await;
        }));
        Some(TestApp {
            base,
            client: reqwest::Client::new(),
            stores,
            state,
            clock,
            smtp,
            admin,
            agent,
            police,
            ministry,
            shutdown: Some(stop),
            _storage: storage,
        })
    }

    pub fn request(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
    }

    /// Patches `escalation` as read (its key and version as `If-Match`) as
    /// the agent, expecting 200; returns the new state.
    pub async fn patch_escalation(&self, escalation: &Value, body: Value) -> Value {
        let key = escalation["key"].as_str().expect("a key");
        let response = self
            .request(
                Method::PATCH,
                &format!("/api/v1/escalations/{key}"),
                &self.agent,
            )
            .header("if-match", format!("\"{}\"", escalation["version"]))
            .json(&body)
            .send()
            .await
            .expect("patch");
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("an escalation")
    }

    /// The timeline of escalation `key` as `token` may see it.
    pub async fn timeline(&self, key: &str, token: &str) -> Vec<Value> {
        let response = self
            .get(&format!("/api/v1/escalations/{key}/timeline"), token)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("a timeline")
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, token)
            .send()
            .await
            .expect("GET")
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Response {
        self.request(Method::POST, path, token)
            .json(body)
            .send()
            .await
            .expect("POST")
    }

    pub async fn put(&self, path: &str, token: &str, body: &Value) -> Response {
        self.request(Method::PUT, path, token)
            .json(body)
            .send()
            .await
            .expect("PUT")
    }

    /// Files an escalation as `token` and returns its JSON.
    pub async fn file(&self, token: &str, body: Value) -> Value {
        let response = self.post("/api/v1/escalations", token, &body).await;
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "{}",
            response.text().await.unwrap_or_default()
        );
        response.json().await.expect("json")
    }

    /// `path` read as the admin, as JSON.
    pub async fn admin_json(&self, path: &str) -> Value {
        self.get(path, &self.admin)
            .await
            .json()
            .await
            .expect("json")
    }

    pub async fn escalation_count(&self) -> i64 {
        self.stores
            .maintenance
            .escalation_count()
            .await
            .expect("count")
    }
}

/// A valid escalation body for jp-police.
pub fn police_case(title: &str) -> Value {
    serde_json::json!({
        "type": "account_access",
        "partner": "jp-police",
        "title": title,
        "description": "パスワードとメールアドレスが変更されました",
        "country": "JP",
        "language": "ja",
        "priority": "P1",
        "tags": ["vip"],
        "subjects": [{"kind": "account", "surface": "social", "url": "https://social.example/taro"}]
    })
}

/// The smallest valid PNG header, enough for content sniffing.
pub const PNG: &[u8] = &[
    0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0, 0,
    1, 0, 0, 0, 1, 8, 6, 0, 0, 0,
];

pub fn upload(
    bytes: Vec<u8>,
    filename: &str,
    media_type: &str,
    extra: &[(&str, &str)],
) -> reqwest::multipart::Form {
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(filename.to_string())
        .mime_str(media_type)
        .unwrap();
    extra.iter().fold(
        reqwest::multipart::Form::new().part("file", part),
        |form, (k, v)| form.text(k.to_string(), v.to_string()),
    )
}

/// Asserts an RFC 9457 problem with `status` and `code`; returns its body.
pub async fn assert_problem(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.expect("problem json");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status.as_u16());
    assert!(
        body["title"].is_string() && body["detail"].is_string() && body["type"].is_string(),
        "{body}"
    );
    body
}

/// Runs a test body against both backends.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use crate::helpers::{Backend, TestApp};

                #[tokio::test]
                async fn on_sqlite() {
                    let app = TestApp::spawn(Backend::Sqlite).await.expect("SQLite is always available");
                    super::$name(app).await;
                }

                #[tokio::test]
                async fn on_postgres() {
                    if let Some(app) = TestApp::spawn(Backend::Postgres).await {
                        super::$name(app).await;
                    }
                }
            }
        )*
    };
}
pub(crate) use on_both_backends;
