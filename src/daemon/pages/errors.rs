//! `/errors/{KEY}` (a key, an alias, a code or a hex code): each catalog's
//! entry with its figures, versions, browsers and last events.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::html::{Lang, PageQuery, esc, figures_table, nav, page, record, who};
use super::state::PagesState;
use crate::catalog::Entry;
use crate::daemon::affected::{Affected, Reach};
use crate::daemon::recent::KeyFigures;

/// One entry's section of an error page.
pub(super) fn entry_section(lang: Lang, e: &Entry, f: Option<&KeyFigures>, users: Reach) -> String {
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
    out += &figures_table(lang, last, total, users);
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
pub(super) async fn error_page(
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
