//! HTTP ingest: collectors (Fluent Bit's `http` output, Vector's `http`
//! sink, anything that POSTs) send log lines to `POST /ingest` or
//! `POST /ingest/{source}`; each request's lines go through the same
//! matcher, renderer, metrics and sink as a followed file's.
//!
//! The answer is 200 only once every event of the request is written to the
//! events output: the request's events and an acknowledgement are queued
//! together (all or nothing), and the sink fires the acknowledgement after
//! the write. So a collector that retries on a 5xx or a timeout never loses
//! a line; a retried batch may be counted twice (at-least-once). A full
//! queue answers 503 with `Retry-After` and queues nothing; a body over the
//! limit 413; a missing or wrong bearer token 401; an unknown source 404.
//! It is served with the same connection cap and header timeout as
//! `/metrics`.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tokio::sync::watch;

use tokio::sync::Semaphore;

use super::bodies::{self, Records};
use super::budget::{Budget, Charge};
use super::feed::Feed;
use super::http_body::{BodyError, decompress, encoding_of, receive};
use crate::daemon::config::IngestConfig;
use crate::daemon::generation::Generation;
use crate::daemon::metrics::Metrics;
use crate::daemon::queue::{CommitError, Emitter};
use crate::pipeline::Pipeline;

/// What the handlers share.
#[derive(Clone)]
pub struct IngestState {
    /// The current configuration, matcher and renderer.
    pub current: watch::Receiver<Arc<Generation>>,
    /// An emitter to clone per request (holding, see [`Emitter::holding`]).
    pub emitter: Emitter,
    /// The metrics.
    pub metrics: Arc<Metrics>,
    /// The ingest settings.
    pub config: IngestConfig,
    /// The bearer token requests must carry, if any.
    pub token: Option<String>,
    /// Longest line kept whole (fixed at start, as for every source).
    pub max_line_bytes: usize,
    /// The memory all requests in flight hold together.
    pub budget: Arc<Budget>,
    /// Requests decoded and matched at once (`ingest.workers`).
    pub workers: Arc<Semaphore>,
}

/// The ingest router.
pub fn router(state: IngestState) -> Router {
    Router::new()
        .route("/ingest", post(ingest_default))
        .route("/ingest/{source}", post(ingest_named))
        .with_state(Arc::new(state))
}

async fn ingest_default(
    State(s): State<Arc<IngestState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let source = s.config.sources.first().cloned().unwrap_or_default();
    respond(&s, ingest(&s, source, headers, body).await)
}

async fn ingest_named(
    State(s): State<Arc<IngestState>>,
    Path(source): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    respond(&s, ingest(&s, source, headers, body).await)
}

