//! The browser endpoint: the TRTC Web SDK's own log upload, sent from the
//! end users' browsers when the app sets the SDK's `loggerProxy` to this
//! port (v5 `enterRoom({ proxy: { loggerProxy } })`, v4
//! `client.setProxyServer({ loggerProxy })`). Owns the port's answers and
//! limits; the bodies' formats are in [`upload`], the rates in
//! [`clients`], the User-Agent in [`ua`], the relay in [`forward`].
//!
//! The port faces the internet: no secret can protect it. So each upload
//! is checked, cheapest first: the page's origin (403), the client's rate
//! (429, in a bounded table), the sdkAppId in the query (403), the
//! `cmdtype` (400), the body's size as sent and decoded (413), its
//! encoding (415), the time to send it (408), the memory of all uploads
//! together (503), the body's shape (400) and its sdkAppId (403). A log
//! upload's records go through the record pipeline with the body's user,
//! sdkAppId and SDK version and the User-Agent's browser and OS in each
//! event. A browser never waits on the events output: the upload is
//! queued whole or, when the queue is full, dropped (503, counted).
//! Nothing a browser sends becomes a label but the sdkAppIds allowed and
//! the catalog's keys; a userSig is never written.

mod clients;
mod clock;
mod forward;
mod metrics;
mod refusal;
mod upload;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::registry::Registry;

use super::budget::Charge;
use super::request::{Halt, PathLimits, RequestPath, Terms};
use super::{Checkpoints, Kind, Source, SourceContext, StartError, Started, bind, from_section};
use crate::catalog::CatalogSet;
use crate::context::Context;
use crate::daemon::board::Board;
use crate::daemon::config::{BrowserConfig, Config};
use crate::daemon::metrics::{Metrics, Witness};
use crate::daemon::recent::UserJoin;
use crate::pipeline::Pipeline;
use crate::ua;
use clients::{ClientId, Clients, InFlight, Rate, Verdict};
use forward::{Forwarder, Relay, Target};
use metrics::BrowserMetrics;
use refusal::{Refusal, RefusalLog};
use upload::Session;

/// The kind: the config's browser endpoint, if it has one.
pub(crate) fn kind(r: &mut Registry) -> Box<dyn Kind> {
    Box::new(BrowserKind {
        m: BrowserMetrics::register(r),
    })
}

struct BrowserKind {
    m: Arc<BrowserMetrics>,
}

impl Kind for BrowserKind {
    fn sources(&self, config: &Config, _: &mut Checkpoints) -> Vec<Box<dyn Source>> {
        from_section(config.browser.as_ref(), |cfg| {
            Box::new(BrowserSource {
                cfg,
                m: Arc::clone(&self.m),
            })
        })
    }

    fn restart_only(&self, old: &Config, new: &Config) -> Option<&'static str> {
        (old.browser != new.browser).then_some("browser")
    }

    fn declare(&self, config: &Config, metrics: &Metrics) {
        if let Some(b) = &config.browser {
            metrics.declare_source(&b.source);
            self.m.declare(&b.source);
        }
    }
}

/// The endpoint as the daemon starts it.
struct BrowserSource {
    cfg: BrowserConfig,
    m: Arc<BrowserMetrics>,
}

impl Source for BrowserSource {
    fn name(&self) -> String {
        format!("browser:{}", self.cfg.source)
    }

    fn start(self: Box<Self>, ctx: SourceContext) -> Result<Started, StartError> {
        let listener = bind(self.cfg.listen, "browsers")?;
        if let Ok(bound) = listener.local_addr() {
            tracing::info!("accepting the SDK's log upload (loggerProxy) on http://{bound}");
        }
        let state = BrowserState::new(self.cfg, self.m, &ctx);
        ctx.ready.set();
        Ok(Started::Http {
            listener,
            router: router(state),
        })
    }
}

/// The path the SDKs post to, after the `loggerProxy` base URL.
const UPLOAD_PATH: &str = "/v5/AVQualityReportSvc/C2S";

/// What the handlers share.
#[derive(Debug)]
struct BrowserState {
    path: RequestPath,
    m: Arc<BrowserMetrics>,
    config: BrowserConfig,
    max_line_bytes: usize,
    clients: Clients,
    in_flight: InFlight,
    refusals: RefusalLog,
    /// Uploads taken and refused, for the pages.
    board: Arc<Board>,
    forward: Option<Forwarder>,
}

