//! The daemon's own pages, for a person without Grafana: `/` (what it
//! reads, its health, the browser uploads refused, the failures by group
//! and the errors by key with the users they hit), `/groups/{group}` (one
//! failure whatever the SDK version), `/errors/{KEY}` (what the error means
//! and what to do, its figures, the SDK versions and browsers it came
//! from, its last few events) and `/users/{userId}` (a recent user's last
//! errors). Rendered
//! on the server as HTML with no external asset, in English or Japanese
//! (`?lang=ja`, or a browser that prefers Japanese), every text escaped,
//! nothing secret (lines are redacted before they are kept), and the work
//! per request bounded by the catalog's keys.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::watch;

use super::affected::{Affected, Figure, Reach, Subject};
use super::board::Board;
use super::generation::Generation;
use super::health::Health;
use super::recent::KeyFigures;
use crate::catalog::{CatalogSet, Entry, GROUPS, Text};

/// What the pages read.
#[derive(Debug, Clone)]
pub struct PagesState {
    /// The current configuration and catalogs.
    pub current: watch::Receiver<Arc<Generation>>,
    /// Whether the daemon is ready, and why not.
    pub health: Arc<Health>,
    /// Recent figures and events, and the file sources' lags.
    pub board: Arc<Board>,
    /// Who the errors hit.
    pub affected: Arc<Affected>,
}

/// The pages' routes, merged into the `/metrics` server's router.
pub fn router(state: PagesState) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/errors/{key}", get(error_page))
        .route("/groups/{group}", get(group_page))
        .route("/users/{user}", get(user_page))
        .with_state(state)
}

/// The language of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    En,
    Ja,
}

impl Lang {
    fn of(query: &PageQuery, headers: &HeaderMap) -> Self {
        match query.lang.as_deref() {
            Some("ja") => return Lang::Ja,
            Some("en") => return Lang::En,
            _ => {}
        }
        let prefers_ja = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("ja"));
        if prefers_ja { Lang::Ja } else { Lang::En }
    }

    fn t(self, en: &'static str, ja: &'static str) -> &'static str {
        match self {
            Lang::En => en,
            Lang::Ja => ja,
        }
    }

    fn text(self, t: &Text) -> &str {
        match (self, &t.ja) {
            (Lang::Ja, Some(ja)) => ja,
            _ => &t.en,
        }
    }

    fn code(self) -> &'static str {
        self.t("en", "ja")
    }
}

/// `?lang=`.
/// Columns of a key's figures in both tables: its errors in the last 5
/// minutes and since start; its distinct users in 5 minutes and an hour.
const COUNTS: [(&str, &str); 2] = [("last 5 min", "直近5分"), ("since start", "起動以降")];
const USERS: [(&str, &str); 2] = [
    ("users, 5 min", "ユーザー数(5分)"),
    ("users, 1 hour", "ユーザー数(1時間)"),
];

/// A table's header row, each column named in `lang`.
fn head_row(lang: Lang, cols: &[(&'static str, &'static str)]) -> String {
    let mut row = String::from("<tr>");
    for &(en, ja) in cols {
        row += "<th>";
        row += lang.t(en, ja);
        row += "</th>";
    }
    row + "</tr>"
}

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct PageQuery {
    lang: Option<String>,
}

