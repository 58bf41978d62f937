//! The fuzz targets as property tests (no nightly compiler needed): the
//! record matcher (a log matched whole and as a stream read in pieces of
//! any size gives the same events, each at its line) and the ingest
//! decoder (records in order within the text, matched without a panic).
//! Each run replays the corpus kept in `fuzz/corpus/` (the seeds, and what
//! coverage-guided runs of `fuzz/` found), then generated cases:
//! `PROPTEST_CASES` of them (256 by default; `scripts/fuzz.sh` runs many
//! more, and the coverage-guided targets where cargo fuzz is installed).

use std::path::PathBuf;

use proptest::prelude::*;
use trtc_logwatch::fuzzing::{ingest_decoder, record_matcher};

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus in {}", dir.display());
    files
        .into_iter()
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect()
}

#[test]
fn the_record_matcher_corpus_holds() {
    for (path, bytes) in corpus("record_matcher") {
        for sizes in [&[1usize][..], &[7, 1, 300], &[4096], &[65536]] {
            let r = std::panic::catch_unwind(|| record_matcher(&bytes, sizes, 1024));
            assert!(r.is_ok(), "{} in pieces of {sizes:?}", path.display());
        }
    }
}

#[test]
fn the_ingest_decoder_corpus_holds() {
    for (path, bytes) in corpus("ingest_decoder") {
        let r = std::panic::catch_unwind(|| ingest_decoder(&bytes));
        assert!(r.is_ok(), "{}", path.display());
    }
}

/// Pieces of the forms the matcher, the record shapes and the context read.
const FRAGMENTS: &[&str] = &[
    "<ICE_TRANSPORT_ERROR 0x4003>",
    "RtcError: ",
    "\nRefer to: https://x\n <JOIN_ROOM_FAILED 0x4004>",
    "2026-11-30 08:00:00.000 <ERROR> [↑c1|a] ",
    "2026-11-30 08:00:00.000 <WARN> ",
    "2026-11-30 08:00:00.000 <INFO> ",
    " failed ",
    "enterRoom failed",
    "RtcError: code: 5500 extraCode: 5501 ",
    "OPERATION_FAILED",
    "    at e.value (https://x/trtc.js:1:2)\n",
    "\n    at ",
    "\n",
    "\r\n",
    "errorCode: ",
    "-10012",
    "16387",
    "0x",
    "{\"code\":",
    "\"userId\":\"",
    "失败(",
    "↑",
    "\"UNKNOWN\" ",
    "ICE_TRANSPORT_ERROR, ",
    "<KEY ",
    "{",
    "}",
    "[",
    "]",
    "\"",
    "   ",
    "retry",
    "fallback",
    " reconnect failed",
    "0x4003",
    " ×",
    "2",
    "【",
    "】",
    "〔",
    "%3A",
    "%20",
    "%",
    "&code=",
    "?event=trtc_error",
    "4096",
    "' abort",
    "because the microphone is not turned on",
    "AgoraRTCError ",
    "如果",
    "場合",
    "时，",
    "✓ ",
    "case ",
    "// ",
    "| ",
    "v4.15.2: ",
    "SERVER_ERROR",
    " params: ",
    "onclose code:",
    " reason: ",
    "NotReadableError",
    "Default Value",
];

fn soup() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            4 => proptest::sample::select(FRAGMENTS).prop_map(|f| f.as_bytes().to_vec()),
            1 => proptest::collection::vec(any::<u8>(), 1..12),
        ],
        0..160,
    )
    .prop_map(|parts| parts.concat())
}

/// Collector bodies: JSON lines, arrays (nested, pairs), text, and bytes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let text = proptest::collection::vec(
        proptest::sample::select(FRAGMENTS).prop_map(String::from),
        0..8,
    )
    .prop_map(|p| p.concat());
    prop_oneof![
        proptest::collection::vec(text.clone(), 0..12).prop_map(|lines| {
            lines
                .iter()
                .map(|l| serde_json::json!({ "log": l, "date": 1.7e9 }).to_string() + "\n")
                .collect::<String>()
                .into_bytes()
        }),
        proptest::collection::vec((text.clone(), 0usize..3), 0..12).prop_map(|items| {
            let v: Vec<serde_json::Value> = items
                .into_iter()
                .map(|(t, depth)| match depth {
                    0 => serde_json::json!(t),
                    1 => serde_json::json!([1.7e9, { "message": t }]),
                    _ => serde_json::json!([[t, 1]]),
                })
                .collect();
            serde_json::to_vec(&v).unwrap()
        }),
        text.prop_map(String::into_bytes),
        soup(),
        // A valid body cut short or with bytes put in.
        (proptest::collection::vec(any::<u8>(), 0..40), 0usize..200).prop_map(|(junk, at)| {
            let mut b =
                br#"[{"log":"RtcError: x <ICE_TRANSPORT_ERROR 0x4003>"},"y",[["z"]]]"#.to_vec();
            let at = at.min(b.len());
            b.splice(at..at, junk);
            b
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_log_gives_the_same_events_whole_and_read_in_pieces(
        input in soup(),
        sizes in proptest::collection::vec(1usize..600, 1..6),
        limit in prop_oneof![Just(64usize), Just(1024), Just(65536)],
    ) {
        record_matcher(&input, &sizes, limit);
    }

    #[test]
    fn a_collector_body_decodes_into_records_in_order(b in body()) {
        ingest_decoder(&b);
    }
}
