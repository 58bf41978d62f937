//! Why the browser endpoint did not take an upload: each [`Refusal`] is
//! counted under its `reason` and answered with its status, never quoting
//! what the client sent.

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
