//! The HTTP endpoints: `/metrics` (Prometheus text, or OpenMetrics when the
//! scraper asks for it), `/healthz` (the process lives) and `/readyz` (see
//! [`Health`]), served with limits: at most `max_connections` connections
//! (more are closed at once, counted), a request's headers within
//! `header_timeout`, a connection at most [`MAX_CONNECTION_AGE`] old. So
//! slow or idle clients cannot hold the descriptors the file readers need.

use std::sync::Arc;
use std::time::Duration;

use hyper::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use axum::extract::ConnectInfo;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;

use super::connections::{Admit, Connections, Slot, Tracked};
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

/// The connection limits' counters, shared by every port the daemon
/// serves (`/metrics`, ingest, the browser endpoint).
#[derive(Debug, Default)]
pub struct HttpMetrics {
    rejected: Counter,
    pushed_out: Counter,
}

impl HttpMetrics {
    /// Registers the counters on `r`.
    pub fn register(r: &mut Registry) -> Arc<Self> {
        let m = Self::default();
        r.register(
            "trtc_logwatch_http_connections_rejected",
            "HTTP connections closed at once because max_connections were open",
            m.rejected.clone(),
        );
        r.register(
            "trtc_logwatch_http_connections_pushed_out",
            "HTTP connections closed to make room for a new one at max_connections: the one that had waited longest (at least 1 s) on its client",
            m.pushed_out.clone(),
        );
        Arc::new(m)
    }
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

/// The router of `/metrics`, `/healthz` and `/readyz` (the daemon merges
/// the pages' routes into it).
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
    metrics: Arc<HttpMetrics>,
    cancel: CancellationToken,
) {
    let table = Connections::new(limits.max_connections);
    let mut failing: Option<String> = None;
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => return,
            r = listener.accept() => r,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => {
                failing = None;
                accepted
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
        let slot = match table.admit() {
            Admit::Open(slot) => slot,
            Admit::PushedOut(slot) => {
                metrics.pushed_out.inc();
                slot
            }
            Admit::Refused => {
                metrics.rejected.inc();
                drop(stream);
                continue;
            }
        };
        let (app, cancel) = (app.clone(), cancel.clone());
        tokio::spawn(connection(
            stream,
            peer,
            app,
            limits,
            Arc::new(slot),
            cancel,
        ));
    }
}

/// The app, each request's body tracked for `slot` (see [`connections`]),
/// and its peer's address on each request (axum's [`ConnectInfo`]).
///
/// [`connections`]: super::connections
fn tracked(
    app: Router,
    peer: std::net::SocketAddr,
    slot: Arc<Slot>,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Future<Output = Result<axum::response::Response, std::convert::Infallible>> + Send,
> + Clone {
    hyper::service::service_fn(move |req: Request<Incoming>| {
        let mut app = app.clone();
        let slot = Arc::clone(&slot);
        let mut req = req.map(|b| Body::new(Tracked::new(b, Arc::clone(&slot))));
        req.extensions_mut().insert(ConnectInfo(peer));
        async move {
            let answer = tower_service::Service::call(&mut app, req).await;
            // The answer is ready: the client reads it, then sends its next
            // request.
            slot.answered();
            answer
        }
    })
}

async fn connection(
    stream: tokio::net::TcpStream,
    peer: std::net::SocketAddr,
    app: Router,
    limits: HttpLimits,
    slot: Arc<Slot>,
    cancel: CancellationToken,
) {
    let mut b = hyper::server::conn::http1::Builder::new();
    b.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let pushed_out = slot.conn().pushed_out().clone();
    let mut conn = b.serve_connection(TokioIo::new(stream), tracked(app, peer, Arc::clone(&slot)));
    tokio::select! {
        r = &mut conn => {
            if r.is_err_and(|e| e.is_timeout()) {
                request_timeout(conn, false).await;
            }
            return;
        }
        // Its slot went to a new connection: closed at once (408 if the
        // client had begun a request).
        _ = pushed_out.cancelled() => {
            let begun = slot.conn().receiving();
            request_timeout(conn, begun).await;
            return;
        }
        _ = tokio::time::sleep(MAX_CONNECTION_AGE) => {}
        _ = cancel.cancelled() => {}
    }
    std::pin::Pin::new(&mut conn).graceful_shutdown();
    let _ = tokio::time::timeout(limits.header_timeout, conn).await;
}

/// The client was too slow (its headers did not come within the header
/// timeout, or its slot went to a new connection): if it sent part of a
/// request (`begun`, or bytes of headers unread) it is answered 408 (RFC
/// 9110) before the connection is closed; an idle one is closed without a
/// word.
async fn request_timeout<S>(
    conn: hyper::server::conn::http1::Connection<TokioIo<tokio::net::TcpStream>, S>,
    begun: bool,
) where
    S: hyper::service::HttpService<Incoming, ResBody = Body>,
{
    use tokio::io::AsyncWriteExt;
    const ANSWER: &[u8] = b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-type: text/plain\r\ncontent-length: 46\r\n\r\nthe request's headers did not come in time\r\n\r\n";
    let parts = conn.into_parts();
    if !begun && parts.read_buf.is_empty() {
        return;
    }
    let mut io = parts.io.into_inner();
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        io.write_all(ANSWER).await?;
        io.shutdown().await
    })
    .await;
}
