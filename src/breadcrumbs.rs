//! Breadcrumbs: the records before an error in the same body (the Sentry
//! idea, from the SDK's own log). An upload's records are one user's, in
//! order: the few before an error say how it came (`ice connection state:
//! failed` before a firewall error, `cameras: []` before a device error).
//! Each is the first line of a record, redacted and cut short; bounded in
//! number and bytes whatever the body holds.

/// Breadcrumbs an event carries at most.
pub const MAX: usize = 10;

/// Bytes of one breadcrumb kept.
pub const MAX_LINE: usize = 200;

/// Lines looked at before the record, at most (continuation lines and
/// blank ones are skipped, not counted as breadcrumbs).
const LOOK_BACK: usize = 100;

/// The breadcrumbs of the record starting at byte `at` of `body`: the first
/// lines of up to [`MAX`] records before it (a record's other lines start
/// with whitespace, or are the SDK's `Refer to:` links), oldest first.
pub fn before(body: &[u8], at: usize) -> Vec<String> {
    let head = &body[..at.min(body.len())];
    let mut out: Vec<String> = head
        .split(|&b| b == b'\n')
        .rev()
        .take(LOOK_BACK)
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| {
            l.first().is_some_and(|b| !b.is_ascii_whitespace()) && !l.starts_with(b"Refer to")
        })
        .take(MAX)
        .map(|l| {
            let clean = crate::redact::redact(l).0;
            let mut end = clean.len().min(MAX_LINE);
            let text = String::from_utf8_lossy(&clean[..end]).into_owned();
            // A cut character became U+FFFD: drop it.
            if end < clean.len() {
                end = text.trim_end_matches('\u{fffd}').len();
                return text[..end].to_string();
            }
            text
        })
        .collect();
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_records_before_oldest_first_first_lines_redacted() {
        let body = "[1] <INFO> join\n[2] <INFO> cameras: []\n code:1\nRefer to: https://x\n\n[3] <WARN> ice connection state: failed userSig=eJwtjcEKgjAQRH9l2XMgMUjxWAj9gIfoIrJt1pJuYhNb\n[4] <ERROR> x <FIREWALL_RESTRICTION 5501>\n";
        let at = body.find("[4]").unwrap();
        assert_eq!(
            before(body.as_bytes(), at),
            [
                "[1] <INFO> join",
                "[2] <INFO> cameras: []",
                "[3] <WARN> ice connection state: failed userSig=[redacted]"
            ]
        );
        assert!(before(body.as_bytes(), 0).is_empty());
    }

    #[test]
    fn bounded_in_number_and_bytes() {
        let long = "é".repeat(300);
        let body: String = (0..50).map(|i| format!("[{i}] {long}\n")).collect();
        let b = before(body.as_bytes(), body.len());
        assert_eq!(b.len(), MAX);
        assert!(
            b.iter()
                .all(|l| l.len() <= MAX_LINE && !l.contains('\u{fffd}'))
        );
        assert!(b[9].starts_with("[49]"));
    }
}
