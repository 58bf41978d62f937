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

use std::io::Read;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tokio::sync::watch;

use super::Generation;
use super::config::IngestConfig;
use super::metrics::Metrics;
use super::queue::{CommitError, Emitter};
use super::source::scan_text;
use crate::lines::LineReader;
use crate::scan::{Position, SourceScanner};

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
    Unauthorized,
    UnknownSource(String),
    TooLarge(usize),
    BadBody(String),
    Full,
    Unavailable(&'static str),
}

fn respond(s: &IngestState, o: Outcome) -> Response {
    let (code, body) = match &o {
        Outcome::Written { lines, events } => (
            StatusCode::OK,
            format!("{{\"lines\":{lines},\"events\":{events}}}\n"),
        ),
        Outcome::Unauthorized => (StatusCode::UNAUTHORIZED, "bearer token required\n".into()),
        Outcome::UnknownSource(n) => (
            StatusCode::NOT_FOUND,
            format!("no ingest source {n:?} (ingest.sources)\n"),
        ),
        Outcome::TooLarge(max) => (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("body over {max} bytes (ingest.max_body_bytes)\n"),
        ),
        Outcome::BadBody(why) => (StatusCode::BAD_REQUEST, format!("{why}\n")),
        Outcome::Full => (
            StatusCode::SERVICE_UNAVAILABLE,
            "queue full, retry\n".into(),
        ),
        Outcome::Unavailable(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")),
    };
    s.metrics.ingest_request(code.as_u16());
    let mut r = (code, body).into_response();
    match o {
        Outcome::Full | Outcome::Unavailable(_) => {
            r.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        Outcome::Unauthorized => {
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
            .and_then(|v| v.strip_prefix("Bearer "));
        if !given.is_some_and(|g| constant_time_eq(g.as_bytes(), t.as_bytes())) {
            return Outcome::Unauthorized;
        }
    }
    if !s.config.sources.contains(&source) {
        return Outcome::UnknownSource(source);
    }
    let max = s.config.max_body_bytes;
    let Ok(raw) = axum::body::to_bytes(body, max).await else {
        return Outcome::TooLarge(max);
    };
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    let plain = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    let (tx, rx) = tokio::sync::oneshot::channel();
    let st = Arc::clone(s);
    let scanned = tokio::task::spawn_blocking(move || {
        let body = if gzip {
            gunzip(&raw, max)?
        } else {
            raw.to_vec()
        };
        let text = if plain {
            body
        } else {
            records_to_lines(&body, st.config.message_field.as_deref())
        };
        Ok(scan_and_queue(&st, &source, &text, tx))
    })
    .await;
    let (lines, events) = match scanned {
        Ok(Ok(Ok(counts))) => counts,
        Ok(Ok(Err(CommitError::Full))) => return Outcome::Full,
        Ok(Ok(Err(CommitError::Closed))) => return Outcome::Unavailable("shutting down"),
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

/// Scans `text` as the lines of `source` and queues its events with `ack`,
/// all or nothing. Returns the lines and events.
fn scan_and_queue(
    s: &IngestState,
    source: &str,
    text: &[u8],
    ack: tokio::sync::oneshot::Sender<()>,
) -> Result<(u64, u64), CommitError> {
    let g = Arc::clone(&s.current.borrow());
    let limit = g.config.max_line_bytes;
    let mut emitter = s.emitter.clone().holding();
    let mut sc = SourceScanner::new(source, limit, Position::default()).with_path("http");
    // A buffer no larger than the request (the default is 1 MiB).
    let mut reader = LineReader::new(limit, (text.len() + 1).min(1 << 20));
    if scan_text(&g, &mut sc, &mut reader, text, &mut emitter).is_err() {
        return Err(CommitError::Closed);
    }
    emitter.try_commit(ack)?;
    // Counted once queued: a refused request is sent again.
    let delta = sc.take_delta();
    s.metrics.read(source, &delta);
    Ok((delta.lines, delta.events))
}

/// A gzip body, decompressed to at most `max` bytes.
fn gunzip(raw: &[u8], max: usize) -> Result<Vec<u8>, Outcome> {
    let mut out = Vec::new();
    let mut d = flate2::read::GzDecoder::new(raw).take(max as u64 + 1);
    d.read_to_end(&mut out)
        .map_err(|e| Outcome::BadBody(format!("bad gzip body: {e}")))?;
    if out.len() > max {
        return Err(Outcome::TooLarge(max));
    }
    Ok(out)
}

/// The log lines of a JSON body: newline-delimited objects (Fluent Bit
/// `json_lines`, Vector `codec: json` with newline framing) or one array of
/// objects (Fluent Bit `json`). Each record's line is its `field` (default:
/// the first of `log`, `message`, `msg` that is a string); a record without
/// one, or a line that is not JSON, is taken whole as the line, so nothing
/// is lost.
pub(crate) fn records_to_lines(body: &[u8], field: Option<&str>) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[')
        && let Ok(items) = serde_json::from_slice::<Vec<serde_json::Value>>(body)
    {
        // An array of records, or of `[time, record]` pairs (Fluent Bit's
        // msgpack-shaped JSON, as its `nats` output sends): the records.
        for v in &items {
            match v {
                serde_json::Value::Array(inner) => {
                    for r in inner.iter().filter(|r| r.is_object()) {
                        push_record(&mut out, r, field, None);
                    }
                }
                serde_json::Value::Object(_) | serde_json::Value::String(_) => {
                    push_record(&mut out, v, field, None);
                }
                _ => {}
            }
        }
        return out;
    }
    for line in body.split(|&b| b == b'\n') {
        let line = crate::scan::trim_cr(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<serde_json::Value>(line) {
            Ok(v) => push_record(&mut out, &v, field, Some(line)),
            Err(_) => {
                out.extend_from_slice(line);
                out.push(b'\n');
            }
        }
    }
    out
}

fn push_record(out: &mut Vec<u8>, v: &serde_json::Value, field: Option<&str>, raw: Option<&[u8]>) {
    let names: &[&str] = match field {
        Some(f) => &[f][..],
        None => &["log", "message", "msg"],
    };
    let msg = names
        .iter()
        .find_map(|n| v.get(*n).and_then(|m| m.as_str()));
    match (msg, raw) {
        (Some(m), _) => out.extend_from_slice(m.trim_end_matches(['\n', '\r']).as_bytes()),
        (None, Some(r)) => out.extend_from_slice(r),
        (None, None) => out.extend_from_slice(v.to_string().as_bytes()),
    }
    out.push(b'\n');
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
    fn collector_bodies_become_lines() {
        let fluent = br#"{"date":1.7e9,"log":"RtcError: x <ICE_TRANSPORT_ERROR 0x4003>\n"}
{"date":1.7e9,"log":"fine"}
"#;
        assert_eq!(
            records_to_lines(fluent, None),
            b"RtcError: x <ICE_TRANSPORT_ERROR 0x4003>\nfine\n"
        );
        let vector = br#"{"message":"a","timestamp":"2026-01-01T00:00:00Z"}
{"msg":"b"}
not json at all
{"other":1}
"#;
        assert_eq!(
            records_to_lines(vector, None),
            b"a\nb\nnot json at all\n{\"other\":1}\n"
        );
        let array = br#"[{"log":"x"},{"log":"y"}]"#;
        assert_eq!(records_to_lines(array, None), b"x\ny\n");
        let custom = br#"{"text":"t","log":"l"}"#;
        assert_eq!(records_to_lines(custom, Some("text")), b"t\n");
        // A multi-line message stays whole (split SDK errors join).
        let multi = br#"{"log":"RtcError: a\nRefer to: https://x\n <JOIN_ROOM_FAILED 0x4004>"}"#;
        assert_eq!(
            records_to_lines(multi, None),
            b"RtcError: a\nRefer to: https://x\n <JOIN_ROOM_FAILED 0x4004>\n"
        );
    }

    #[test]
    fn token_compare() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
