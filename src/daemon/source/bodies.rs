//! Bodies of records: what HTTP ingest and NATS (and the browser endpoint
//! next) receive. One decoder turns a collector's body (JSON lines, a JSON
//! array, `[time, record]` pairs, plain text) into the text of its log
//! records.

/// The log lines of a JSON body: newline-delimited objects (Fluent Bit
/// `json_lines`, Vector `codec: json` with newline framing) or one array of
/// objects (Fluent Bit `json`). Each record's line is its `field` (default:
/// the first of `log`, `message`, `msg` that is a string); a record without
/// one, or a line that is not JSON, is taken whole as the line, so nothing
/// is lost.
pub(crate) fn records_to_lines(body: &[u8], field: Option<&str>) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[')
        && let Ok(items) = serde_json::from_slice::<Vec<serde_json::Value>>(body)
    {
        // An array of records, or of `[time, record]` pairs (Fluent Bit's
        // msgpack-shaped JSON, as its `nats` output sends): the records.
        for v in &items {
            match v {
                serde_json::Value::Array(inner) => {
                    for r in inner.iter().filter(|r| r.is_object()) {
                        push_record(&mut out, r, field, None);
                    }
                }
                serde_json::Value::Object(_) | serde_json::Value::String(_) => {
                    push_record(&mut out, v, field, None);
                }
                _ => {}
            }
        }
        return out;
    }
    for line in body.split(|&b| b == b'\n') {
        let line = crate::scan::trim_cr(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<serde_json::Value>(line) {
            Ok(v) => push_record(&mut out, &v, field, Some(line)),
            Err(_) => {
                out.extend_from_slice(line);
                out.push(b'\n');
            }
        }
    }
    out
}

fn push_record(out: &mut Vec<u8>, v: &serde_json::Value, field: Option<&str>, raw: Option<&[u8]>) {
    let names: &[&str] = match field {
        Some(f) => &[f][..],
        None => &["log", "message", "msg"],
    };
    let msg = names
        .iter()
        .find_map(|n| v.get(*n).and_then(|m| m.as_str()));
    match (msg, raw) {
        (Some(m), _) => out.extend_from_slice(m.trim_end_matches(['\n', '\r']).as_bytes()),
        (None, Some(r)) => out.extend_from_slice(r),
        (None, None) => out.extend_from_slice(v.to_string().as_bytes()),
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collector_bodies_become_lines() {
        let fluent = br#"{"date":1.7e9,"log":"RtcError: x <ICE_TRANSPORT_ERROR 0x4003>\n"}
{"date":1.7e9,"log":"fine"}
"#;
        assert_eq!(
            records_to_lines(fluent, None),
            b"RtcError: x <ICE_TRANSPORT_ERROR 0x4003>\nfine\n"
        );
        let vector = br#"{"message":"a","timestamp":"2026-01-01T00:00:00Z"}
{"msg":"b"}
not json at all
{"other":1}
"#;
        assert_eq!(
            records_to_lines(vector, None),
            b"a\nb\nnot json at all\n{\"other\":1}\n"
        );
        let array = br#"[{"log":"x"},{"log":"y"}]"#;
        assert_eq!(records_to_lines(array, None), b"x\ny\n");
        let custom = br#"{"text":"t","log":"l"}"#;
        assert_eq!(records_to_lines(custom, Some("text")), b"t\n");
        // A multi-line message stays whole (split SDK errors join).
        let multi = br#"{"log":"RtcError: a\nRefer to: https://x\n <JOIN_ROOM_FAILED 0x4004>"}"#;
        assert_eq!(
            records_to_lines(multi, None),
            b"RtcError: a\nRefer to: https://x\n <JOIN_ROOM_FAILED 0x4004>\n"
        );
    }
}
