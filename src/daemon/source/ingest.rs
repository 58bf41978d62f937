//! HTTP ingest: collectors (Fluent Bit's `http` output, Vector's `http`
//! sink, anything that POSTs) send log lines to `POST /ingest` or
//! `POST /ingest/{source}`; each request's lines go through the same
//! matcher, renderer, metrics and sink as a followed file's.
//!
//! The answer is 200 only once every event of the request is written to the
//! events output: the request's events and an acknowledgement are queued
//! together (all or nothing), and the sink fires the acknowledgement after
//! the write; past `write_timeout` (a slow output) it is 202: every event
//! queued, to be written. Anything else writes none of the request's
//! events, so a collector that retries on a 5xx or a timeout never loses a
//! line nor writes one twice (but for a connection cut after the answer
//! was sent). A full queue answers 503 with `Retry-After` and queues nothing; a body over the
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
use prometheus_client::registry::Registry;

use super::http_body::BodyError;
use super::request::{Halt, PathLimits, RequestPath, Terms};
use super::{Checkpoints, Kind, Source, SourceContext, StartError, Started, bind, from_section};
use crate::bodies::{self, Records};
use crate::daemon::config::{Config, ConfigError, IngestConfig, read_token};
use crate::daemon::metrics::{Fam, Metrics, StatusLabel, Witness};
use crate::pipeline::Pipeline;

/// The kind: the config's ingest endpoint, if it has one.
pub(crate) fn kind(r: &mut Registry) -> Box<dyn Kind> {
    Box::new(IngestKind {
        m: IngestMetrics::register(r),
    })
}

struct IngestKind {
    m: Arc<IngestMetrics>,
}

impl Kind for IngestKind {
    fn sources(&self, config: &Config, _: &mut Checkpoints) -> Vec<Box<dyn Source>> {
        from_section(config.ingest.as_ref(), |cfg| {
            Box::new(IngestSource {
                cfg,
                m: Arc::clone(&self.m),
            })
        })
    }

    fn restart_only(&self, old: &Config, new: &Config) -> Option<&'static str> {
        (old.ingest != new.ingest).then_some("ingest")
    }

    fn declare(&self, config: &Config, metrics: &Metrics) {
        if let Some(i) = &config.ingest {
            for name in &i.sources {
                metrics.declare_source(name);
            }
            self.m.declare();
        }
    }
}

/// The endpoint's answers by HTTP status.
#[derive(Debug, Default)]
struct IngestMetrics {
    requests: Fam<StatusLabel>,
}

impl IngestMetrics {
    fn register(r: &mut Registry) -> Arc<Self> {
        let m = Self::default();
        r.register(
            "trtc_logwatch_ingest_requests",
            "HTTP ingest requests by answer: 200 written, 202 queued (the output was slow: written later), 400, 401, 404, 408, 413, 415, 503 (queue full, memory or workers busy: nothing written)",
            m.requests.clone(),
        );
        Arc::new(m)
    }

    /// Creates the answer counters at 0.
    fn declare(&self) {
        for code in [200u16, 202, 400, 401, 404, 408, 413, 415, 503] {
            drop(self.requests.get_or_create(&StatusLabel {
                code: code.to_string(),
            }));
        }
    }

    /// One request answered with `code`.
    fn answered(&self, code: u16) {
        self.requests
            .get_or_create(&StatusLabel {
                code: code.to_string(),
            })
            .inc();
    }
}

/// The ingest endpoint as the daemon starts it.
struct IngestSource {
    cfg: IngestConfig,
    m: Arc<IngestMetrics>,
}

impl Source for IngestSource {
    fn name(&self) -> String {
        "ingest".into()
    }

