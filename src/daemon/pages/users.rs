//! `/users/{userId}`: a recent user's last errors and join attempts.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::html::{Lang, PageQuery, esc, head_row, nav, page, path_segment, record, who};
use super::state::PagesState;

/// `/users/{userId}`: a user's last errors (users seen lately only, kept in
/// memory like the recent events), each with its key, group and line.
pub(super) async fn user_page(
    State(s): State<PagesState>,
    Path(user): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::of(&q, &headers);
    let user: String = user.chars().take(256).collect();
    let here = format!("/users/{}", path_segment(&user));
    let mut body = format!("{}<h1>{}</h1>", nav(lang, &here), esc(&user));
    let events = s.board.recent.user_events(&user).unwrap_or_default();
    let joins = s.board.recent.user_joins(&user);
    if events.is_empty() && joins.is_empty() {
        body += &format!(
            "<p>{}</p>",
            lang.t(
                "No recent error or join attempt of this user (the daemon keeps the last 1,000 users seen).",
                "このユーザーの最近のエラーや入室の試行はありません(最近の1,000ユーザーのみ保持)。"
            )
        );
        let mut r = page(lang, &user, &body);
        *r.status_mut() = StatusCode::NOT_FOUND;
        return r;
    }
    if !joins.is_empty() {
        body += &format!(
            "<h2>{}</h2><table>{}",
            lang.t("Join attempts", "入室の試行"),
            head_row(
                lang,
                &[
                    ("reported", "報告時刻"),
                    ("result", "結果"),
                    ("key", "キー"),
                    ("seconds", "秒")
                ]
            )
        );
        for j in &joins {
            let key = j.key.as_deref().map_or(String::new(), |k| {
                format!(
                    "<a href=\"/errors/{k}?lang={l}\">{k}</a>",
                    k = esc(k),
                    l = lang.code()
                )
            });
            body += &format!(
                "<tr><td>{}</td><td{}>{}</td><td>{key}</td><td class=\"n\">{}</td></tr>",
                esc(&j.ts),
                if j.result == "failed" {
                    " class=\"bad\""
                } else {
                    ""
                },
                esc(j.result),
                j.seconds.map_or(String::new(), |s| format!("{s:.2}"))
            );
        }
        body += "</table>";
    }
    if !events.is_empty() {
        body += &format!("<h2>{}</h2>", lang.t("Last errors", "最近のエラー"));
    }
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
