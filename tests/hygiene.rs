//! Bad input never loses a good line: invalid UTF-8, CRLF, binary junk,
//! 10 MB lines, broken JSON, a missing final newline. Plus a property test
//! over arbitrary bytes.

mod common;

use proptest::prelude::*;

const ICE: &[u8] = b"RtcError: x <ICE_TRANSPORT_ERROR 0x4003>";
const JOIN: &[u8] = b"RtcError: join room timeout <JOIN_ROOM_FAILED 0x4004>";

fn keys(ev: &[serde_json::Value]) -> Vec<String> {
    ev.iter()
        .map(|e| e["key"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn invalid_utf8_is_replaced_and_counted() {
    let mut input = b"\xff\xfe bad ".to_vec();
    input.extend(ICE);
    input.extend(b"\nok\n");
    let (ev, st) = common::scan_lib(&common::matcher(), &input, 1024);
    assert_eq!(keys(&ev), ["ICE_TRANSPORT_ERROR"]);
    assert!(
        ev[0]["line"]
            .as_str()
            .unwrap()
            .starts_with("\u{fffd}\u{fffd} bad")
    );
    assert_eq!(st.invalid_utf8, 1);
    assert_eq!(st.lines, 2);
}

#[test]
fn crlf_is_stripped() {
    let mut input = ICE.to_vec();
    input.extend(b"\r\n");
    let (ev, _) = common::scan_lib(&common::matcher(), &input, 1024);
    assert_eq!(ev[0]["line"].as_str().unwrap().as_bytes(), ICE);
}

#[test]
fn ten_megabyte_line_is_cut_counted_and_matched_in_its_kept_part() {
    let mut input = Vec::new();
    input.extend(JOIN);
    input.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    input.extend(ICE); // beyond the limit: not matched
    input.push(b'\n');
    input.extend(ICE);
    input.push(b'\n');
    let limit = 64 * 1024;
    let (ev, st) = common::scan_lib(&common::matcher(), &input, limit);
    assert_eq!(keys(&ev), ["JOIN_ROOM_FAILED", "ICE_TRANSPORT_ERROR"]);
    assert_eq!(st.cut_lines, 1);
    assert_eq!(st.lines, 2);
    assert_eq!(ev[0]["line_truncated"], true);
    assert_eq!(ev[0]["line"].as_str().unwrap().len(), limit);
    assert_eq!(ev[1]["line_number"], 2);
    assert_eq!(ev[1]["offset"], (input.len() - ICE.len() - 1) as u64);
    assert_eq!(st.bytes, input.len() as u64);
}

#[test]
fn line_between_limit_and_buffer_size_is_cut_too() {
    let mut input = JOIN.to_vec();
    input.extend(std::iter::repeat_n(b'y', 100_000));
    input.extend(b"\nlast ");
    input.extend(ICE);
    let (ev, st) = common::scan_lib(&common::matcher(), &input, 1000);
    assert_eq!(keys(&ev), ["JOIN_ROOM_FAILED", "ICE_TRANSPORT_ERROR"]);
    assert_eq!(st.cut_lines, 1);
    assert_eq!(ev[0]["line"].as_str().unwrap().len(), 1000);
    assert_eq!(
        ev[1]["line_number"], 2,
        "a final line without newline is still read"
    );
}

#[test]
fn binary_junk_and_broken_json_lose_no_good_line() {
    let mut input: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    input.push(b'\n');
    input.extend(br#"{"code":16387,"userId":"a", broken"#);
    input.push(b'\n');
    input.extend(ICE);
    input.push(b'\n');
    let (ev, st) = common::scan_lib(&common::matcher(), &input, 64 * 1024);
    let tail = keys(&ev);
    assert_eq!(
        &tail[tail.len() - 2..],
        ["ICE_TRANSPORT_ERROR", "ICE_TRANSPORT_ERROR"]
    );
    assert_eq!(ev[ev.len() - 2]["context"]["userId"], "a");
    assert!(st.invalid_utf8 >= 1);
}

#[test]
fn empty_input_and_lone_newlines() {
    for input in [&b""[..], b"\n", b"\n\n\n", b"\r\n"] {
        let (ev, st) = common::scan_lib(&common::matcher(), input, 64);
        assert!(ev.is_empty());
        assert_eq!(
            st.lines,
            input.iter().filter(|&&b| b == b'\n').count() as u64
        );
    }
}

fn line_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        Just(ICE.to_vec()),
        Just(JOIN.to_vec()),
        Just(b"code: 70001".to_vec()),
        Just(br#"{"code":5500,"extraCode":5501,"name":"OPERATION_FAILED"}"#.to_vec()),
        "[ -~]{0,80}".prop_map(|s| s.into_bytes()),
        // Timestamp-like prefixes with multi-byte text, on error lines.
        "20[0-9]{2}[-/]\\PC{0,30}"
            .prop_map(|s| format!("{s} <ICE_TRANSPORT_ERROR 0x4003>").into_bytes()),
        "\\PC{0,40}".prop_map(|s| format!("{{\"userId\":\"{s}\",\"code\":16387}}").into_bytes()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn never_panics_and_offsets_point_at_their_lines(
        lines in proptest::collection::vec(line_strategy(), 0..40),
        limit in 16usize..300,
    ) {
        let input: Vec<u8> = lines.join(&b'\n');
        let (ev, st) = common::scan_lib(&common::matcher(), &input, limit);
        prop_assert_eq!(st.bytes, input.len() as u64);
        for e in &ev {
            let off = e["offset"].as_u64().unwrap() as usize;
            prop_assert!(off == 0 || input[off - 1] == b'\n');
            let n = input[..off].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
            prop_assert_eq!(e["line_number"].as_u64().unwrap(), n);
            let end = input[off..].iter().position(|&b| b == b'\n').map_or(input.len(), |i| off + i);
            let raw = &input[off..end];
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let kept = &raw[..raw.len().min(limit)];
            let want_line = String::from_utf8_lossy(kept).into_owned();
            // The event's text is its record's: the first line, then the
            // lines that continue it.
            let first = e["line"].as_str().unwrap().split('\n').next().unwrap();
            prop_assert_eq!(first, want_line.as_str());
        }
        // Every injected ICE line is found when it fits the limit.
        let want = lines.iter().filter(|l| l.as_slice() == ICE && ICE.len() <= limit).count();
        let got = ev.iter().filter(|e| e["key"] == "ICE_TRANSPORT_ERROR").count();
        prop_assert!(got >= want);
    }
}

/// Pieces of every form the matcher and the context lifting read, glued in
/// random order with random bytes: the library must never panic on them.
const FRAGMENTS: &[&str] = &[
    "<ICE_TRANSPORT_ERROR 0x4003>",
    "code: ",
    "errorCode=",
    "0x",
    "-failed-",
    "<ERROR> [↑c1|a] ",
    "{\"code\":",
    "\"userId\":\"",
    "2024-05-13T",
    "2024/",
    "RtcError: ",
    "\nRefer to: x\n <JOIN_ROOM_FAILED 0x4004>",
    "NotAllowedError",
    "result: -",
    "INVALID_PARAMETER: ",
    "code:50",
    "é",
    "↑",
    "{",
    "}",
    "\"",
    "'",
    "[",
    "]",
    "|",
    "\r\n",
    "\n",
    "70001",
    "-10012",
    "16387",
    "5302",
    "5/13/2024, 8:40:02 PM",
    "\"ts\":",
    "\"sdk\":\"trtc-sdk-v5@",
    "> [",
    "userId=",
    "1715608931873",
];

fn soup() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            3 => proptest::sample::select(FRAGMENTS).prop_map(|f| f.as_bytes().to_vec()),
            1 => proptest::collection::vec(any::<u8>(), 1..12),
        ],
        1..200,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn fragment_soup_never_panics(input in soup(), limit in prop_oneof![Just(256usize), Just(1000), Just(65536)]) {
        let (ev, st) = common::scan_lib(&common::matcher(), &input, limit);
        prop_assert_eq!(st.bytes, input.len() as u64);
        prop_assert!(ev.len() as u64 <= st.lines * 8);
    }
}

/// Lines of 64 KiB that repeat one hit, in every shape that used to cost a
/// pass over the whole line per hit (quadratic: 1 MiB took 28 s): every
/// line is read and counted, and the events are what one such line gives.
/// (The work per byte is measured by `cargo bench --bench matcher --
/// hostile`, not timed here.)
#[test]
fn lines_that_repeat_a_hit_are_read_whole_and_counted() {
    let m = common::matcher();
    for (unit, events_per_line) in [
        ("\"UNKNOWN\" ", 0),
        ("ICE_TRANSPORT_ERROR, ", 0),
        ("<ICE_TRANSPORT_ERROR ", 1),
        ("\"ICE_TRANSPORT_ERROR\":\"x\",", 1),
        ("UNKNOWN error ", 0),
    ] {
        let line = unit.repeat(64 * 1024 / unit.len());
        let input = format!("{line}\n").repeat(4);
        let (ev, st) = common::scan_lib(&m, input.as_bytes(), 64 * 1024);
        assert_eq!(st.lines, 4, "{unit}");
        assert_eq!(ev.len(), 4 * events_per_line, "{unit}: {ev:?}");
    }
}
