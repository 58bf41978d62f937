//! The daemon's own pages, for a person without Grafana: `/` (what it
//! reads, its health, the browser uploads refused, the failures by group
//! and the errors by key with the users they hit), `/groups/{group}` (one
//! failure whatever the SDK version), `/errors/{KEY}` (what the error means
//! and what to do, its figures, the SDK versions and browsers it came
//! from, its last few events) and `/users/{userId}` (a recent user's last
//! errors). Rendered on the server as HTML with no external asset, in
//! English or Japanese
//! (`?lang=ja`, or a browser that prefers Japanese), every text escaped,
//! nothing secret (lines are redacted before they are kept), and the work
//! per request bounded by the catalog's keys.

mod errors;
mod groups;
mod html;
mod state;
mod users;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;

use crate::daemon::affected::Affected;
use errors::error_page;
use groups::{group_page, groups_table};
use html::{COUNTS, Lang, PageQuery, USERS, esc, head_row, nav, page};
pub use state::PagesState;
use users::user_page;

/// The pages' routes, merged into the `/metrics` server's router.
pub fn router(state: PagesState) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/errors/{key}", get(error_page))
        .route("/groups/{group}", get(group_page))
        .route("/users/{user}", get(user_page))
        .with_state(state)
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
