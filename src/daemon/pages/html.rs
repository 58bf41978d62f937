//! What every page is made of: the language (`?lang=`, or the browser's
//! preference), escaping, the page frame and its links, the figures table
//! and how an event's user and record are shown.

use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use crate::catalog::Text;
use crate::daemon::affected::Reach;
use crate::daemon::recent::Sample;

/// The language of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lang {
    En,
    Ja,
}

impl Lang {
    pub(super) fn of(query: &PageQuery, headers: &HeaderMap) -> Self {
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

    pub(super) fn t(self, en: &'static str, ja: &'static str) -> &'static str {
        match self {
            Lang::En => en,
            Lang::Ja => ja,
        }
    }

    pub(super) fn text(self, t: &Text) -> &str {
        match (self, &t.ja) {
            (Lang::Ja, Some(ja)) => ja,
            _ => &t.en,
        }
    }

    pub(super) fn code(self) -> &'static str {
        self.t("en", "ja")
    }
}

/// Columns of a key's figures in both tables: its errors in the last 5
/// minutes and since start; its distinct users in 5 minutes and an hour.
pub(super) const COUNTS: [(&str, &str); 2] =
    [("last 5 min", "直近5分"), ("since start", "起動以降")];
pub(super) const USERS: [(&str, &str); 2] = [
    ("users, 5 min", "ユーザー数(5分)"),
    ("users, 1 hour", "ユーザー数(1時間)"),
];

/// A table's header row, each column named in `lang`.
pub(super) fn head_row(lang: Lang, cols: &[(&'static str, &'static str)]) -> String {
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
pub(super) fn esc(s: &str) -> String {
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
pre.crumbs{color:#666;margin-bottom:0}.bad{color:#a00}.ok{color:#070}nav a{margin-right:1rem}\
svg.chart{display:block}svg.chart rect.bar{fill:#c0392b}svg.chart line{stroke:#999}";

/// Errors per minute (oldest first, one bar each) as an inline SVG of
/// `w` by `h` pixels, its scale the busiest minute: drawn by the server,
/// no script, no external asset. Its title says what it shows.
pub(super) fn chart(lang: Lang, per_minute: &[u64], w: u32, h: u32) -> String {
    let max = per_minute.iter().copied().max().unwrap_or(0);
    let n = per_minute.len().max(1) as f64;
    let step = f64::from(w) / n;
    let mut bars = String::new();
    for (i, &c) in per_minute.iter().enumerate() {
        if c == 0 {
            continue;
        }
        // At least a pixel for a minute with an error.
        let bh = (f64::from(h - 1) * c as f64 / max as f64).max(1.0);
        bars += &format!(
            "<rect class=\"bar\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\"/>",
            i as f64 * step,
            f64::from(h - 1) - bh,
            (step - 0.5).max(0.5)
        );
    }
    let title = format!(
        "{} {max}",
        lang.t(
            "Errors per minute over the last hour (oldest left); the busiest minute:",
            "直近1時間の毎分のエラー数（左が古い）。最多の分:"
        )
    );
    format!(
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{t}\"><title>{t}</title>{bars}<line x1=\"0\" y1=\"{b}\" x2=\"{w}\" y2=\"{b}\"/></svg>",
        t = esc(&title),
        b = h - 1
    )
}

pub(super) fn page(lang: Lang, title: &str, body: &str) -> Response {
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

pub(super) fn nav(lang: Lang, here: &str) -> String {
    format!(
        "<nav><a href=\"/?lang={}\">{}</a><a href=\"{}?lang=en\">English</a><a href=\"{}?lang=ja\">日本語</a><a href=\"/metrics\">/metrics</a></nav>",
        lang.code(),
        lang.t("All errors", "すべてのエラー"),
        esc(here),
        esc(here)
    )
}

/// `s` as one path segment: every byte but the unreserved ones
/// percent-encoded.
pub(super) fn path_segment(s: &str) -> String {
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
pub(super) fn who(lang: Lang, s: &Sample) -> String {
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
pub(super) fn record(s: &Sample) -> String {
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

/// The figures of a key or a group: errors in the last 5 minutes and since
/// start, users and rooms hit over 5 minutes and the hour.
pub(super) fn figures_table(lang: Lang, last: u64, total: u64, r: Reach) -> String {
    format!(
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
        r.users_5m,
        r.users_1h,
        r.rooms_5m,
        r.rooms_1h,
    )
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
