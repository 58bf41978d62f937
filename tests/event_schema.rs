//! The event schema as users see it: a snapshot of one fully enriched event.

mod common;

#[test]
fn enriched_event_snapshot() {
    let line = br#"{"level":"error","ts":"2024-05-13T12:41:21.730Z","sdkAppId":1400188366,"userId":"alice","roomId":8801,"sdkVersion":"4.15.22","message":"SignalChannel setup failure: (errorCode: 70001, errorMsg: userSig expired }) <SIGNAL_CHANNEL_SETUP_FAILED 0x4001>"}"#;
    let mut input = b"noise size=4096\n".to_vec();
    input.extend(line);
    input.push(b'\n');
    let (ev, _) = common::scan_lib(&common::matcher(), &input, 64 * 1024);
    assert_eq!(ev.len(), 1);
    insta::assert_json_snapshot!(ev[0]);
}

#[test]
fn ingest_time_when_the_line_has_no_timestamp() {
    let before = jiff::Timestamp::now();
    let (ev, _) = common::scan_lib(&common::matcher(), b"code=0x4043\n", 1024);
    let ts: jiff::Timestamp = ev[0]["ts"].as_str().unwrap().parse().unwrap();
    assert!(ts >= before && ts <= jiff::Timestamp::now());
}
