//! The web console for staff and the partner portal: server-rendered HTML from askama templates
//! (`templates/`, checked at compile time), one stylesheet and one small
//! script embedded in the binary, no JavaScript build step. A signed-in
//! browser holds a cookie naming a server-side session (`session.rs`);
//! every form that changes something carries the session's anti-forgery
//! token. Pages call the same domain operations and stores as the JSON API.

mod admin;
mod analytics;
mod chart;
mod console;
mod emerging;
mod metrics;
mod overview;
mod portal;
mod preferences;
mod root_causes;
mod session;
mod transparency;
mod view;
mod work;

pub(crate) use session::SignInGuard;

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::error::ApiError;
use crate::{AppState, ServerConfig};

/// What a page may load: only Ombud's own script, styles and images; no
/// inline script, no framing, forms only back to Ombud.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; media-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

/// The console's and the portal's routes, beside `/api/v1`.
pub fn router(config: &ServerConfig) -> Router<AppState> {
    // Evidence uploads may be larger than other bodies.
    let uploads = Router::new()
        .route(
            "/portal/escalations/{key}/evidence",
            post(portal::attach_evidence),
        )
        .route(
            "/console/escalations/{key}/evidence",
            post(console::upload_evidence),
        )
        .layer(DefaultBodyLimit::max(config.max_upload_bytes + 64 * 1024));
    let new_escalations = Router::new()
        .route("/portal/new", get(portal::new_form).post(portal::file_new))
        .layer(DefaultBodyLimit::max(
            config.max_upload_bytes * portal::MAX_NEW_FILES + 64 * 1024,
        ));
    Router::new()
        .merge(uploads)
        .merge(new_escalations)
        .route("/", get(|| async { Redirect::to("/console") }))
        .route(
            "/sign-in",
            get(session::sign_in_page).post(session::sign_in),
        )
        .route("/sign-out", post(session::sign_out))
        .route("/console", get(work::work))
        .route("/console/claim", post(work::claim))
        .route("/console/bulk", post(work::bulk))
        .route("/console/export.csv", get(work::export_csv))
        .route("/console/export.xlsx", get(work::export_xlsx))
        .route("/console/emerging", get(emerging::page))
        .route("/console/emerging/link", post(emerging::link))
        .route(
            "/console/emerging/spikes/{id}/acknowledge",
            post(emerging::acknowledge_spike),
        )
        .route("/console/analytics", get(analytics::page))
        .route(
            "/console/analytics/download.csv",
            get(analytics::download_csv),
        )
        .route(
            "/console/analytics/download.xlsx",
            get(analytics::download_xlsx),
        )
        .route("/console/analytics/saved", post(analytics::save))
        .route("/console/analytics/saved/delete", post(analytics::delete))
        .route(
            "/console/analytics/saved/schedule",
            post(analytics::save_schedule),
        )
        .route(
            "/console/analytics/saved/schedule/delete",
            post(analytics::delete_schedule),
        )
        .route("/console/views", post(work::save_view))
        .route("/console/views/delete", post(work::delete_view))
        .route("/console/preferences", get(preferences::page))
        .route("/console/admin", get(admin::index))
        .route(
            "/console/admin/settings/{path}",
            get(admin::documents).post(admin::create_document),
        )
        .route(
            "/console/admin/settings/{path}/{code}",
            get(admin::edit_document).post(admin::save_document),
        )
        .route(
            "/console/admin/settings/{path}/{code}/delete",
            post(admin::delete_document),
        )
        .route(
            "/console/admin/reference/{path}",
            get(admin::reference).post(admin::add_reference),
        )
        .route(
            "/console/admin/reference/{path}/{code}",
            post(admin::change_reference),
        )
        .route(
            "/console/admin/partners",
            get(admin::partners).post(admin::create_partner),
        )
        .route(
            "/console/admin/partners/{slug}",
            get(admin::edit_partner).post(admin::save_partner),
        )
        .route(
            "/console/admin/users",
            get(admin::users).post(admin::add_user),
        )
        .route(
            "/console/admin/users/{email}/active",
            post(admin::set_user_active),
        )
        .route("/console/admin/tokens", post(admin::add_token))
        .route(
            "/console/admin/tokens/{id}/revoke",
            post(admin::revoke_token),
        )
        .route("/console/preferences/media", post(preferences::save_media))
        .route(
            "/console/preferences/time-zone",
            post(preferences::save_time_zone),
        )
        .route("/console/overview", get(overview::overview))
        .route("/console/root-causes", get(root_causes::list))
        .route("/console/transparency", get(transparency::page))
        .route("/console/metrics", get(metrics::page))
        .route("/console/metrics/{file}", get(metrics::download_metric))
        .route(
            "/console/transparency/statements.jsonl",
            get(transparency::statements),
        )
        .route(
            "/console/transparency/report.csv",
            get(transparency::report_csv),
        )
        .route(
            "/console/transparency/report.xlsx",
            get(transparency::report_xlsx),
        )
        .route("/console/root-causes/{code}", get(root_causes::cause))
        .route("/console/fixes/{code}", post(root_causes::change_fix))
        .route("/console/overview/intake.csv", get(overview::intake_csv))
        .route("/console/escalations/{key}", get(console::workspace))
        .route(
            "/console/escalations/{key}/comments",
            post(console::comment),
        )
        .route(
            "/console/escalations/{key}/transition",
            post(console::transition),
        )
        .route(
            "/console/escalations/{key}/subjects",
            post(console::add_subject),
        )
        .route("/console/escalations/{key}/decision", post(console::decide))
        .route("/console/escalations/{key}/links", post(console::link))
        .route(
            "/console/escalations/{key}/handoff",
            post(console::hand_off),
        )
        .route(
            "/console/escalations/{key}/messages",
            post(console::send_message),
        )
        .route(
            "/console/escalations/{key}/consults",
            post(console::request_consult),
        )
        .route(
            "/console/escalations/{key}/consults/{id}/answer",
            post(console::answer_consult),
        )
        .route(
            "/console/escalations/{key}/evidence/{id}",
            get(console::evidence),
        )
        .route(
            "/console/escalations/{key}/evidence/{id}/reveal",
            post(console::reveal),
        )
        .route("/portal", get(portal::list))
        .route("/portal/escalations/{key}", get(portal::escalation))
        .route("/portal/escalations/{key}/replies", post(portal::reply))
        .route(
            "/portal/escalations/{key}/evidence/{id}",
            get(portal::evidence),
        )
        .route("/assets/ombud.css", get(stylesheet))
        .route("/assets/ombud.js", get(script))
        .layer(middleware::from_fn(security_headers))
}

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    // Pages hold case data: never kept by a shared or back-button cache.
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

