//! The browser family, its major version and the operating system from a
//! User-Agent header, each from a short fixed list (anything else is
//! `Other`), so what a browser sends can never widen what is recorded.

/// Browser family and major version, and the OS, of one User-Agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Agent {
    /// `Chrome 156`, `Safari 17`, `WeChat 8`, or `Other`.
    pub browser: String,
    /// `Windows`, `macOS`, `iOS`, `Android`, `Linux`, `ChromeOS`, or `Other`.
    pub os: &'static str,
}

/// Looked at first to last: in-app browsers and Chromium forks name
/// Chrome and Safari too, so they come before them.
const FAMILIES: &[(&str, &str)] = &[
    ("MicroMessenger/", "WeChat"),
    ("MQQBrowser/", "QQ Browser"),
    ("QQBrowser/", "QQ Browser"),
    ("UCBrowser/", "UC Browser"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("EdgiOS/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("HeadlessChrome/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Version/", "Safari"),
];

/// A browser as [`parse`] names it (`Chrome 156`, `QQ Browser`) kept as it
/// is; anything else read as a User-Agent. Only the families of this module
/// and `Other` come out.
pub(crate) fn normalize(browser: &str) -> String {
    for (_, name) in FAMILIES {
        if let Some(rest) = browser.strip_prefix(name) {
            let major = rest.strip_prefix(' ').unwrap_or(rest);
            if rest.is_empty()
                || (rest.starts_with(' ')
                    && !major.is_empty()
                    && major.len() <= 4
                    && major.bytes().all(|b| b.is_ascii_digit()))
            {
                return browser.to_string();
            }
        }
    }
    parse(browser).browser
}

/// The parts of `ua` this module knows (at most its first 512 bytes are
/// read).
pub(crate) fn parse(ua: &str) -> Agent {
    let ua = match ua.char_indices().nth(512) {
        Some((i, _)) => &ua[..i],
        None => ua,
    };
    let browser = FAMILIES
        .iter()
        .find_map(|(token, name)| {
            let at = ua.find(token)? + token.len();
            if *name == "Safari" && !ua.contains("Safari/") {
                return None;
            }
            let major: String = ua[at..]
                .chars()
                .take_while(char::is_ascii_digit)
                .take(4)
                .collect();
            Some(if major.is_empty() {
                (*name).to_string()
            } else {
                format!("{name} {major}")
            })
        })
        .unwrap_or_else(|| "Other".into());
    let os = if ua.contains("Windows") {
        "Windows"
    } else if ua.contains("iPhone") || ua.contains("iPad") || ua.contains("iPod") {
        "iOS"
    } else if ua.contains("Android") {
        "Android"
    } else if ua.contains("CrOS") {
        "ChromeOS"
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        "macOS"
    } else if ua.contains("Linux") || ua.contains("X11") {
        "Linux"
    } else {
        "Other"
    };
    Agent { browser, os }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_versions_and_systems() {
        let cases = [
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36",
                "Chrome 156",
                "Linux",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
                "Edge 120",
                "Windows",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
                "Safari 17",
                "iOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 13; V2183A) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/107.0.5304.141 Mobile Safari/537.36 XWEB/5023 MMWEBSDK/20230303 MicroMessenger/8.0.34.2340(0x28002237) WeChat/arm64",
                "WeChat 8",
                "Android",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0",
                "Firefox 121",
                "macOS",
            ),
            ("curl/8.5.0", "Other", "Other"),
            ("", "Other", "Other"),
        ];
        for (ua, browser, os) in cases {
            assert_eq!(
                parse(ua),
                Agent {
                    browser: browser.into(),
                    os
                },
                "{ua}"
            );
        }
        assert_eq!(normalize("QQ Browser 12"), "QQ Browser 12");
        assert_eq!(normalize("Chrome 156"), "Chrome 156");
        assert_eq!(normalize("Evil 1"), "Other");
        assert_eq!(normalize("Chrome 156 and more"), "Other");
        // A version of any length is cut to four digits.
        assert_eq!(
            parse(&format!("Chrome/{}", "9".repeat(10_000))).browser,
            "Chrome 9999"
        );
    }
}
