//! A table of log lines in the forms of docs/trtc-log-formats.md beyond the
//! shared samples (other codes, other prefixes, other noise), each with the
//! (code, cause) pairs it must give. Guards the rules, not the sample lines.

mod common;

fn pairs(line: &str) -> Vec<(Option<i64>, Option<i64>)> {
    let (ev, _) = common::scan_lib(
        &common::matcher(),
        format!("{line}\n").as_bytes(),
        64 * 1024,
    );
    ev.iter()
        .map(|e| (e["code"].as_i64(), e["cause"]["code"].as_i64()))
        .collect()
}

const N: Option<i64> = None;

type Row = (&'static str, &'static [(Option<i64>, Option<i64>)]);

#[test]
fn forms() {
    let table: &[Row] = &[
        // v4 key + hex, every prefix style
        (
            "[16:23:47] <ERROR> [s|user_58] RtcError: subscribe timeout <SUBSCRIPTION_TIMEOUT 0x4042>",
            &[(Some(16450), N)],
        ),
        (
            "[18:02:45:7] <WARN> [*n|bob] RtcError: x <DOWNLINK_RECONNECTION_FAILED 0x4008>",
            &[(Some(16392), N)],
        ),
        (
            "[20:41:09:016] <ERROR> [↑c1|alice] RtcError: x <SWITCH_ROLE_FAILED 0x404a>",
            &[(Some(16458), N)],
        ),
        (
            "Nov 26 17:36:28 host app[12]: RtcError: mix failed <START_MIX_TRANSCODE_FAILED 0x4047>",
            &[(Some(16455), N)],
        ),
        (
            "RtcError: schedule failed <SCHEDULE_FAILED 0x404c>",
            &[(Some(16460), N)],
        ),
        (
            "RtcError: aborted <API_CALL_ABORTED 0x404d>",
            &[(Some(16461), N)],
        ),
        (
            "RtcError: banned <CLIENT_BANNED 0x4040>",
            &[(Some(16448), N)],
        ),
        (
            "RtcError: publish timeout <UNKNOWN 0xffff>",
            &[(Some(65535), N)],
        ),
        (
            "RtcError: x <SIGNAL_CAHNNEL_SETUP_FAILED 0x4001>",
            &[(Some(16385), N)],
        ),
        // JSON forms
        (
            r#"{"code_":16392,"extraCode_":0,"name":"RtcError","message_":"x"}"#,
            &[(Some(16392), N)],
        ),
        (
            r#"{"level":"error","code":"16449","userId":"u_4099"}"#,
            &[(Some(16449), N)],
        ),
        (
            r#"{"err":{"code":16388,"extraCode":-10016}}"#,
            &[(Some(16388), Some(-10016))],
        ),
        (
            r#"{"name":"DEVICE_ERROR","code":5300,"extraCode":5303,"sdk":"trtc-sdk-v5@5.17.1"}"#,
            &[(Some(5300), Some(5303))],
        ),
        (
            r#"{"name":"SERVER_ERROR","code":5400,"extraCode":-100013}"#,
            &[(Some(5400), Some(-100013))],
        ),
        (
            r#"{"name":"SERVER_ERROR","code":5400,"extraCode":70014}"#,
            &[(Some(5400), Some(70014))],
        ),
        // hex compared in app code: source, not a report (issue 17)
        ("if (error.getCode() === 0x4044) showRetry()", &[]),
        ("stream error code=0x4003 userId=bob", &[(Some(16387), N)]),
        // stat uploads
        (
            r#"{"log":"stat-publish-failed-16391"}"#,
            &[(Some(16391), N)],
        ),
        // room entry and account codes
        (
            "Join room failed result: -10013 error: userSig auth failed",
            &[(Some(-10013), N)],
        ),
        (
            "RtcError: Failed to join room - get tinyid error code: -10016 <JOIN_ROOM_FAILED 0x4004>",
            &[(Some(16388), Some(-10016))],
        ),
        (
            "RtcError: SignalChannel setup failure: ('errorCode': 70013, 'errorMsg': x }) <SIGNAL_CHANNEL_SETUP_FAILED 0x4001>",
            &[(Some(16385), Some(70013))],
        ),
        (
            "[08:00:12:441] <ERROR> [↑ws|alice] -8, sdkAppId invalid",
            &[(Some(-8), N)],
        ),
        // v5 text forms
        (
            "[15:03:40:102] <ERROR> [↑t1|alice] startLocalAudio() failed 2   DEVICE_ERROR: NotReadableError, device busy code:5303",
            &[(Some(5300), Some(5303))],
        ),
        (
            "ENV_NOT_SUPPORTED: the browser does not support screen sharing code:5201",
            &[(Some(5200), Some(5201))],
        ),
        (
            "INVALID_OPERATION: switchRole before enterRoom code:5101",
            &[(Some(5100), Some(5101))],
        ),
        ("OPERATION_ABORT: enterRoom aborted", &[(Some(5998), N)]),
        (
            "SERVER_ERROR: 'enterRoom' got server error: x code: -100013",
            &[(Some(5400), Some(-100013))],
        ),
        // messages alone
        (
            "[10:00:00:000] <ERROR> [↑c1|a] join room timeout observed",
            &[(N, N)],
        ),
        (
            "[10:00:00:000] <WARN> [↑c1|a] uplink ICE/DTLS Transport connection closed",
            &[(N, N)],
        ),
        (
            "[10:00:00:000] <ERROR> [↑c1|a] previous publishing is ongoing, please avod re-publishing",
            &[(N, N)],
        ),
        (
            "getUserMedia error observed [object OverconstrainedError]",
            &[(N, N)],
        ),
        (
            "signal channel reconnection failed, please check your network",
            &[(N, N)],
        ),
        // noise
        ("GET /api/rooms/70001?size=4096 HTTP/1.1 200 16387", &[]),
        (
            r#"{"msg":"heartbeat","userId":"teacher_16387","roomId":4096,"rtt":70001}"#,
            &[],
        ),
        (
            "[10:00:00:000] <INFO> [↓n|bob] stats: videoBitrate=4096kbps port=16387",
            &[],
        ),
        (
            "[10:00:00:000] <INFO> [↑c1|a] publish() => publishing local stream",
            &[],
        ),
        ("HTTP/1.1 500 statusCode=16387", &[]),
        ("exit code 4096", &[]),
        ("error code: 12345", &[]),
        (
            "the state is UNKNOWN and INVALID_PARAMETER in a comment",
            &[],
        ),
        ("MY_ICE_TRANSPORT_ERROR_COUNT=3", &[]),
        ("random=16387&code_page=4096", &[]),
        ("GET /oauth/callback?code=70001&state=x HTTP/1.1", &[]),
        ("GET /login?state=x&code=16387 HTTP/1.1", &[]),
    ];
    let mut failures = vec![];
    for (line, want) in table {
        let got = pairs(line);
        if got != *want {
            failures.push(format!("{line}\n  want {want:?}\n  got  {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
