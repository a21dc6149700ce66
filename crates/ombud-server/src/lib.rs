//! Ombud's HTTP server: the JSON API under `/api/v1`, authentication,
//! idempotency, OpenAPI, health and metrics. Knows the storage only through
//! `ombud_store::Stores`; never a concrete backend, never SQL.

pub mod auth;

use std::future::Future;
use std::sync::Arc;

use ombud_domain::Clock;
use ombud_store::Stores;

/// Limits and settings the server runs with.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest JSON body accepted (413 above).
    pub max_body_bytes: usize,
    /// Largest evidence upload accepted (413 above).
    pub max_upload_bytes: usize,
    /// The URL users reach this server at, for links in responses.
    pub public_url: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body_bytes: 1024 * 1024,
            max_upload_bytes: 25 * 1024 * 1024,
            public_url: "http://127.0.0.1:8080".into(),
        }
    }
}

/// What every request handler shares.
#[derive(Clone, Debug)]
pub struct AppState {
    pub stores: Stores,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<ServerConfig>,
}

/// The whole application as an axum router.
pub fn router(state: AppState) -> axum::Router {
    let _ = state;
    axum::Router::new()
}

/// Serves `state` on `listener` until `shutdown` completes, then drains
/// in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}
