//! The HTTP endpoints: `/metrics` (Prometheus text, or OpenMetrics when the
//! scraper asks for it), `/healthz` (the process lives) and `/readyz` (see
//! [`Health`]), served with limits: at most `max_connections` connections
//! (more are closed at once, counted), a request's headers within
//! `header_timeout`, a connection at most [`MAX_CONNECTION_AGE`] old. So
//! slow or idle clients cannot hold the descriptors the file readers need.

use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

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

/// A connection is closed (gracefully, after its request) at this age;
/// Prometheus opens a new one for its next scrape.
pub const MAX_CONNECTION_AGE: Duration = Duration::from_secs(120);

/// Limits of the HTTP server.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Connections served at once.
    pub max_connections: usize,
    /// Time a client has to send a request's headers.
    pub header_timeout: Duration,
}

/// Serves `app` on `listener` until `cancel`, within `limits`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut failing: Option<String> = None;
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => return,
            r = listener.accept() => r,
        };
        let stream = match accepted {
            Ok((stream, _)) => {
                failing = None;
                stream
            }
            Err(e) => {
                // Out of descriptors, most likely: say so once, wait, go on.
                let cause = e.to_string();
                if failing.as_ref() != Some(&cause) {
                    tracing::warn!("accepting an HTTP connection failed: {e}");
                    failing = Some(cause);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            metrics.http_rejected();
            drop(stream);
            continue;
        };
        let (app, cancel) = (app.clone(), cancel.clone());
        tokio::spawn(async move {
            let _slot = slot;
            connection(stream, app, limits, cancel).await;
        });
    }
}

async fn connection(
    stream: tokio::net::TcpStream,
    app: Router,
    limits: HttpLimits,
    cancel: CancellationToken,
) {
    let mut b = hyper::server::conn::http1::Builder::new();
    b.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let mut conn = b.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
    tokio::select! {
        r = &mut conn => {
            if r.is_err_and(|e| e.is_timeout()) {
                request_timeout(conn).await;
            }
            return;
        }
        _ = tokio::time::sleep(MAX_CONNECTION_AGE) => {}
        _ = cancel.cancelled() => {}
    }
    std::pin::Pin::new(&mut conn).graceful_shutdown();
    let _ = tokio::time::timeout(limits.header_timeout, conn).await;
}

/// The headers did not come within the header timeout: a client that sent
/// part of a request is answered 408 (RFC 9110) before the connection is
/// closed; an idle one is closed without a word.
async fn request_timeout(
    conn: hyper::server::conn::http1::Connection<
        TokioIo<tokio::net::TcpStream>,
        TowerToHyperService<Router>,
    >,
) {
    use tokio::io::AsyncWriteExt;
    const ANSWER: &[u8] = b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-type: text/plain\r\ncontent-length: 46\r\n\r\nthe request's headers did not come in time\r\n\r\n";
    let parts = conn.into_parts();
    if parts.read_buf.is_empty() {
        return;
    }
    let mut io = parts.io.into_inner();
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        io.write_all(ANSWER).await?;
        io.shutdown().await
    })
    .await;
}