impl BrowserState {
    /// The endpoint's state; starts the relay task if `forward` is set.
    fn new(config: BrowserConfig, m: Arc<BrowserMetrics>, ctx: &SourceContext) -> Self {
        let forward = config.forward.as_ref().map(|f| {
            Forwarder::start(
                Target::parse(f),
                config.forward_queue,
                Arc::clone(&m),
                config.source.clone(),
                ctx.cancel.clone(),
            )
        });
        let limits = PathLimits {
            max_body_bytes: config.max_body_bytes,
            body_timeout: config.body_timeout,
            max_memory_bytes: config.max_memory_bytes,
            workers: std::thread::available_parallelism().map_or(2, usize::from),
            worker_wait: config.body_timeout,
        };
        Self {
            path: RequestPath::new(
                limits,
                ctx.current.clone(),
                ctx.emitter.clone(),
                Arc::clone(&ctx.metrics),
            ),
            clients: Clients::new(
                Rate::per_minute(config.uploads_per_minute, config.burst),
                Rate::per_minute(config.events_per_minute, config.events_burst),
                config.max_clients,
            ),
            in_flight: InFlight::new(config.uploads_in_flight),
            refusals: RefusalLog::default(),
            board: Arc::clone(&ctx.board),
            m,
            config,
            max_line_bytes: ctx.max_line_bytes,
            forward,
        }
    }
}

/// The sdkAppId an upload's query names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QueryApp {
    /// One of `browser.sdk_app_ids`; the body's, when it names one, must be
    /// the same.
    Allowed(u64),
    /// [`PLACEHOLDER_APP_ID`]: trtc-js-sdk 4.8 to 4.11 put the real id in
    /// the body only, which must then be allowed.
    Placeholder,
}

/// The sdkAppId trtc-js-sdk 4.8-4.11 put in the upload's query (the real
/// one is in the body).
const PLACEHOLDER_APP_ID: u64 = 1;

impl BrowserState {
    /// Takes an upload of `client` into its rate (a place in the table for
    /// a new client), once everything it sent was checked.
    fn admit(&self, client: IpAddr) -> Result<(), Refusal> {
        let v = self.clients.admit(client, Instant::now());
        self.m.clients(self.clients.len());
        match v {
            Verdict::Take => Ok(()),
            Verdict::TakePushingOut => {
                self.m.pushed_out(&self.config.source);
                Ok(())
            }
            Verdict::OverRate => Err(Refusal::Rate),
        }
    }

    /// The upload's sdkAppId, from its query (`app`) and what its body
    /// names (`body`): the same allowed id, or with the placeholder an
    /// allowed id in the body. Its client is admitted only then: an upload
    /// refused for its body's id takes no place among the clients.
    fn body_app(&self, app: QueryApp, body: Option<u64>, client: IpAddr) -> Result<u64, Refusal> {
        let id = match (app, body) {
            (QueryApp::Allowed(id), None) => id,
            (QueryApp::Allowed(id), Some(b)) if b == id => id,
            (QueryApp::Placeholder, Some(b)) if self.config.sdk_app_ids.contains(&b) => b,
            _ => return Err(Refusal::AppId),
        };
        self.admit(client)?;
        Ok(id)
    }
}

/// The endpoint's router: uploads on any path that ends with the SDK's
/// upload path (the `loggerProxy` may have a path of its own), CORS
/// preflights, 404 for the rest.
fn router(state: BrowserState) -> Router {
    Router::new().fallback(handle).with_state(Arc::new(state))
}

async fn handle(State(s): State<Arc<BrowserState>>, req: Request) -> Response {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let asked_app = query_value(req.uri().query().unwrap_or(""), "sdkappid").map(str::to_string);
    let r = upload(&s, req, origin.as_deref()).await;
    let (code, text, allowed) = match r {
        Ok(resp) => return resp,
        Err((refusal, allowed)) => {
            s.m.refused(&s.config.source, refusal.reason());
            s.board.uploads.refused(&s.config.source, refusal.reason());
            let what = format!(
                "origin {}, sdkappid {}",
                origin.as_deref().unwrap_or("(none)"),
                asked_app.as_deref().unwrap_or("(none)")
            );
            s.refusals
                .note(&s.config.source, refusal.reason(), &what, Instant::now());
            let (code, text) = refusal.answer();
            (code, text, allowed)
        }
    };
    let mut resp = (code, format!("{text}\n")).into_response();
    if allowed {
        cors(resp.headers_mut(), origin.as_deref());
    }
    resp
}