/// What became of one request.
enum Outcome {
    /// Every event written: how many lines and events.
    Written {
        lines: u64,
        events: u64,
    },
    /// No bearer token (false), or a wrong one (true).
    Unauthorized(bool),
    UnknownSource(String),
    TooLarge(usize),
    BadBody(String),
    /// A `Content-Encoding` the endpoint cannot decode (415).
    Unsupported(String),
    /// The body did not come in time (408).
    SlowBody(std::time::Duration),
    Full,
    /// Other requests hold the memory budget now (503).
    Busy,
    /// The request alone needs more than the memory budget (413).
    OverMemory,
    Unavailable(&'static str),
}

fn respond(s: &IngestState, o: Outcome) -> Response {
    let (code, body) = match &o {
        Outcome::Written { lines, events } => (
            StatusCode::OK,
            format!("{{\"lines\":{lines},\"events\":{events}}}\n"),
        ),
        Outcome::Unauthorized(false) => (
            StatusCode::UNAUTHORIZED,
            "bearer token required (Authorization: Bearer ...)\n".into(),
        ),
        Outcome::Unauthorized(true) => (StatusCode::UNAUTHORIZED, "wrong bearer token\n".into()),
        Outcome::UnknownSource(n) => (
            StatusCode::NOT_FOUND,
            format!("no ingest source {n:?} (ingest.sources)\n"),
        ),
        Outcome::TooLarge(max) => (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("body over {max} bytes (ingest.max_body_bytes)\n"),
        ),
        Outcome::BadBody(why) => (StatusCode::BAD_REQUEST, format!("{why}\n")),
        Outcome::SlowBody(t) => (
            StatusCode::REQUEST_TIMEOUT,
            format!("the body did not come within {t:?} (ingest.body_timeout)\n"),
        ),
        Outcome::Unsupported(enc) => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "Content-Encoding {enc:?} is not decoded here: send identity, gzip (x-gzip), deflate or zstd\n"
            ),
        ),
        Outcome::Full => (
            StatusCode::SERVICE_UNAVAILABLE,
            "queue full, retry\n".into(),
        ),
        Outcome::Busy => (
            StatusCode::SERVICE_UNAVAILABLE,
            "ingest memory in use by other requests (ingest.max_memory_bytes); retry\n".into(),
        ),
        Outcome::OverMemory => (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "this request needs more than ingest.max_memory_bytes ({} bytes) to decode and hold its events: send smaller batches\n",
                s.config.max_memory_bytes
            ),
        ),
        Outcome::Unavailable(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")),
    };
    s.metrics.ingest_request(code.as_u16());
    let mut r = (code, body).into_response();
    match o {
        Outcome::Full | Outcome::Busy | Outcome::Unavailable(_) => {
            r.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        Outcome::Unauthorized(_) => {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        _ => {}
    }
    r
}

async fn ingest(s: &Arc<IngestState>, source: String, headers: HeaderMap, body: Body) -> Outcome {
    if let Some(t) = &s.token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            // The scheme's name is case-insensitive (RFC 9110).
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim_start());
        match given {
            None => return Outcome::Unauthorized(false),
            Some(g) if !constant_time_eq(g.as_bytes(), t.as_bytes()) => {
                return Outcome::Unauthorized(true);
            }
            Some(_) => {}
        }
    }
    if !s.config.sources.contains(&source) {
        return Outcome::UnknownSource(source);
    }
    let encoding = match encoding_of(&headers) {
        Ok(e) => e,
        Err(e) => return e.into(),
    };
    let plain = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    let mut charge = s.budget.charge();
    // A client that sends its body a byte at a time holds a connection:
    // the whole body comes within `body_timeout`, or 408.
    let received = tokio::time::timeout(
        s.config.body_timeout,
        receive(body, &headers, s.config.max_body_bytes, &mut charge),
    )
    .await;
    let raw = match received {
        Ok(Ok(raw)) => raw,
        Ok(Err(e)) => return e.into(),
        Err(_) => return Outcome::SlowBody(s.config.body_timeout),
    };
    // Decoding and matching take a core each: at most `workers` at once;
    // the others wait (their bodies charged) up to `write_timeout`.
    let slot = match tokio::time::timeout(
        s.config.write_timeout,
        Arc::clone(&s.workers).acquire_owned(),
    )
    .await
    {
        Ok(Ok(slot)) => slot,
        Ok(Err(_)) => return Outcome::Unavailable("shutting down"),
        Err(_) => return Outcome::Unavailable("every ingest worker busy; retry later"),
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    let st = Arc::clone(s);
    let scanned = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let max = st.config.max_body_bytes;
        let body = decompress(encoding, raw, max, &mut charge)?;
        let records = if plain {
            Records {
                text: body,
                starts: None,
                times: Vec::new(),
            }
        } else {
            // The body and its records' text side by side, then the
            // records alone.
            let held = charge.bytes();
            charge.grow_to(held + body.len()).map_err(BodyError::from)?;
            let records = bodies::decode(&body, st.config.message_field.as_deref());
            drop(body);
            charge
                .grow_to(held + records.heap_bytes())
                .map_err(BodyError::from)?;
            records
        };
        let counts = scan_and_queue(&st, &source, &records, tx, &mut charge)?;
        Ok((counts, charge))
    })
    .await;
    // The charge is held until the events are written (they stay in memory
    // until then).
    let ((lines, events), _charge) = match scanned {
        Ok(Ok(done)) => done,
        Ok(Err(bad)) => return bad,
        Err(_) => return Outcome::Unavailable("the request's worker failed"),
    };
    // Past the wait (the output is blocked) the answer is 503; the events
    // are written later, so the client's retry may count them twice.
    match tokio::time::timeout(s.config.write_timeout, rx).await {
        Ok(Ok(())) => Outcome::Written { lines, events },
        Ok(Err(_)) => Outcome::Unavailable("shutting down"),
        Err(_) => Outcome::Unavailable("events output blocked; retry later"),
    }
}

impl From<BodyError> for Outcome {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge(max) => Outcome::TooLarge(max),
            BodyError::Busy => Outcome::Busy,
            BodyError::OverMemory => Outcome::OverMemory,
            BodyError::Bad(why) => Outcome::BadBody(why),
            BodyError::Unsupported(enc) => Outcome::Unsupported(enc),
        }
    }
}

/// Scans `records` as the records of `source` and queues its events with `ack`,
/// all or nothing, the events held charged to `charge`. Returns the lines
/// and events.
fn scan_and_queue(
    s: &IngestState,
    source: &str,
    records: &Records,
    ack: tokio::sync::oneshot::Sender<()>,
    charge: &mut Charge,
) -> Result<(u64, u64), Outcome> {
    let limit = s.max_line_bytes;
    let mut emitter = s.emitter.clone().holding();
    let mut pipeline = Pipeline::builder(source)
        .path("http")
        .max_line_bytes(limit)
        .build();
    let mut feed = Feed::new(&s.current, &mut emitter, &s.metrics, source)
        .holding()
        .charged(charge);
    if records.scan(&mut pipeline, &mut feed).is_err() {
        return Err(match feed.over_budget() {
            Some(o) => BodyError::from(o).into(),
            None => Outcome::Unavailable("shutting down"),
        });
    }
    let read = feed.held();
    match emitter.try_commit(ack) {
        Ok(()) => {}
        Err(CommitError::Full) => return Err(Outcome::Full),
        Err(CommitError::Closed) => return Err(Outcome::Unavailable("shutting down")),
    }
    // Counted once queued: a refused request is sent again.
    s.metrics.read(source, &read);
    Ok((read.lines, read.events))
}

/// Compares without returning early, so the time taken says nothing about
/// how much of the token matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_compare() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