/// Text made safe for HTML.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;max-width:72rem;color:#222}\
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}\
th{background:#f4f4f4}td.n{text-align:right}pre{background:#f7f7f7;padding:.5rem;white-space:pre-wrap;word-break:break-all}\
pre.crumbs{color:#666;margin-bottom:0}.bad{color:#a00}.ok{color:#070}nav a{margin-right:1rem}";

fn page(lang: Lang, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>",
        lang.code(),
        esc(title)
    );
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

fn nav(lang: Lang, here: &str) -> String {
    format!(
        "<nav><a href=\"/?lang={}\">{}</a><a href=\"{}?lang=en\">English</a><a href=\"{}?lang=ja\">日本語</a><a href=\"/metrics\">/metrics</a></nav>",
        lang.code(),
        lang.t("All errors", "すべてのエラー"),
        esc(here),
        esc(here)
    )
}

/// `/`: what the daemon reads, its health, the errors now.
async fn index(
    State(s): State<PagesState>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::of(&q, &headers);
    let g = s.current.borrow().clone();
    let mut body = format!(
        "{}<h1>trtc-logwatch {}</h1>",
        nav(lang, "/"),
        esc(env!("CARGO_PKG_VERSION"))
    );
    body += &match s.health.status() {
        Ok(()) => format!("<p class=\"ok\">{}</p>", lang.t("Ready.", "稼働中です。")),
        Err(why) => format!(
            "<p class=\"bad\">{} {}</p>",
            lang.t("Not ready:", "準備ができていません:"),
            esc(&why)
        ),
    };
    body += &format!(
        "<h2>{}</h2><table>{}",
        lang.t("Sources", "ソース"),
        head_row(
            lang,
            &[
                ("source", "ソース"),
                ("kind", "種類"),
                ("unread bytes", "未読バイト数"),
            ]
        )
    );
    let lags = s.board.lags.all();
    for (name, kind) in g.config.source_names() {
        let lag = lags
            .iter()
            .find(|(n, _)| n == name)
            .map_or_else(|| "-".to_string(), |(_, l)| l.to_string());
        body += &format!(
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
            esc(name),
            esc(kind),
            esc(&lag)
        );
    }
    body += "</table>";
    body += &uploads_table(lang, &s);
    let recent = s.board.recent.figures();
    let affected = s.affected.now();
    let set = g.matcher.catalog();
    body += &groups_table(lang, &s, &affected);
    body += &format!(
        "<h2>{}</h2><table>{}",
        lang.t("Errors", "エラー"),
        head_row(
            lang,
            &[
                ("key", "キー"),
                ("catalog", "カタログ"),
                ("group", "グループ"),
                COUNTS[0],
                COUNTS[1],
                USERS[0],
                USERS[1],
            ]
        )
    );
    if recent.is_empty() {
        body += &format!(
            "<tr><td colspan=\"7\">{}</td></tr>",
            lang.t("No error since start.", "起動以降エラーはありません。")
        );
    }
    for f in &recent {
        let group = set
            .by_name(&f.key)
            .iter()
            .find(|&&id| set.entry(id).catalog == f.catalog)
            .map_or("unknown", |&id| set.entry(id).category.group());
        let u = Affected::reach_of(&affected, &f.catalog, &f.key);
        body += &format!(
            "<tr><td><a href=\"/errors/{k}?lang={l}\">{k}</a></td><td>{}</td><td><a href=\"/groups/{g}?lang={l}\">{g}</a></td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&f.catalog),
            f.last_5m,
            f.total,
            u.users_5m,
            u.users_1h,
            k = esc(&f.key),
            g = esc(group),
            l = lang.code()
        );
    }
    body += "</table>";
    page(lang, "trtc-logwatch", &body)
}

/// The browser endpoints' uploads taken and refused by reason: a wrong
/// origin or sdkAppId shows here, not only in a counter.
fn uploads_table(lang: Lang, s: &PagesState) -> String {
    let all = s.board.uploads.all();
    if all.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "<h2>{}</h2><table>{}",
        lang.t("Browser uploads", "ブラウザからのアップロード"),
        head_row(
            lang,
            &[
                ("source", "ソース"),
                ("taken", "受理"),
                ("refused, by reason", "拒否(理由別)")
            ]
        )
    );
    for u in all {
        let why = u
            .refused
            .iter()
            .map(|(r, n)| format!("{}: {n}", esc(r)))
            .collect::<Vec<_>>()
            .join(", ");
        out += &format!(
            "<tr><td>{}</td><td class=\"n\">{}</td><td{}>{}</td></tr>",
            esc(&u.source),
            u.taken,
            if u.refused.is_empty() {
                ""
            } else {
                " class=\"bad\""
            },
            if why.is_empty() { "0".to_string() } else { why }
        );
    }
    out + "</table>"
}

/// `s` as one path segment: every byte but the unreserved ones
/// percent-encoded.
fn path_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Who an event names, each linked where it has a page (the user), or
/// "not named in the logs".
fn who(lang: Lang, s: &super::recent::Sample) -> String {
    let user = s.user.as_deref().map_or_else(
        || format!("user={}", lang.t("not named in the logs", "ログに記載なし")),
        |u| {
            format!(
                "user=<a href=\"/users/{}?lang={}\">{}</a>",
                esc(&path_segment(u)),
                lang.code(),
                esc(u)
            )
        },
    );
    let rest = [
        ("room", &s.room),
        ("sdk", &s.version),
        ("browser", &s.browser),
    ]
    .iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", esc(v))))
    .collect::<Vec<_>>();
    std::iter::once(user)
        .chain(rest)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A sample's record, with the records before it (its breadcrumbs) above.
fn record(s: &super::recent::Sample) -> String {
    let crumbs = if s.breadcrumbs.is_empty() {
        String::new()
    } else {
        format!(
            "<pre class=\"crumbs\">{}</pre>",
            esc(&s.breadcrumbs.join("\n"))
        )
    };
    format!("{crumbs}<pre>{}</pre>", esc(&s.line))
}

/// `/users/{userId}`: a user's last errors (users seen lately only, kept in
/// memory like the recent events), each with its key, group and line.
async fn user_page(
    State(s): State<PagesState>,
    Path(user): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::of(&q, &headers);
    let user: String = user.chars().take(256).collect();
    let here = format!("/users/{}", path_segment(&user));
    let mut body = format!("{}<h1>{}</h1>", nav(lang, &here), esc(&user));
    let Some(events) = s.board.recent.user_events(&user) else {
        body += &format!(
            "<p>{}</p>",
            lang.t(
                "No recent error of this user (the daemon keeps the last 1,000 users seen).",
                "このユーザーの最近のエラーはありません(最近の1,000ユーザーのみ保持)。"
            )
        );
        let mut r = page(lang, &user, &body);
        *r.status_mut() = StatusCode::NOT_FOUND;
        return r;
    };
    body += &format!("<h2>{}</h2>", lang.t("Last errors", "最近のエラー"));
    for e in &events {
        body += &format!(
            "<p>{} <a href=\"/errors/{k}?lang={l}\">{k}</a> <a href=\"/groups/{g}?lang={l}\">{g}</a> {}</p>{}",
            esc(&e.sample.ts),
            who(lang, &e.sample),
            record(&e.sample),
            k = esc(&e.key),
            g = esc(e.group),
            l = lang.code()
        );
    }
    page(lang, &user, &body)
}

/// A group's reach among the affected figures.
fn group_reach(figures: &[Figure], group: &str) -> Reach {
    figures
        .iter()
        .find(|f| matches!(&f.subject, Subject::Group(g) if g == group))
        .map_or_else(Reach::default, |f| f.reach)
}

/// The groups with errors since start: what the alerts count, one failure
/// whatever the SDK version.
fn groups_table(lang: Lang, s: &PagesState, affected: &[Figure]) -> String {
    let mut out = format!(
        "<h2>{}</h2><table>{}",
        lang.t("Failures by group", "グループ別の障害"),
        head_row(
            lang,
            &[
                ("group", "グループ"),
                COUNTS[0],
                COUNTS[1],
                USERS[0],
                USERS[1]
            ]
        )
    );
    let mut any = false;
    for (group, _) in GROUPS {
        let Some(f) = s.board.recent.group_figures(group) else {
            continue;
        };
        any = true;
        let u = group_reach(affected, group);
        out += &format!(
            "<tr><td><a href=\"/groups/{g}?lang={l}\">{g}</a></td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            f.last_5m,
            f.total,
            u.users_5m,
            u.users_1h,
            g = esc(group),
            l = lang.code()
        );
    }
    if !any {
        out += &format!(
            "<tr><td colspan=\"5\">{}</td></tr>",
            lang.t("No error since start.", "起動以降エラーはありません。")
        );
    }
    out + "</table>"
}

/// The entries of `group`: those whose category is in it (a v5 extraCode
/// is its cause's), in every catalog and SDK version.
fn group_entries<'s>(set: &'s CatalogSet, group: &str) -> Vec<&'s Entry> {
    set.entries()
        .iter()
        .filter(|e| e.category.group() == group)
        .collect()
}