/// The CORS headers of an answer to an allowed origin.
fn cors(h: &mut HeaderMap, origin: Option<&str>) {
    if let Some(o) = origin.and_then(|o| HeaderValue::from_str(o).ok()) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
}

/// The client's address. A connection from a trusted proxy
/// (`browser.trusted_proxies`) is on behalf of the right-most address of
/// `client_ip_header`, across all its lines, that is not itself a trusted
/// proxy (each proxy appends the address it was reached from); any other
/// connection is its own client, whatever it says. An entry that is no
/// address ends the walk: the client is the hop that handed it on.
fn client_of(s: &BrowserState, req: &Request) -> Option<IpAddr> {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|p| p.0.ip())?;
    let trusted = |a: &IpAddr| s.config.trusted_proxies.iter().any(|n| n.contains(a));
    let Some(h) = s.config.client_ip_header.as_deref() else {
        return Some(peer);
    };
    if !trusted(&peer) {
        return Some(peer);
    }
    // From the right: the last line's last address first.
    let entries = req
        .headers()
        .get_all(h)
        .iter()
        .rev()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.rsplit(','))
        .map(str::trim)
        .filter(|e| !e.is_empty());
    let mut client = peer;
    for e in entries {
        let Some(a) = forwarded_address(e) else {
            return Some(client);
        };
        client = a;
        if !trusted(&a) {
            return Some(a);
        }
    }
    Some(client)
}

/// An address as proxies write it in a forwarded-for list: `192.0.2.1`,
/// `2001:db8::1`, with a port (`192.0.2.1:4711`, `[2001:db8::1]:4711`, as
/// some load balancers append), quoted, or with an IPv6 zone (`fe80::1%eth0`).
fn forwarded_address(entry: &str) -> Option<IpAddr> {
    let e = entry.trim().trim_matches('"');
    if let Ok(a) = e.parse::<IpAddr>() {
        return Some(a);
    }
    if let Ok(sa) = e.parse::<SocketAddr>() {
        return Some(sa.ip());
    }
    let e = e
        .strip_prefix('[')
        .map_or(e, |r| r.split(']').next().unwrap_or(r));
    e.split('%').next()?.parse().ok()
}

/// The value of `name` in a query string.
fn query_value<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// What the SDK uploads, by `cmdtype`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmd {
    Log,
    EndReport,
    KeyMetrics,
}

impl Cmd {
    fn named(s: &str) -> Option<Self> {
        match s {
            "jssdk_log" => Some(Cmd::Log),
            "jssdk_new_endreport" => Some(Cmd::EndReport),
            "jssdk_key_metrics_report" | "jssdk_key_metrics" => Some(Cmd::KeyMetrics),
            _ => None,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Cmd::Log => "jssdk_log",
            Cmd::EndReport => "jssdk_new_endreport",
            Cmd::KeyMetrics => "jssdk_key_metrics_report",
        }
    }
}

type Refused = (Refusal, bool);

