//! Ombud's HTTP server: the JSON API under `/api/v1`, authentication,
//! idempotency, OpenAPI, health and metrics, and the web console (`web`). Knows the storage only through
//! `ombud_store::Stores`; never a concrete backend, never SQL.

pub mod alerts;
pub mod auth;
pub mod error;
pub mod export;
pub mod extract;
pub mod mail;
mod metrics;
mod middleware;
pub mod reports;
pub mod routes;
pub mod spikes;
mod web;
pub mod webhooks;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use ombud_domain::Clock;
use ombud_store::Stores;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::middleware::REQUEST_ID;
use crate::routes::{
    analytics, assignment, clocks, consults, decisions, escalations, inbound, links, messages,
    partners, reference, routing, settings, subscriptions, system,
};

/// Limits and settings the server runs with.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest JSON body accepted (413 above).
    pub max_body_bytes: usize,
    /// Largest evidence upload accepted (413 above).
    pub max_upload_bytes: usize,
    /// How long one request may take before it is answered 408.
    pub request_timeout: Duration,
    /// Where outbound email goes; `None`: Ombud sends none.
    pub mail: Option<mail::MailConfig>,
    /// Whether `serve` runs the background workers (clock alerts, webhooks,
    /// scheduled reports, spike detection, idempotency-key purge). Tests that drive them by hand turn them off.
    pub background_workers: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body_bytes: 1024 * 1024,
            max_upload_bytes: 25 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            background_workers: true,
            mail: None,
        }
    }
}

/// What every request handler shares.
#[derive(Clone, Debug)]
pub struct AppState {
    pub stores: Stores,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<ServerConfig>,
    metrics: Arc<Metrics>,
    sign_in_guard: Arc<web::SignInGuard>,
}

