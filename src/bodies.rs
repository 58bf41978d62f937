//! Bodies of records: what HTTP ingest and NATS receive. One decoder turns
//! a collector's body (JSON lines, a JSON array, `[time, record]` pairs,
//! plain text) into its log records, each whole with its newlines, and
//! where each starts.

use crate::pipeline::{EventSink, Pipeline};

/// The records of a body: their text, one after the other, each ending
/// with `\n` (a record's own newlines kept), and where each starts.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Records {
    pub text: Vec<u8>,
    /// Where each record starts in `text`; `None` for plain text, whose
    /// records the line shapes tell ([`crate::records`]).
    pub starts: Option<Vec<usize>>,
    /// Each record's time as its collector gave it (Fluent Bit's `date`,
    /// Vector's `timestamp`), beside `starts`; empty when none has one.
    pub times: Vec<Option<jiff::Timestamp>>,
}

impl Records {
    fn push(&mut self, record: &[u8]) {
        self.push_at(record, None);
    }

    /// A record with the time its collector gave it.
    fn push_at(&mut self, record: &[u8], time: Option<jiff::Timestamp>) {
        let starts = self.starts.get_or_insert_with(Vec::new);
        if time.is_some() && self.times.len() < starts.len() {
            self.times.resize(starts.len(), None);
        }
        if time.is_some() || !self.times.is_empty() {
            self.times.push(time);
        }
        starts.push(self.text.len());
        self.text.extend_from_slice(record);
        self.text.push(b'\n');
    }

    /// Bytes these records take on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.text.capacity()
            + self
                .starts
                .as_ref()
                .map_or(0, |s| s.capacity() * std::mem::size_of::<usize>())
    }

    /// Appends the records of `other`; a body of plain text is one record
    /// (a NATS message holds one record, however many lines it has).
    pub fn append(&mut self, other: Records) {
        match other.starts {
            Some(starts) => {
                let base = self.text.len();
                let mine = self.starts.get_or_insert_with(Vec::new);
                if !other.times.is_empty() || !self.times.is_empty() {
                    self.times.resize(mine.len(), None);
                    let mut theirs = other.times;
                    theirs.resize(starts.len(), None);
                    self.times.extend(theirs);
                }
                mine.extend(starts.into_iter().map(|s| s + base));
                self.text.extend_from_slice(&other.text);
            }
            None if !other.text.is_empty() => {
                let text = other.text.strip_suffix(b"\n").unwrap_or(&other.text);
                self.push(text);
            }
            None => {}
        }
    }

    /// Matches the records through `pipeline` into `sink`.
    pub fn scan<S: EventSink>(
        &self,
        pipeline: &mut Pipeline,
        sink: &mut S,
    ) -> Result<(), S::Error> {
        match &self.starts {
            Some(starts) => pipeline.records_at(&self.text, starts, &self.times, sink),
            None => pipeline.text(&self.text, sink),
        }
    }
}

/// The records of a body. A JSON body, newline-delimited objects (Fluent
/// Bit `json_lines`, Vector `codec: json` with newline framing) or one array
/// of objects (Fluent Bit `json`, or `[time, record]` pairs), gives one
/// record per object: its `field` (default: the first of `log`, `message`,
/// `msg` that is a string), newlines and all; an object without one, or a
/// line that is not JSON, is a record taken whole, so nothing is lost. Any
/// other body is plain text.
///
/// Decoding holds no tree of the body: an array is walked element by
/// element and an object field by field, so the memory it takes beyond its
/// records is a few bytes whatever the body holds (an array of eight
/// million numbers took 147 MiB as a `serde_json::Value`).
pub(crate) fn decode(body: &[u8], field: Option<&str>) -> Records {
    let names: &[&str] = match &field {
        Some(f) => std::slice::from_ref(f),
        None => &["log", "message", "msg"],
    };
    let mut out = Records {
        text: Vec::with_capacity(body.len()),
        starts: None,
        times: Vec::new(),
    };
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        // An array of records, of `[time, record]` pairs (Fluent Bit's
        // msgpack-shaped JSON, as its `nats` output sends), or of arrays of
        // strings: every object and every string is a record, at any depth
        // (numbers, such as the pairs' times, are not).
        let mut de = serde_json::Deserializer::from_slice(body);
        let walked = serde::Deserializer::deserialize_seq(
            &mut de,
            Items {
                out: &mut out,
                names,
                depth: 0,
            },
        )
        .and_then(|()| de.end());
        if walked.is_ok() {
            out.starts.get_or_insert_with(Vec::new);
            return out;
        }
        // Not JSON after all: the body is text.
        out.text.clear();
        out.starts = None;
        out.times.clear();
    }
    if first != Some(&b'{') {
        out.text.extend_from_slice(body);
        return out;
    }
    for line in body.split(|&b| b == b'\n') {
        let line = crate::scan::trim_cr(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match message_of(line, names) {
            Some((m, t)) => out.push_at(m.trim_end_matches(['\n', '\r']).as_bytes(), t),
            None => out.push(line),
        }
    }
    out
}