    fn start(self: Box<Self>, ctx: SourceContext) -> Result<Started, StartError> {
        let token = match &self.cfg.token_file {
            Some(t) => Some(read_token(t).map_err(ConfigError::from)?),
            None => None,
        };
        let listener = bind(self.cfg.listen, "ingest")?;
        if let Ok(bound) = listener.local_addr() {
            tracing::info!("accepting POST /ingest on http://{bound}");
        }
        let limits = PathLimits {
            max_body_bytes: self.cfg.max_body_bytes,
            body_timeout: self.cfg.body_timeout,
            max_memory_bytes: self.cfg.max_memory_bytes,
            workers: self.cfg.workers,
            worker_wait: self.cfg.write_timeout,
        };
        let state = IngestState {
            path: RequestPath::new(
                limits,
                ctx.current.clone(),
                ctx.emitter.clone(),
                Arc::clone(&ctx.metrics),
            ),
            m: self.m,
            token,
            max_line_bytes: ctx.max_line_bytes,
            config: self.cfg,
        };
        ctx.ready.set();
        Ok(Started::Http {
            listener,
            router: router(state),
        })
    }
}

/// What the handlers share.
struct IngestState {
    path: RequestPath,
    m: Arc<IngestMetrics>,
    /// The ingest settings.
    config: IngestConfig,
    /// The bearer token requests must carry, if any.
    token: Option<String>,
    /// Longest line kept whole (fixed at start, as for every source).
    max_line_bytes: usize,
}

/// The ingest router.
fn router(state: IngestState) -> Router {
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
    /// Every event queued, not yet written (the output is slow): 202.
    Queued {
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
        Outcome::Queued { lines, events } => (
            StatusCode::ACCEPTED,
            format!("{{\"lines\":{lines},\"events\":{events},\"written\":false}}\n"),
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
    s.m.answered(code.as_u16());
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
    let plain = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    let received = match s.path.receive(&headers, body).await {
        Ok(r) => r,
        Err(stop) => return stop.into(),
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    let st = Arc::clone(s);
    let scanned = s
        .path
        .work(received, move |body, charge| {
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
            let mut pipeline = Pipeline::builder(&source)
                .path("http")
                .max_line_bytes(st.max_line_bytes)
                .build();
            let read = st
                .path
                .commit(
                    &source,
                    charge,
                    Terms {
                        ack: Some(tx),
                        limit: None,
                        by: Witness::Trusted,
                        body: None,
                    },
                    |feed| records.scan(&mut pipeline, feed),
                )?
                .read;
            Ok::<_, Outcome>((read.lines, read.events))
        })
        .await;
    // The charge is held until the events are written (they stay in memory
    // until then).
    let ((lines, events), charge) = match scanned {
        Ok(done) => done,
        Err(stop) => return stop,
    };
    // Past the wait (the output is blocked) the events are queued and will
    // be written: 202, so the collector does not send them again; their
    // charge is held until they are written.
    let mut rx = rx;
    match tokio::time::timeout(s.config.write_timeout, &mut rx).await {
        Ok(Ok(())) => Outcome::Written { lines, events },
        Ok(Err(_)) => Outcome::Unavailable("shutting down"),
        Err(_) => {
            tokio::spawn(async move {
                let _ = rx.await;
                drop(charge);
            });
            Outcome::Queued { lines, events }
        }
    }
}

impl From<BodyError> for Outcome {
    fn from(e: BodyError) -> Self {
        Halt::Body(e).into()
    }
}

impl From<Halt> for Outcome {
    fn from(s: Halt) -> Self {
        match s {
            Halt::Body(BodyError::TooLarge(max)) => Outcome::TooLarge(max),
            Halt::Body(BodyError::Busy) => Outcome::Busy,
            Halt::Body(BodyError::OverMemory) => Outcome::OverMemory,
            Halt::Body(BodyError::Bad(why)) => Outcome::BadBody(why),
            Halt::Body(BodyError::Unsupported(enc)) => Outcome::Unsupported(enc),
            Halt::SlowBody(t) => Outcome::SlowBody(t),
            Halt::WorkersBusy => Outcome::Unavailable("every ingest worker busy; retry later"),
            Halt::QueueFull { .. } => Outcome::Full,
            Halt::ShuttingDown => Outcome::Unavailable("shutting down"),
            Halt::WorkerFailed => Outcome::Unavailable("the request's worker failed"),
        }
    }
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