impl AppState {
    pub fn new(stores: Stores, clock: Arc<dyn Clock>, config: ServerConfig) -> Self {
        AppState {
            stores,
            clock,
            config: Arc::new(config),
            metrics: Arc::default(),
            sign_in_guard: Arc::default(),
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Ombud API", version = "1", description = "Escalation management for trust & safety teams. Errors are RFC 9457 problem details (application/problem+json)."),
    servers((url = "/api/v1")),
    components(schemas(error::Problem)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags((name = "escalations"), (name = "partners"), (name = "reference"), (name = "deadlines"), (name = "routing"), (name = "assignment"), (name = "consults"), (name = "root causes"), (name = "links"), (name = "messages"), (name = "webhooks"), (name = "analytics"), (name = "metrics"), (name = "emerging"), (name = "transparency"), (name = "system"))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The API routes with their OpenAPI description.
fn api(config: &ServerConfig) -> OpenApiRouter<AppState> {
    // Routes that take files: evidence uploads and raw inbound email.
    let uploads = OpenApiRouter::new()
        .routes(routes!(escalations::upload_evidence))
        .routes(routes!(inbound::receive_mail))
        .layer(DefaultBodyLimit::max(config.max_upload_bytes + 64 * 1024));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(
            escalations::create_escalation,
            escalations::list_escalations
        ))
        .routes(routes!(
            escalations::get_escalation,
            escalations::update_escalation
        ))
        .routes(routes!(escalations::transition_escalation))
        .routes(routes!(decisions::decide_escalation))
        .routes(routes!(routes::root_causes::list_root_causes))
        .routes(routes!(routes::root_causes::get_root_cause))
        .routes(routes!(routes::fixes::list_fixes))
        .routes(routes!(routes::fixes::get_fix))
        .routes(routes!(routes::fixes::change_fix))
        .routes(routes!(escalations::comment_escalation))
        .routes(routes!(escalations::add_subject))
        .routes(routes!(escalations::download_evidence))
        .routes(routes!(escalations::get_timeline))
        .routes(routes!(partners::list_partners, partners::create_partner))
        .routes(routes!(
            partners::get_partner,
            partners::update_partner,
            partners::delete_partner
        ))
        .routes(routes!(
            reference::list_reference,
            reference::create_reference
        ))
        .routes(routes!(
            reference::get_reference,
            reference::replace_reference,
            reference::delete_reference
        ))
        .routes(routes!(settings::list_calendars))
        .routes(routes!(
            settings::get_calendar,
            settings::put_calendar,
            settings::delete_calendar
        ))
        .routes(routes!(settings::list_sla_policies))
        .routes(routes!(
            settings::get_sla_policy,
            settings::put_sla_policy,
            settings::delete_sla_policy
        ))
        .routes(routes!(clocks::clock_accounting))
        .routes(routes!(settings::list_regulations))
        .routes(routes!(settings::put_regulation))
        .routes(routes!(routing::list_routing_rules))
        .routes(routes!(routing::dry_run))
        .routes(routes!(
            routing::get_routing_rule,
            routing::put_routing_rule,
            routing::delete_routing_rule
        ))
        .routes(routes!(assignment::list_queues))
        .routes(routes!(assignment::put_queue))
        .routes(routes!(assignment::list_agents))
        .routes(routes!(assignment::get_agent, assignment::put_agent))
        .routes(routes!(assignment::claim_next))
        .routes(routes!(assignment::hand_off))
        .routes(routes!(consults::request_consult))
        .routes(routes!(consults::answer_consult))
        .routes(routes!(subscriptions::list_webhooks))
        .routes(routes!(
            subscriptions::put_webhook,
            subscriptions::delete_webhook
        ))
        .routes(routes!(subscriptions::list_deliveries))
        .routes(routes!(links::link_escalations))
        .routes(routes!(links::merge_escalation))
        .routes(routes!(messages::list_templates))
        .routes(routes!(messages::put_template, messages::delete_template))
        .routes(routes!(messages::preview_message))
        .routes(routes!(messages::send_message))
        .routes(routes!(system::me))
        .routes(routes!(analytics::list_views))
        .routes(routes!(analytics::run_query))
        .routes(routes!(analytics::list_saved_queries))
        .routes(routes!(
            analytics::get_saved_query,
            analytics::put_saved_query,
            analytics::delete_saved_query
        ))
        .routes(routes!(analytics::run_saved_query))
        .routes(routes!(
            routes::schedules::get_schedule,
            routes::schedules::put_schedule,
            routes::schedules::delete_schedule
        ))
        .routes(routes!(
            routes::transparency::get_profile,
            routes::transparency::put_profile
        ))
        .routes(routes!(routes::transparency::export_statements))
        .routes(routes!(routes::transparency::get_report))
        .routes(routes!(routes::metrics::dashboard))
        .routes(routes!(routes::metrics::one_metric))
        .routes(routes!(routes::emerging::list_clusters))
        .routes(routes!(routes::emerging::link_cluster))
        .routes(routes!(routes::spikes::list_spikes))
        .routes(routes!(routes::spikes::get_spike))
        .routes(routes!(routes::spikes::acknowledge_spike))
        .routes(routes!(routes::spikes::get_rule, routes::spikes::put_rule))
        .merge(uploads)
}

/// The OpenAPI 3.1 document of the API, as served at `/api/v1/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api(&ServerConfig::default()).split_for_parts().1
}

/// The whole application as an axum router.
pub fn router(state: AppState) -> Router {
    let (api, doc) = api(&state.config).split_for_parts();
    let doc = Arc::new(doc);
    let api = api
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::idempotency,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::authenticate,
        ));
    let v1 = Router::new()
        .route(
            "/openapi.json",
            get(move || async move { Json(doc.as_ref().clone()) }),
        )
        .merge(api);
    Router::new()
        .nest("/api/v1", v1)
        .merge(web::router(&state.config))
        .route("/healthz", get(system::healthz))
        .route("/readyz", get(system::readyz))
        .route("/metrics", get(system::metrics))
        .fallback(|| async { ApiError::new("not_found", "no such route").into_response() })
        .method_not_allowed_fallback(|| async {
            ApiError::new("method_not_allowed", "this route does not accept that method").into_response()
        })
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), metrics::record))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(axum::middleware::from_fn(middleware::request_id_in_errors))
        .layer(CatchPanicLayer::custom(|_| ApiError::internal("handler panicked").into_response()))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, state.config.request_timeout))
        .layer(CompressionLayer::new())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    let request_id = request.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or_default();
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

/// How long a client may retry a POST with the same idempotency key.
pub const IDEMPOTENCY_KEY_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// Serves `state` on `listener` until `shutdown` completes, then drains
/// in-flight requests. Meanwhile, raises clock alerts as they fall due,
/// delivers webhooks, emails scheduled reports, looks for intake spikes as
/// hours and days close, and once an hour forgets idempotency keys older than
/// [`IDEMPOTENCY_KEY_LIFETIME`] and expired console sessions.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let workers = if state.config.background_workers {
        vec![
            tokio::spawn(purge_expired(state.clone())),
            tokio::spawn(alerts::run(state.clone())),
            tokio::spawn(webhooks::run(state.clone())),
            tokio::spawn(reports::run(state.clone())),
            tokio::spawn(spikes::run(state.clone())),
        ]
    } else {
        Vec::new()
    };
    let served = axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await;
    for worker in workers {
        worker.abort();
    }
    served
}

async fn purge_expired(state: AppState) {
    let mut hourly = tokio::time::interval(Duration::from_secs(60 * 60));
    loop {
        hourly.tick().await;
        let now = state.clock.now();
        if let Ok(cutoff) = now.checked_sub(IDEMPOTENCY_KEY_LIFETIME) {
            match state.stores.idempotency.purge(cutoff).await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "forgot expired idempotency keys"),
                Err(error) => tracing::warn!(%error, "could not purge idempotency keys"),
            }
        }
        match state.stores.directory.purge_sessions(now).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "forgot expired console sessions"),
            Err(error) => tracing::warn!(%error, "could not purge console sessions"),
        }
    }
}