/// Most arrays within arrays looked into: each level is read once more;
/// a deeper array is one record of its text.
const MAX_DEPTH: usize = 8;

/// The message of the JSON object `raw`: the first of `names` whose value is
/// a string, with the record's time where the collector put one (`date`:
/// Unix seconds, Fluent Bit; `timestamp`, `@timestamp`, `time`: RFC 3339 or
/// Unix seconds, Vector and others). `None` if `raw` is no object or has no
/// message.
fn message_of(raw: &[u8], names: &[&str]) -> Option<(String, Option<jiff::Timestamp>)> {
    let mut de = serde_json::Deserializer::from_slice(raw);
    let (found, time) = serde::Deserializer::deserialize_map(&mut de, Message { names }).ok()?;
    de.end().ok()?;
    found.map(|m| (m, time))
}

/// Field names that hold a record's time.
const TIME_FIELDS: &[&str] = &["date", "timestamp", "@timestamp", "time"];

/// A collector's time: Unix seconds (with a fraction) or RFC 3339, within
/// years 2000 to 2100 (anything else is not a time).
fn record_time(v: &serde_json::value::RawValue) -> Option<jiff::Timestamp> {
    let t = v.get();
    let unquoted = t.strip_prefix('"').and_then(|t| t.strip_suffix('"'));
    // Unix seconds, as a number or as a string of one (syslog-ng's
    // `$UNIXTIME` in `format-json`), else RFC 3339.
    let ts = match unquoted.unwrap_or(t).parse::<f64>() {
        Ok(secs) if secs.is_finite() => {
            jiff::Timestamp::from_nanosecond((secs * 1e9) as i128).ok()?
        }
        _ => unquoted?.parse::<jiff::Timestamp>().ok()?,
    };
    // 2000-01-01 to 2100-01-01.
    (946_684_800..=4_102_444_800)
        .contains(&ts.as_second())
        .then_some(ts)
}

/// Walks an array, pushing every string and object in it as a record.
struct Items<'o, 'n> {
    out: &'o mut Records,
    names: &'n [&'n str],
    depth: usize,
}

impl<'de> serde::de::Visitor<'de> for Items<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        use serde::de::Error;
        while let Some(item) = seq.next_element::<&serde_json::value::RawValue>()? {
            let raw = item.get();
            match raw.as_bytes().first() {
                Some(b'"') => {
                    let text: String = serde_json::from_str(raw).map_err(A::Error::custom)?;
                    self.out
                        .push(text.trim_end_matches(['\n', '\r']).as_bytes());
                }
                Some(b'{') => match message_of(raw.as_bytes(), self.names) {
                    Some((m, t)) => self
                        .out
                        .push_at(m.trim_end_matches(['\n', '\r']).as_bytes(), t),
                    None => self.out.push(raw.as_bytes()),
                },
                Some(b'[') if self.depth + 1 < MAX_DEPTH => {
                    let mut de = serde_json::Deserializer::from_str(raw);
                    serde::Deserializer::deserialize_seq(
                        &mut de,
                        Items {
                            out: self.out,
                            names: self.names,
                            depth: self.depth + 1,
                        },
                    )
                    .map_err(A::Error::custom)?;
                }
                // Deeper than that: the array's text is one record (its
                // strings still matched, as text), never dropped.
                Some(b'[') => self.out.push(raw.as_bytes()),
                _ => {}
            }
        }
        Ok(())
    }
}

/// Reads an object field by field, keeping only the message.
struct Message<'n> {
    names: &'n [&'n str],
}

