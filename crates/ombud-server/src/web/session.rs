//! Signing in and out, and who a page request comes from. The session
//! cookie holds a random secret; the store keeps only its SHA-256, the
//! user and the session's anti-forgery token. Cookies are `HttpOnly`,
//! `SameSite=Lax` (a link into the console from a chat or an email still
//! opens signed in; a cross-site form post carries no session) and `Secure`
//! when the request came over TLS. The sign-in form, before any session,
//! is protected by a double-submitted token in its own cookie.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use askama::Template;
use axum::Form;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use jiff::{SignedDuration, Timestamp};
use ombud_domain::{Actor, Role};
use ombud_store::{NewSession, StoreError, User, sha256_hex};
use rand::RngCore;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{WebError, WebResult, render};
use crate::AppState;
use crate::auth::{hash_password, verify_password};
use crate::error::ApiError;

const SESSION_COOKIE: &str = "ombud_session";
const SIGN_IN_COOKIE: &str = "ombud_sign_in";
/// How long a session lasts from sign-in: a long working day.
const SESSION_LIFETIME: SignedDuration = SignedDuration::from_hours(12);

/// Failed sign-ins an email may have within `FAILURE_WINDOW` before it is
/// refused until the oldest of them is that old.
const MAX_FAILURES: usize = 5;
const FAILURE_WINDOW: SignedDuration = SignedDuration::from_mins(15);
/// Emails with recent failures remembered at most; past it, old ones go.
const REMEMBERED_EMAILS: usize = 10_000;

/// Slows password guessing: after `MAX_FAILURES` wrong passwords for one
/// email within `FAILURE_WINDOW`, that email cannot sign in until the window
/// has passed, right password or not. Kept in memory, per node.
#[derive(Debug, Default)]
pub(crate) struct SignInGuard {
    failures: Mutex<HashMap<String, Vec<Timestamp>>>,
}

impl SignInGuard {
    fn recent(failures: &mut Vec<Timestamp>, now: Timestamp) {
        failures.retain(|at| now.duration_since(*at) < FAILURE_WINDOW);
    }

    fn blocked(&self, email: &str, now: Timestamp) -> bool {
        let mut all = self.failures.lock().expect("the guard is never poisoned");
        all.get_mut(email).is_some_and(|failures| {
            Self::recent(failures, now);
            failures.len() >= MAX_FAILURES
        })
    }

    fn failed(&self, email: &str, now: Timestamp) {
        let mut all = self.failures.lock().expect("the guard is never poisoned");
        if all.len() >= REMEMBERED_EMAILS {
            all.retain(|_, failures| {
                Self::recent(failures, now);
                !failures.is_empty()
            });
        }
        all.entry(email.to_string()).or_default().push(now);
    }

    fn succeeded(&self, email: &str) {
        self.failures
            .lock()
            .expect("the guard is never poisoned")
            .remove(email);
    }
}

/// Checked when the email is unknown, so that an unknown address takes as
/// long to refuse as a wrong password.
static UNKNOWN_USER_HASH: LazyLock<String> = LazyLock::new(|| hash_password("no such user"));

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    hex::encode(buffer)
}

/// Equal strings, compared in time that does not depend on where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |differ, (x, y)| differ | (x ^ y))
            == 0
}

/// Whether a state-changing request comes from a page of this server: a
/// browser names the page's origin on every POST; it must be ours.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        // Not a browser, or one too old to say: the token alone decides.
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    origin_host.is_some() && origin_host == host
}

fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

/// A cookie for this browser session only; the server decides expiry.
fn cookie(name: &'static str, value: String, path: &'static str, secure: bool) -> Cookie<'static> {
    Cookie::build((name, value))
        .path(path)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .build()
}

fn forged() -> WebError {
    WebError::from(ApiError::forbidden(
        "this form did not come from an Ombud page of this session; reload the page and try again",
    ))
}

/// The signed-in user of a page request. Without a live session a page
/// answers with the sign-in form's address.
#[derive(Debug, Clone)]
pub(crate) struct WebUser {
    pub user: User,
    /// The anti-forgery token the session's forms carry.
    pub csrf: String,
    secret_sha256: String,
}

impl WebUser {
    pub fn actor(&self) -> Actor {
        Actor {
            id: format!("user:{}", self.user.id),
            name: self.user.name.clone(),
            role: Some(self.user.role),
        }
    }

    pub fn require_staff(&self) -> WebResult<()> {
        if self.user.role.is_staff() {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "the console is for staff; partners use the partner portal at /portal",
            )
            .into())
        }
    }

    /// The partner a portal user acts for; staff are sent to the console.
    pub fn require_partner(&self) -> WebResult<String> {
        match (&self.user.role, &self.user.partner) {
            (Role::Partner, Some(slug)) => Ok(slug.clone()),
            _ => Err(ApiError::forbidden(
                "the portal is for partner accounts; staff use the console at /console",
            )
            .into()),
        }
    }

    /// Refuses a form that is not from this session's pages.
    pub fn check_form(&self, token: &str, headers: &HeaderMap) -> WebResult<()> {
        if same_origin(headers) && same_secret(token, &self.csrf) {
            Ok(())
        } else {
            Err(forged())
        }
    }
}

