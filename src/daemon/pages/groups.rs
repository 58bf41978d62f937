//! `/groups/{group}` and the index's table of groups: one failure whatever
//! the SDK version.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::html::{
    COUNTS, Lang, PageQuery, USERS, chart, esc, figures_table, head_row, nav, page, record, who,
};
use super::state::PagesState;
use crate::catalog::{CatalogSet, Entry, GROUPS};
use crate::daemon::affected::{Figure, Reach, Subject};

/// A group's reach among the affected figures.
pub(super) fn group_reach(figures: &[Figure], group: &str) -> Reach {
    figures
        .iter()
        .find(|f| matches!(&f.subject, Subject::Group(g) if g == group))
        .map_or_else(Reach::default, |f| f.reach)
}

/// The groups with errors since start: what the alerts count, one failure
/// whatever the SDK version.
pub(super) fn groups_table(lang: Lang, s: &PagesState, affected: &[Figure]) -> String {
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
                USERS[1],
                ("per minute, last hour", "毎分(直近1時間)")
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
            "<tr><td><a href=\"/groups/{g}?lang={l}\">{g}</a></td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            f.last_5m,
            f.total,
            u.users_5m,
            u.users_1h,
            chart(lang, &f.per_minute, 180, 24),
            g = esc(group),
            l = lang.code()
        );
    }
    if !any {
        out += &format!(
            "<tr><td colspan=\"6\">{}</td></tr>",
            lang.t("No error since start.", "起動以降エラーはありません。")
        );
    }
    out + "</table>"
}

/// The entries of `group`: those whose category is in it (a v5 extraCode
/// is its cause's), in every catalog and SDK version.
pub(super) fn group_entries<'s>(set: &'s CatalogSet, group: &str) -> Vec<&'s Entry> {
    set.entries()
        .iter()
        .filter(|e| e.category.group() == group)
        .collect()
}

/// `/groups/{group}`: one failure whatever the SDK version: its figures and
/// the users it hit, its last events whole, and every key of it (v4 key,
/// v5 name and extraCode) with what to do.
pub(super) async fn group_page(
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
    body += &figures_table(lang, f.last_5m, f.total, u);
    body += &chart(lang, &f.per_minute, 480, 80);
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
        let mut code = match (e.code, &e.hex) {
            (Some(c), Some(h)) => format!("{c} ({})", h.as_str()),
            (Some(c), None) => c.to_string(),
            _ => String::new(),
        };
        if !e.v5_reasons.is_empty() {
            // SDK 5 reports it as an OPERATION_FAILED that wraps it.
            code += lang.t(
                "; SDK 5: OPERATION_FAILED (5500) wrapping it",
                "; SDK 5: これを包む OPERATION_FAILED (5500)",
            );
        }
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
