//! Why the browser endpoint did not take an upload: each [`Refusal`] is
//! counted under its `reason` and answered with its status, never quoting
//! what the client sent.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::http::StatusCode;

use crate::daemon::source::http_body::BodyError;
use crate::daemon::source::request::Halt;

/// Why an upload was not taken; each is counted under its `reason`.
#[derive(Debug)]
pub(super) enum Refusal {
    Origin,
    AppId,
    Rate,
    InFlight,
    Clients,
    Method,
    NotFound,
    Cmdtype,
    Body(BodyError),
    SlowBody,
    Shape(String),
    QueueFull,
    Unavailable(&'static str),
}

impl Refusal {
    pub(super) fn reason(&self) -> &'static str {
        match self {
            Refusal::Origin => "origin",
            Refusal::AppId => "sdk_app_id",
            Refusal::Rate => "rate",
            Refusal::InFlight => "in_flight",
            Refusal::Clients => "clients",
            Refusal::Method => "method",
            Refusal::NotFound => "path",
            Refusal::Cmdtype => "cmdtype",
            Refusal::Body(BodyError::TooLarge(_) | BodyError::OverMemory) => "too_large",
            Refusal::Body(BodyError::Busy) => "busy",
            Refusal::Body(BodyError::Bad(_)) => "bad_body",
            Refusal::Body(BodyError::Unsupported(_)) => "encoding",
            Refusal::SlowBody => "slow_body",
            Refusal::Shape(_) => "bad_body",
            Refusal::QueueFull => "queue_full",
            Refusal::Unavailable(_) => "unavailable",
        }
    }

    pub(super) fn answer(&self) -> (StatusCode, String) {
        match self {
            Refusal::Origin => (StatusCode::FORBIDDEN, "origin not allowed".into()),
            Refusal::AppId => (StatusCode::FORBIDDEN, "sdkAppId not allowed".into()),
            Refusal::Rate => (StatusCode::TOO_MANY_REQUESTS, "too many uploads".into()),
            Refusal::InFlight => (
                StatusCode::TOO_MANY_REQUESTS,
                "too many uploads in flight".into(),
            ),
            Refusal::Clients => (StatusCode::TOO_MANY_REQUESTS, "too many clients".into()),
            Refusal::Method => (StatusCode::METHOD_NOT_ALLOWED, "POST only".into()),
            Refusal::NotFound => (StatusCode::NOT_FOUND, "not an upload path".into()),
            Refusal::Cmdtype => (StatusCode::BAD_REQUEST, "unknown cmdtype".into()),
            Refusal::Body(BodyError::TooLarge(max)) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("body over {max} bytes"),
            ),
            Refusal::Body(BodyError::OverMemory) => {
                (StatusCode::PAYLOAD_TOO_LARGE, "body too large".into())
            }
            Refusal::Body(BodyError::Busy) => {
                (StatusCode::SERVICE_UNAVAILABLE, "busy, retry".into())
            }
            Refusal::Body(BodyError::Bad(why)) => (StatusCode::BAD_REQUEST, why.clone()),
            Refusal::Body(BodyError::Unsupported(enc)) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("Content-Encoding {enc:?} not decoded"),
            ),
            Refusal::SlowBody => (StatusCode::REQUEST_TIMEOUT, "body too slow".into()),
            Refusal::Shape(why) => (StatusCode::BAD_REQUEST, why.clone()),
            Refusal::QueueFull => (
                StatusCode::SERVICE_UNAVAILABLE,
                "events queue full: upload dropped".into(),
            ),
            Refusal::Unavailable(why) => (StatusCode::SERVICE_UNAVAILABLE, (*why).into()),
        }
    }
}

/// A body that was not taken is answered without it: never quoted back.
impl From<Halt> for Refusal {
    fn from(s: Halt) -> Self {
        match s {
            Halt::Body(e) => Refusal::Body(e),
            Halt::SlowBody(_) => Refusal::SlowBody,
            Halt::WorkersBusy => Refusal::Body(BodyError::Busy),
            Halt::QueueFull { .. } => Refusal::QueueFull,
            Halt::ShuttingDown => Refusal::Unavailable("shutting down"),
            Halt::WorkerFailed => Refusal::Unavailable("the upload's worker failed"),
        }
    }
}

/// How often each reason of refusal is logged at most.
pub(super) const LOG_EVERY: Duration = Duration::from_secs(60);

/// The daemon's log of refusals: the first of each reason at once, then
/// at most one line per reason per [`LOG_EVERY`] saying how many there
/// were, with what was refused (the origin, the sdkAppId asked for:
/// escaped and cut short; never a body). A misconfigured origin shows in
/// the log, not only in a counter; a flood writes a line a minute.
#[derive(Debug, Default)]
pub(super) struct RefusalLog {
    by_reason: Mutex<HashMap<&'static str, Logged>>,
}

#[derive(Debug)]
struct Logged {
    at: Instant,
    /// Refusals since the last line.
    since: u64,
}

impl RefusalLog {
    /// Notes a refusal for `reason` at `now`, `what` naming what was
    /// refused; logs when the reason's minute has passed.
    pub(super) fn note(&self, source: &str, reason: &'static str, what: &str, now: Instant) {
        let mut m = self
            .by_reason
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let line = match m.get_mut(reason) {
            None => {
                m.insert(reason, Logged { at: now, since: 0 });
                Some(1)
            }
            Some(l) if now.saturating_duration_since(l.at) >= LOG_EVERY => {
                let n = l.since + 1;
                *l = Logged { at: now, since: 0 };
                Some(n)
            }
            Some(l) => {
                l.since += 1;
                None
            }
        };
        drop(m);
        if let Some(n) = line {
            let what = crate::daemon::metrics::log_text(what, 100);
            tracing::warn!(
                "{source}: refused {n} upload(s) for {reason} since the last such line (at most one a minute); the last: {what}"
            );
        }
    }
}