async fn stylesheet() -> impl IntoResponse {
    asset(
        "text/css; charset=utf-8",
        include_str!("../../assets/ombud.css"),
    )
}

async fn script() -> impl IntoResponse {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../assets/ombud.js"),
    )
}

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
}

/// Renders `page`, or a plain error if a template fails.
fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => ApiError::internal(format!("template: {error}")).into_response(),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    detail: &'a str,
}

/// A failed page request, shown as an HTML page with the problem's words.
#[derive(Debug)]
pub(crate) struct WebError(ApiError);

impl From<ApiError> for WebError {
    fn from(error: ApiError) -> Self {
        WebError(error)
    }
}

impl From<ombud_store::StoreError> for WebError {
    fn from(error: ombud_store::StoreError) -> Self {
        WebError(error.into())
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        if status.is_server_error() {
            // The API's response logs the cause and hides it.
            return self.0.into_response();
        }
        let title = status.canonical_reason().unwrap_or("Error");
        // One faulty field is already the detail; several are listed.
        let mut detail = self.0.detail.clone();
        if self.0.errors.len() > 1 {
            for field in &self.0.errors {
                detail.push_str(&format!(" {}: {}.", field.field, field.message));
            }
        }
        render(
            status,
            &ErrorPage {
                title,
                detail: &detail,
            },
        )
    }
}

type WebResult<T> = Result<T, WebError>;