async fn upload(
    s: &Arc<BrowserState>,
    req: Request,
    origin: Option<&str>,
) -> Result<Response, Refused> {
    // Browsers send their page's origin with every cross-origin POST and
    // with preflights; a request without one is no browser's upload.
    let allowed = origin.is_some_and(|o| s.config.origins.allows(o));
    if !allowed {
        return Err((Refusal::Origin, false));
    }
    let no = |r: Refusal| (r, true);
    if !req.uri().path().ends_with(UPLOAD_PATH) {
        return Err(no(Refusal::NotFound));
    }
    if req.method() == Method::OPTIONS {
        return Ok(preflight(origin));
    }
    if req.method() != Method::POST {
        return Err(no(Refusal::Method));
    }
    // Every check that needs no state comes before the client takes a
    // place in the table: a flood of refused uploads takes none.
    let query = req.uri().query().unwrap_or("").to_string();
    let app = match query_value(&query, "sdkappid").and_then(|v| v.parse::<u64>().ok()) {
        Some(id) if s.config.sdk_app_ids.contains(&id) => QueryApp::Allowed(id),
        Some(PLACEHOLDER_APP_ID) => QueryApp::Placeholder,
        _ => return Err(no(Refusal::AppId)),
    };
    let cmd = query_value(&query, "cmdtype")
        .and_then(Cmd::named)
        .ok_or(no(Refusal::Cmdtype))?;
    let client = client_of(s, &req).ok_or(no(Refusal::Clients))?;
    // A known client over its rate is refused before its body costs
    // anything; a client takes its place in the table once its body's
    // sdkAppId is checked too.
    if s.clients.over_rate(client, Instant::now()) {
        return Err(no(Refusal::Rate));
    }
    // Its uploads in flight, each holding its body's memory: a few at once.
    let _flight = s.in_flight.enter(client).ok_or(no(Refusal::InFlight))?;
    let (parts, body) = req.into_parts();
    let received = s
        .path
        .receive(&parts.headers, body)
        .await
        .map_err(|e| no(e.into()))?;
    let header_of = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header_of(header::CONTENT_TYPE);
    let content_encoding = header_of(header::CONTENT_ENCODING);
    // The relay's copy is charged to the budget until posted; without
    // room it is not relayed (counted).
    // Relayed bodies take at most half the budget: a slow relay target
    // never leaves uploads without room.
    let relay = s.forward.as_ref().and_then(|f| {
        let mut charge = s.path.charge();
        let room = s.config.max_memory_bytes / 2;
        if s.path.in_use() + received.raw.len() > room
            || charge.grow_to(received.raw.len()).is_err()
        {
            f.not_relayed();
            return None;
        }
        Some((Bytes::copy_from_slice(&received.raw), charge))
    });
    let agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(ua::parse);
    let st = Arc::clone(s);
    let ((taken, app_id), _charge) = s
        .path
        .work(received, move |body, charge| match cmd {
            Cmd::Log => {
                let up = upload::log_upload(&body).map_err(Refusal::Shape)?;
                let id = st.body_app(app, Some(up.sdk_app_id), client)?;
                Ok((take_log(&st, up, agent, client, charge)?, id))
            }
            Cmd::EndReport => {
                let r = upload::end_report(&body).map_err(Refusal::Shape)?;
                let id = st.body_app(app, r.sdk_app_id, client)?;
                take_end_report(&st, r, id)?;
                Ok((0, id))
            }
            Cmd::KeyMetrics => Ok((0, st.body_app(app, None, client)?)),
        })
        .await
        .map_err(no)?;
    s.m.upload(&s.config.source, cmd.label());
    s.board.uploads.taken(&s.config.source);
    if let (Some(f), Some((body, charge))) = (&s.forward, relay) {
        f.send(Relay {
            query,
            sdk_app_id: app_id,
            content_type,
            content_encoding,
            body,
            charge,
        });
    }
    let mut resp = (StatusCode::OK, format!("{{\"events\":{taken}}}\n")).into_response();
    cors(resp.headers_mut(), origin);
    Ok(resp)
}

/// The answer to a CORS preflight from an allowed origin.
fn preflight(origin: Option<&str>) -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let h = resp.headers_mut();
    cors(h, origin);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type, content-encoding"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    resp
}

/// A `jssdk_log` upload's records through the pipeline, its events queued
/// whole or not at all (a full queue drops it, counted). Returns the
/// events queued.
fn take_log(
    s: &BrowserState,
    up: upload::LogUpload,
    agent: Option<ua::Agent>,
    client: IpAddr,
    charge: &mut Charge,
) -> Result<u64, Refusal> {
    // Each record at its own time, where the upload's says its zone.
    let (starts, times) = record_times(&up, jiff::Timestamp::now());
    let known = Context {
        user_id: up.user_id,
        sdk_app_id: Some(up.sdk_app_id.to_string()),
        sdk_version: up.version,
        browser: agent.as_ref().map(|a| a.browser.clone()),
        os: agent.map(|a| a.os.to_string()),
        room_id: None,
    };
    let source = s.config.source.as_str();
    let mut pipeline = Pipeline::builder(source)
        .path("browser")
        .max_line_bytes(s.max_line_bytes)
        .context(known)
        .build();
    // At most what the client may still write, and the upload's own cap:
    // the rest of its records are counted, not written.
    let limit = s
        .clients
        .events_left(client)
        .min(s.config.max_events_per_upload as u64);
    // The browser does not wait for the write: no acknowledgement; its
    // charge goes with its events until they are written.
    let terms = Terms {
        ack: None,
        limit: Some(limit),
        by: Witness::from(ClientId::of(client)),
        body: Some(up.log.as_bytes()),
    };
    match s.path.commit(source, charge, terms, |feed| {
        pipeline.text_at(up.log.as_bytes(), &starts, &times, feed)
    }) {
        Ok(c) => {
            s.clients.spend_events(client, c.written);
            if c.capped > 0 {
                s.m.capped(source, c.capped);
            }
            Ok(c.written)
        }
        Err(Halt::QueueFull { events }) => {
            s.path.dropped(events);
            Err(Refusal::QueueFull)
        }
        Err(stop) => Err(stop.into()),
    }
}