impl<'de> serde::de::Visitor<'de> for Message<'_> {
    /// The message, if a named field is a string, and the record's time.
    type Value = (Option<String>, Option<jiff::Timestamp>);

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // The rank (in `names`) and text of the best string found so far.
        let mut best: Option<(usize, String)> = None;
        let mut time = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let rank = self.names.iter().position(|n| *n == key);
            if rank.is_none() && time.is_none() && TIME_FIELDS.contains(&key.as_ref()) {
                let v = map.next_value::<&serde_json::value::RawValue>()?;
                time = record_time(v);
                continue;
            }
            match rank {
                Some(r) if best.as_ref().is_none_or(|(b, _)| r < *b) => {
                    let v = map.next_value::<&serde_json::value::RawValue>()?;
                    if v.get().starts_with('"') {
                        use serde::de::Error;
                        let text = serde_json::from_str(v.get()).map_err(A::Error::custom)?;
                        best = Some((r, text));
                    }
                }
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok((best.map(|(_, t)| t), time))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_nested_beyond_the_depth_are_kept_as_text() {
        let deep = format!(
            "[{}\"RtcError <ICE_TRANSPORT_ERROR 0x4003>\"{}]",
            "[".repeat(12),
            "]".repeat(12)
        );
        let r = decode(deep.as_bytes(), None);
        let text = String::from_utf8(r.text).unwrap();
        assert!(text.contains("<ICE_TRANSPORT_ERROR 0x4003>"), "{text}");
        assert_eq!(r.starts.map(|s| s.len()), Some(1));
    }

    /// The records as text, and how many there are (`None`: plain text).
    fn records(body: &[u8], field: Option<&str>) -> (String, Option<usize>) {
        let r = decode(body, field);
        (
            String::from_utf8(r.text).unwrap(),
            r.starts.map(|s| s.len()),
        )
    }

    #[test]
    fn collector_bodies_become_records() {
        let fluent = br#"{"date":1.7e9,"log":"RtcError: x <ICE_TRANSPORT_ERROR 0x4003>\n"}
{"date":1.7e9,"log":"fine"}
"#;
        assert_eq!(
            records(fluent, None),
            (
                "RtcError: x <ICE_TRANSPORT_ERROR 0x4003>\nfine\n".into(),
                Some(2)
            )
        );
        let vector = br#"{"message":"a","timestamp":"2026-01-01T00:00:00Z"}
{"msg":"b"}
not json at all
{"other":1}
"#;
        assert_eq!(
            records(vector, None),
            ("a\nb\nnot json at all\n{\"other\":1}\n".into(), Some(4))
        );
        let array = br#"[{"log":"x"},{"log":"y"}]"#;
        assert_eq!(records(array, None), ("x\ny\n".into(), Some(2)));
        let custom = br#"{"text":"t","log":"l"}"#;
        assert_eq!(records(custom, Some("text")), ("t\n".into(), Some(1)));
        // A multi-line message is one record, whatever its lines look like.
        let multi = br#"{"log":"RtcError: a\n[10:00:00:000] Refer to: https://x\n <JOIN_ROOM_FAILED 0x4004>"}"#;
        let r = decode(multi, None);
        assert_eq!(r.starts, Some(vec![0]));
        assert!(r.text.ends_with(b"<JOIN_ROOM_FAILED 0x4004>\n"));
        // Arrays of strings, nested: every string is a record.
        let nested = br#"[["RtcError: x <ICE_TRANSPORT_ERROR 0x4003>", 1.7e9], [["y"]]]"#;
        assert_eq!(
            records(nested, None),
            (
                "RtcError: x <ICE_TRANSPORT_ERROR 0x4003>\ny\n".into(),
                Some(2)
            )
        );
        // Plain text: its lines' shapes tell its records.
        assert_eq!(records(b"a\n b\n", None), ("a\n b\n".into(), None));
    }

    #[test]
    fn a_message_of_plain_text_is_one_record() {
        let mut all = Records::default();
        all.append(decode(b"first\n second\n", None));
        all.append(decode(br#"{"log":"x"}"#, None));
        assert_eq!(all.starts, Some(vec![0, 14]));
        assert_eq!(all.text, b"first\n second\nx\n");
    }
}
