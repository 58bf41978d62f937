//! The relay of uploads to the SDK's own log service (`browser.forward`),
//! so that Tencent's support still has the logs a ticket needs. Each body
//! goes unchanged, after the browser has its answer, through a bounded
//! queue to one task that posts at most [`AT_ONCE`] at a time, each within
//! [`TIMEOUT`]. A body waiting or in flight is charged to the endpoint's
//! memory budget: one the budget has no room for is not relayed. A full
//! queue, no room, a failure or a timeout is counted, never waited on by a
//! browser or retried.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use super::metrics::BrowserMetrics;
use crate::daemon::source::budget::Charge;

/// Posts in flight at once.
const AT_ONCE: usize = 8;
/// Time for one post.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Where bodies go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// Where the SDK sends them by itself: for an sdkAppId below
    /// 1,400,000,000 `https://apisgp.my-imcloud.com`, else
    /// `https://yun.tim.qq.com` (both SDKs' source).
    Tencent,
    /// This base URL.
    Url(String),
}

impl Target {
    /// `tencent`, or a URL.
    pub(crate) fn parse(s: &str) -> Self {
        if s.eq_ignore_ascii_case("tencent") {
            Target::Tencent
        } else {
            Target::Url(s.trim_end_matches('/').to_string())
        }
    }

    fn base(&self, sdk_app_id: u64) -> &str {
        match self {
            Target::Url(u) => u,
            Target::Tencent if sdk_app_id > 0 && sdk_app_id < 1_400_000_000 => {
                "https://apisgp.my-imcloud.com"
            }
            Target::Tencent => "https://yun.tim.qq.com",
        }
    }
}

/// One body to relay.
#[derive(Debug)]
pub(crate) struct Relay {
    /// The query as the SDK sent it (`random=..&sdkappid=..&cmdtype=..`).
    pub query: String,
    pub sdk_app_id: u64,
    pub content_type: Option<String>,
    /// The body goes as it came: encoded, if it was.
    pub content_encoding: Option<String>,
    pub body: Bytes,
    /// What the body holds of the endpoint's memory budget, until it is
    /// posted.
    pub charge: Charge,
}

/// The sending side, shared by the handlers.
#[derive(Debug, Clone)]
pub(crate) struct Forwarder {
    tx: mpsc::Sender<Relay>,
    metrics: Arc<BrowserMetrics>,
    source: String,
}

impl Forwarder {
    /// Starts the relay task (ends on `cancel`); `queue` bodies may wait.
    pub(crate) fn start(
        target: Target,
        queue: usize,
        metrics: Arc<BrowserMetrics>,
        source: String,
        cancel: CancellationToken,
    ) -> Self {
        let (tx, rx) = mpsc::channel(queue.max(1));
        tokio::spawn(run(
            target,
            rx,
            Arc::clone(&metrics),
            source.clone(),
            cancel,
        ));
        Self {
            tx,
            metrics,
            source,
        }
    }

    /// A body not relayed: no room for it in the memory budget (counted).
    pub(crate) fn not_relayed(&self) {
        self.metrics.forward(&self.source, "dropped");
    }

    /// Queues `r`; a full queue drops it (counted).
    pub(crate) fn send(&self, r: Relay) {
        if self.tx.try_send(r).is_err() {
            self.metrics.forward(&self.source, "dropped");
        }
    }
}

async fn run(
    target: Target,
    mut rx: mpsc::Receiver<Relay>,
    metrics: Arc<BrowserMetrics>,
    source: String,
    cancel: CancellationToken,
) {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(https);
    let slots = Arc::new(Semaphore::new(AT_ONCE));
    loop {
        let r = tokio::select! {
            _ = cancel.cancelled() => return,
            r = rx.recv() => match r { Some(r) => r, None => return },
        };
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let uri = format!(
            "{}/v5/AVQualityReportSvc/C2S?{}",
            target.base(r.sdk_app_id),
            r.query
        );
        let mut req = hyper::Request::post(uri);
        if let Some(ct) = &r.content_type {
            req = req.header(hyper::header::CONTENT_TYPE, ct);
        }
        if let Some(ce) = &r.content_encoding {
            req = req.header(hyper::header::CONTENT_ENCODING, ce);
        }
        let charge = r.charge;
        let Ok(req) = req.body(Full::new(r.body)) else {
            metrics.forward(&source, "failed");
            continue;
        };
        let (client, metrics, source) = (client.clone(), Arc::clone(&metrics), source.clone());
        tokio::spawn(async move {
            let (_slot, _charge) = (slot, charge);
            let result = match tokio::time::timeout(TIMEOUT, client.request(req)).await {
                Ok(Ok(resp)) if resp.status().is_success() => "ok",
                Ok(Ok(_)) => "refused",
                Ok(Err(_)) => "failed",
                Err(_) => "timeout",
            };
            metrics.forward(&source, result);
        });
    }
}