/// A form posted from one of this session's pages: the session is live,
/// the anti-forgery token and the Origin match, and the body parsed into
/// `T` (which need not name the token). A body that does not parse gets the
/// HTML error page saying what is missing, like any other invalid input.
pub(crate) struct SignedForm<T> {
    pub user: WebUser,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<AppState> for SignedForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let user = WebUser::from_request_parts(&mut parts, state).await?;
        let headers = parts.headers.clone();
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let token = serde_urlencoded::from_bytes::<TokenForm>(&body)
            .map(|t| t.csrf)
            .unwrap_or_default();
        user.check_form(&token, &headers)
            .map_err(IntoResponse::into_response)?;
        let form = serde_urlencoded::from_bytes::<T>(&body).map_err(|error| {
            WebError::from(ApiError::new(
                "validation_failed",
                format!("the form was incomplete or malformed ({error}); go back, check it and send it again"),
            ))
            .into_response()
        })?;
        Ok(SignedForm { user, form })
    }
}

/// A [`SignedForm`] from staff: what every console action takes.
pub(crate) struct StaffForm<T> {
    pub user: WebUser,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<AppState> for StaffForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let SignedForm { user, form } = SignedForm::from_request(request, state).await?;
        user.require_staff().map_err(IntoResponse::into_response)?;
        Ok(StaffForm { user, form })
    }
}

impl FromRequestParts<AppState> for WebUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(secret) = jar.get(SESSION_COOKIE).map(|c| c.value().to_string()) else {
            return Err(Redirect::to("/sign-in").into_response());
        };
        let secret_sha256 = sha256_hex(secret.as_bytes());
        match state
            .stores
            .directory
            .find_session(&secret_sha256, state.clock.now())
            .await
        {
            Ok(session) => Ok(WebUser {
                user: session.user,
                csrf: session.csrf_token,
                secret_sha256,
            }),
            Err(StoreError::NotFound) => Err(Redirect::to("/sign-in").into_response()),
            Err(other) => Err(WebError::from(other).into_response()),
        }
    }
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage<'a> {
    csrf: &'a str,
    email: &'a str,
    error: Option<&'a str>,
}

/// The sign-in form, with a fresh token in its own cookie.
pub(super) async fn sign_in_page(headers: HeaderMap, jar: CookieJar) -> Response {
    let token = random_hex(16);
    let page = render(
        StatusCode::OK,
        &SignInPage {
            csrf: &token,
            email: "",
            error: None,
        },
    );
    let jar = jar.add(cookie(
        SIGN_IN_COOKIE,
        token,
        "/sign-in",
        over_tls(&headers),
    ));
    (jar, page).into_response()
}

#[derive(Debug, Deserialize)]
pub(super) struct SignInForm {
    csrf: String,
    email: String,
    password: String,
}

/// Checks the password and starts a session; a wrong email or password is
/// one and the same answer, with the email kept in the form.
pub(super) async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<SignInForm>,
) -> WebResult<Response> {
    let expected = jar.get(SIGN_IN_COOKIE).map(|c| c.value().to_string());
    if !same_origin(&headers) || !expected.is_some_and(|token| same_secret(&token, &form.csrf)) {
        return Err(forged());
    }
    let email = form.email.trim().to_lowercase();
    let now = state.clock.now();
    let refuse = |status, error: &str| {
        render(
            status,
            &SignInPage {
                csrf: &form.csrf,
                email: &form.email,
                error: Some(error),
            },
        )
    };
    if state.sign_in_guard.blocked(&email, now) {
        return Ok(refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed sign-ins for this account: try again in 15 minutes.",
        ));
    }
    let credentials = match state.stores.directory.user_credentials(&email).await {
        Ok(credentials) => Some(credentials),
        Err(StoreError::NotFound) => None,
        Err(other) => return Err(other.into()),
    };
    let hash = credentials
        .as_ref()
        .map_or_else(|| UNKNOWN_USER_HASH.clone(), |c| c.password_hash.clone());
    let password = form.password;
    let verified = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(ApiError::internal)?;
    let user = match credentials {
        Some(credentials) if verified && credentials.user.active => credentials.user,
        _ => {
            state.sign_in_guard.failed(&email, now);
            return Ok(refuse(
                StatusCode::UNAUTHORIZED,
                "That email and password do not match an active account.",
            ));
        }
    };
    state.sign_in_guard.succeeded(&email);
    let secret = random_hex(32);
    state
        .stores
        .directory
        .create_session(&NewSession {
            secret_sha256: sha256_hex(secret.as_bytes()),
            user_id: user.id,
            csrf_token: random_hex(32),
            created_at: now,
            expires_at: now + SESSION_LIFETIME,
        })
        .await?;
    let secure = over_tls(&headers);
    let jar = jar
        .add(cookie(SESSION_COOKIE, secret, "/", secure))
        .remove(Cookie::build(SIGN_IN_COOKIE).path("/sign-in"));
    let home = if user.role == Role::Partner {
        "/portal"
    } else {
        "/console"
    };
    Ok((jar, Redirect::to(home)).into_response())
}

/// The anti-forgery token every form carries.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenForm {
    csrf: String,
}

/// Ends the session here and in the store.
pub(super) async fn sign_out(
    State(state): State<AppState>,
    jar: CookieJar,
    SignedForm { user, .. }: SignedForm<TokenForm>,
) -> WebResult<Response> {
    state
        .stores
        .directory
        .delete_session(&user.secret_sha256)
        .await?;
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    Ok((jar, Redirect::to("/sign-in")).into_response())
}