/// `/groups/{group}`: one failure whatever the SDK version: its figures and
/// the users it hit, its last events whole, and every key of it (v4 key,
/// v5 name and extraCode) with what to do.
async fn group_page(
    State(s): State<PagesState>,
    Path(group): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::of(&q, &headers);
    let here = format!("/groups/{}", group.chars().take(40).collect::<String>());
    let Some(&(group, categories)) = GROUPS.iter().find(|(g, _)| *g == group) else {
        let body = format!(
            "{}<h1>{}</h1><p>{}</p>",
            nav(lang, &here),
            esc(&here),
            lang.t("No such group.", "そのようなグループはありません。")
        );
        let mut r = page(lang, "trtc-logwatch", &body);
        *r.status_mut() = StatusCode::NOT_FOUND;
        return r;
    };
    let g = s.current.borrow().clone();
    let set = g.matcher.catalog();
    let affected = s.affected.now();
    let u = group_reach(&affected, group);
    let f = s.board.recent.group_figures(group).unwrap_or_default();
    let mut body = format!(
        "{}<h1>{}</h1><p>{} {}</p>",
        nav(lang, &here),
        esc(group),
        lang.t("Categories:", "カテゴリ:"),
        esc(&categories.join(", "))
    );
    body += &format!(
        "<table>{}<tr><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr></table>",
        head_row(
            lang,
            &[
                COUNTS[0],
                COUNTS[1],
                USERS[0],
                USERS[1],
                ("rooms, 5 min", "ルーム数(5分)"),
                ("rooms, 1 hour", "ルーム数(1時間)"),
            ]
        ),
        f.last_5m,
        f.total,
        u.users_5m,
        u.users_1h,
        u.rooms_5m,
        u.rooms_1h,
    );
    if !f.samples.is_empty() {
        body += &format!("<h2>{}</h2>", lang.t("Last events", "最近のイベント"));
        for smp in &f.samples {
            let who = who(lang, smp);
            body += &format!("<p>{} {who}</p>{}", esc(&smp.ts), record(smp));
        }
    }
    let recent = s.board.recent.figures();
    body += &format!(
        "<h2>{}</h2><table>{}",
        lang.t("Its keys, every SDK version", "すべてのSDKバージョンのキー"),
        head_row(
            lang,
            &[
                ("key", "キー"),
                ("catalog", "カタログ"),
                ("code", "コード"),
                COUNTS[0],
                COUNTS[1],
                ("what to do", "対処方法"),
            ]
        )
    );
    for e in group_entries(set, group) {
        let kf = recent
            .iter()
            .find(|r| r.catalog == e.catalog && r.key == e.key);
        let code = match (e.code, &e.hex) {
            (Some(c), Some(h)) => format!("{c} ({})", h.as_str()),
            (Some(c), None) => c.to_string(),
            _ => String::new(),
        };
        body += &format!(
            "<tr><td><a href=\"/errors/{k}?lang={l}\">{k}</a></td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            esc(&e.catalog),
            esc(&code),
            kf.map_or(0, |f| f.last_5m),
            kf.map_or(0, |f| f.total),
            esc(e.action.as_ref().map_or("", |a| lang.text(a))),
            k = esc(&e.key),
            l = lang.code()
        );
    }
    body += "</table>";
    page(lang, group, &body)
}

