//! The HTTP endpoints: `/metrics` (Prometheus text, or OpenMetrics when the
//! scraper asks for it), `/healthz` (the process lives) and `/readyz` (see
//! [`Health`]).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use super::health::Health;
use super::metrics::Metrics;

/// What the handlers read.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The metrics.
    pub metrics: Arc<Metrics>,
    /// Every source is open once this says so.
    pub health: Arc<Health>,
}

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const PROM_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

async fn metrics(State(s): State<AppState>, headers: HeaderMap) -> impl IntoResponse {
    let wants_om = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/openmetrics-text"));
    if wants_om {
        (
            [(header::CONTENT_TYPE, OPENMETRICS)],
            s.metrics.openmetrics(),
        )
    } else {
        (
            [(header::CONTENT_TYPE, PROM_TEXT)],
            s.metrics.prometheus_text(),
        )
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(s): State<AppState>) -> (StatusCode, String) {
    match s.health.status() {
        Ok(()) => (StatusCode::OK, "ready\n".into()),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        ),
    }
}

/// The router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
}