/// Where each record of `up` with a time prefix starts in its log, and
/// when it happened (see [`clock`]); empty when the upload's own time
/// cannot be read.
fn record_times(
    up: &upload::LogUpload,
    arrival: jiff::Timestamp,
) -> (Vec<usize>, Vec<Option<jiff::Timestamp>>) {
    let Some(clock) = up
        .timestamp
        .as_deref()
        .and_then(|t| clock::UploadClock::of(t, arrival))
    else {
        return (Vec::new(), Vec::new());
    };
    let log = up.log.as_bytes();
    let mut at = 0;
    let (mut starts, mut times) = (Vec::new(), Vec::new());
    for line in log.split(|&b| b == b'\n') {
        if let Some(t) = clock.record_time(line) {
            starts.push(at);
            times.push(Some(t));
        }
        at += line.len() + 1;
    }
    (starts, times)
}

/// A `jssdk_new_endreport`: how its session went, counted per sdkAppId
/// (and per catalog key for failures). Nothing of it is kept.
fn take_end_report(s: &BrowserState, r: upload::EndReport, app_id: u64) -> Result<(), Refusal> {
    let app = app_id.to_string();
    let source = &s.config.source;
    s.m.quality(source, &app, &r);
    let (result, key) = match r.session {
        Session::Entered => ("entered", None),
        Session::NoEnter => {
            s.m.join(source, &app, "not_entered", None);
            return Ok(());
        }
        Session::Failed(code) => {
            let g = s.path.current().borrow();
            let key = failure_key(g.matcher.catalog(), r.sdk_major, code).to_string();
            ("failed", Some(key))
        }
    };
    s.m.join(source, &app, result, key.as_deref());
    if let Some(secs) = r.join_seconds {
        s.m.join_took(source, &app, result, secs);
    }
    // On the pages: the join ratio, and the user's own attempts.
    s.board.recent.join(
        r.user_id.as_deref(),
        UserJoin {
            ts: jiff::Timestamp::now().to_string(),
            result,
            key,
            seconds: r.join_seconds,
        },
    );
    Ok(())
}

/// The catalog key of a failed session's result: SDK 4's `2` is the
/// schedule request, `3` the enter-room command; SDK 5 gives the error
/// code itself. Unknown codes are `UNKNOWN` (the label stays bounded).
fn failure_key(set: &CatalogSet, major: Option<u32>, code: i64) -> &str {
    let named = match (major, code) {
        (Some(4), 2) => Some("SCHEDULE_FAILED"),
        (Some(4), 3) => Some("JOIN_ROOM_FAILED"),
        _ => None,
    };
    if let Some(n) = named {
        return n;
    }
    let ids = set.by_code(code);
    let pick = ids
        .iter()
        .find(|&&id| major.is_none() || set.entry(id).sdk_major == major)
        .or(ids.first());
    pick.map_or("UNKNOWN", |&id| set.entry(id).key.as_str())
}

#[cfg(test)]
mod tests {
    #[test]
    fn forwarded_addresses_in_the_forms_proxies_write() {
        use std::net::IpAddr;
        let ip = |s: &str| s.parse::<IpAddr>().ok();
        for (entry, want) in [
            ("192.0.2.1", "192.0.2.1"),
            ("192.0.2.1:4711", "192.0.2.1"),
            ("\"192.0.2.1\"", "192.0.2.1"),
            ("2001:db8::1", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("[2001:db8::1]:4711", "2001:db8::1"),
            ("fe80::1%eth0", "fe80::1"),
            ("\"[2001:db8::1]:80\"", "2001:db8::1"),
        ] {
            assert_eq!(super::forwarded_address(entry), ip(want), "{entry}");
        }
        for junk in ["unknown", "_hidden", "", "192.0.2", "0xc0000201"] {
            assert_eq!(super::forwarded_address(junk), None, "{junk}");
        }
    }
}