/// One entry's section of an error page.
fn entry_section(lang: Lang, e: &Entry, f: Option<&KeyFigures>, users: Reach) -> String {
    let mut out = format!(
        "<h2>{} {}</h2><p><b>{}</b> {} · {} · {}</p>",
        esc(&e.catalog),
        esc(&e.code.map_or_else(String::new, |c| c.to_string())),
        lang.t("Category:", "カテゴリ:"),
        esc(e.category.as_str()),
        esc(e.category.group()),
        esc(e.severity.as_str()),
    );
    out += &format!(
        "<h3>{}</h3><p>{}</p>",
        lang.t("What it means", "意味"),
        esc(lang.text(&e.description))
    );
    if let Some(a) = &e.action {
        out += &format!(
            "<h3>{}</h3><p>{}</p>",
            lang.t("What to do", "対処方法"),
            esc(lang.text(a))
        );
    }
    if let Some(u) = e.doc_url.as_deref().filter(|u| u.starts_with("https://")) {
        out += &format!(
            "<p><a href=\"{u}\" rel=\"noreferrer\">{}</a></p>",
            lang.t("Documentation", "ドキュメント"),
            u = esc(u)
        );
    }
    let (last, total) = f.map_or((0, 0), |f| (f.last_5m, f.total));
    out += &format!(
        "<table>{}<tr><td class=\"n\">{last}</td><td class=\"n\">{total}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr></table>",
        head_row(
            lang,
            &[
                COUNTS[0],
                COUNTS[1],
                USERS[0],
                USERS[1],
                ("rooms, 5 min", "ルーム数(5分)"),
                ("rooms, 1 hour", "ルーム数(1時間)"),
            ]
        ),
        users.users_5m,
        users.users_1h,
        users.rooms_5m,
        users.rooms_1h,
    );
    let Some(f) = f else {
        return out;
    };
    for (title, values) in [
        (lang.t("SDK versions", "SDKバージョン"), &f.versions),
        (lang.t("Browsers", "ブラウザ"), &f.browsers),
    ] {
        if values.is_empty() {
            continue;
        }
        out += &format!("<h3>{title}</h3><table>");
        for (v, n) in values {
            out += &format!("<tr><td>{}</td><td class=\"n\">{n}</td></tr>", esc(v));
        }
        out += "</table>";
    }
    if !f.samples.is_empty() {
        out += &format!("<h3>{}</h3>", lang.t("Last events", "最近のイベント"));
        for s in &f.samples {
            let who = who(lang, s);
            out += &format!("<p>{} {who}</p>{}", esc(&s.ts), record(s));
        }
    }
    out
}

