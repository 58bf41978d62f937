//! `/users/{userId}`: a recent user's last errors.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::html::{Lang, PageQuery, esc, nav, page, path_segment, record, who};
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
