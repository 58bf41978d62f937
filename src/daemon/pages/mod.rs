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
    body += &joins_table(lang, &s);
    let recent = s.board.recent.figures();
    let affected = s.affected.now();
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
        // The groups its errors fell in (a v5 key's by its cause), most first.
        let mut groups = f.groups.clone();
        groups.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let groups = groups
            .iter()
            .map(|(g, n)| {
                let count = if f.groups.len() > 1 {
                    format!(" ({n})")
                } else {
                    String::new()
                };
                format!(
                    "<a href=\"/groups/{g}?lang={l}\">{g}</a>{count}",
                    g = esc(g),
                    l = lang.code()
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let u = Affected::reach_of(&affected, &f.catalog, &f.key);
        body += &format!(
            "<tr><td><a href=\"/errors/{k}?lang={l}\">{k}</a></td><td>{}</td><td>{groups}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&f.catalog),
            f.last_5m,
            f.total,
            u.users_5m,
            u.users_1h,
            k = esc(&f.key),
            l = lang.code()
        );
    }
    body += "</table>";
    page(lang, "trtc-logwatch", &body)
}

/// Join attempts by result from the browsers' end reports, and the share
/// that entered: in the last 5 minutes and since start.
fn joins_table(lang: Lang, s: &PagesState) -> String {
    let joins = s.board.recent.join_figures();
    if joins.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "<h2>{}</h2><table>{}",
        lang.t("Join attempts", "入室の試行"),
        head_row(lang, &[("result", "結果"), COUNTS[0], COUNTS[1]])
    );
    let (mut entered, mut all) = ([0u64; 2], [0u64; 2]);
    for (result, last, total) in &joins {
        out += &format!(
            "<tr><td{}>{}</td><td class=\"n\">{last}</td><td class=\"n\">{total}</td></tr>",
            if *result == "failed" {
                " class=\"bad\""
            } else {
                ""
            },
            esc(result)
        );
        if *result == "entered" {
            entered = [*last, *total];
        }
        all = [all[0] + last, all[1] + total];
    }
    let share = |i: usize| {
        if all[i] == 0 {
            "-".to_string()
        } else {
            format!("{:.0} %", 100.0 * entered[i] as f64 / all[i] as f64)
        }
    };
    out += &format!(
        "<tr><th>{}</th><td class=\"n\">{}</td><td class=\"n\">{}</td></tr></table>",
        lang.t("entered, share", "入室できた割合"),
        share(0),
        share(1)
    );
    out
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