/// `/errors/{KEY}`: every catalog's entry of that key (or alias), or of
/// that decimal code (`/errors/5501`) or hex code (`/errors/0x4003`), as
/// `explain` resolves them.
async fn error_page(
    State(s): State<PagesState>,
    Path(key): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::of(&q, &headers);
    let g = s.current.borrow().clone();
    let set = g.matcher.catalog();
    // At most a key's length: the lookup is bounded whatever is asked.
    let key: String = key.chars().take(crate::catalog::MAX_KEY_LEN).collect();
    let ids = set.lookup(&key);
    let here = format!("/errors/{key}");
    if ids.is_empty() {
        let body = format!(
            "{}<h1>{}</h1><p>{}</p>",
            nav(lang, &here),
            esc(&key),
            lang.t(
                "No such error in the catalogs.",
                "カタログにないエラーです。"
            )
        );
        let mut r = page(lang, &key, &body);
        *r.status_mut() = StatusCode::NOT_FOUND;
        return r;
    }
    let recent = s.board.recent.figures();
    let affected = s.affected.now();
    let mut body = format!(
        "{}<h1>{}</h1>",
        nav(lang, &here),
        esc(&set.entry(ids[0]).key)
    );
    for &id in &ids {
        let e = set.entry(id);
        let f = recent
            .iter()
            .find(|f| f.catalog == e.catalog && f.key == e.key);
        body += &entry_section(
            lang,
            e,
            f,
            Affected::reach_of(&affected, &e.catalog, &e.key),
        );
    }
    page(lang, &set.entry(ids[0]).key, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_id_is_one_encoded_path_segment() {
        assert_eq!(path_segment("a b/<\"é"), "a%20b%2F%3C%22%C3%A9");
        assert_eq!(path_segment("alice_1.x-y~"), "alice_1.x-y~");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
    }
}
