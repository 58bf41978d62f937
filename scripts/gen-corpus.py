#!/usr/bin/env python3
"""Writes a deterministic benchmark corpus: the log of a web app on the TRTC
Web SDK, as the benchmarks in BENCHMARKS.md read it.

    scripts/gen-corpus.py MEGABYTES [ERROR_RATE] > corpus.log

ERROR_RATE (default 0.01) is the share of records that are SDK errors. The
rest is what such logs hold around them, written from the facts of the
formats (the SDKs' console records, an app's JSON lines, an access log):
SDK INFO/WARN records, recoveries, JSON heartbeats and nginx lines whose
numbers look like codes (`size=4096`, `port 16387`, `roomId 70001`), so the
matcher's "numbers only in code context" work is measured too. The errors
cover both SDK majors and their forms: SDK 4's `RtcError: ... <KEY 0xhex>`,
SDK 5's `NAME: message` with `extraCode`, server causes (`70001`,
`-10012`), records that span lines (a stack under the error), uploads'
JSON with the record inside, a userSig now and then (the redaction's work).
The same arguments give the same bytes (a fixed seed).
"""

import random
import sys

V4_ERRORS = [
    ("ICE_TRANSPORT_ERROR", 0x4003, "ICE/DTLS Transport connection failed"),
    ("ICE_TRANSPORT_ERROR", 0x4003, "uplink DTLS Transport connection timeout (10s). ICE Transport state: checking, DTLS Transport state: new"),
    ("SIGNAL_CHANNEL_SETUP_FAILED", 0x4001, "SignalChannel setup failure: (errorCode: 70001, errorMsg: userSig expired)"),
    ("JOIN_ROOM_FAILED", 0x4004, "join room timeout."),
    ("UPLINK_RECONNECTION_FAILED", 0x4007, "uplink reconnect failed, please check your network and publish again"),
    ("DOWNLINK_RECONNECTION_FAILED", 0x4008, "downlink reconnect failed, please check your network and re-join room"),
    ("SUBSCRIPTION_TIMEOUT", 0x4042, "remote server not response to subscription"),
    ("DEVICE_AUTO_RECOVER_FAILED", 0x4044, "NotReadableError: Could not start video source"),
    ("PLAY_NOT_ALLOWED", 0x4043, "NotAllowedError: play() failed because the user didn't interact with the document first."),
    ("UNKNOWN", 0xFFFF, "publish timeout"),
]

V5_ERRORS = [
    ("SERVER_ERROR", 5400, None, "'enterRoom' got server error: userSig expired, please check the SDK documentation."),
    ("OPERATION_FAILED", 5500, 5501, "media connection failure due to firewall restrictions, please try to change your network."),
    ("OPERATION_FAILED", 5500, None, "'enterRoom' failed, reason: ws connect timeout"),
    ("DEVICE_ERROR", 5300, 5302, "NotAllowedError, you have disabled camera access, please allow the current application to use the camera"),
    ("INVALID_PARAMETER", 5000, 5013, "'roomId' must be an integer between [1, 4294967294]."),
    ("INVALID_OPERATION", 5100, 5101, "cannot startRemoteVideo because you are not enter room yet."),
    ("ENV_NOT_SUPPORTED", 5200, 5202, "the current browser does not support WebRTC capability, please check the SDK documentation."),
]

USERS = ["alice", "bob", "carol", "dave", "teacher_16387", "student_4096", "u_70001"]
AGENTS = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
]


class Clock:
    """Seconds since midnight, advancing a little each record."""

    def __init__(self):
        self.ms = 0

    def tick(self, rnd):
        self.ms += rnd.randint(0, 40)
        s, ms = divmod(self.ms, 1000)
        m, s = divmod(s, 60)
        h, m = divmod(m, 60)
        return h % 24, m, s, ms


def sdk4_prefix(t, level, tag, user):
    h, m, s, ms = t
    return f"[{h:02}:{m:02}:{s:02}:{ms:03}] <{level}> [{tag}|{user}] "


def noise(rnd, t, user):
    h, m, s, ms = t
    kind = rnd.randrange(6)
    if kind == 0:
        return sdk4_prefix(t, "INFO", "↓n", user) + (
            f"stats: audioLevel={rnd.random():.3f} videoBitrate={rnd.randint(100, 2500)}kbps "
            f"port={rnd.randint(1024, 65535)}"
        )
    if kind == 1:
        return (
            f'{{"ts":"2026-11-26T{h:02}:{m:02}:{s:02}.{ms:03}Z","level":"info","msg":"heartbeat",'
            f'"userId":"{user}","roomId":{rnd.randint(1000, 99999)},"rtt":{rnd.randint(5, 400)},'
            f'"bytes":{rnd.randint(1000, 999999)}}}'
        )
    if kind == 2:
        return (
            f"10.0.{rnd.randrange(256)}.{rnd.randrange(256)} - - [26/Nov/2026:{h:02}:{m:02}:{s:02} +0000] "
            f'"GET /api/rooms/{rnd.randint(70000, 70400)}?size=4096 HTTP/1.1" 200 {rnd.randint(500, 16000)} '
            f'"-" "{rnd.choice(AGENTS)}"'
        )
    if kind == 3:
        return sdk4_prefix(t, "INFO", "↑c1", user) + (
            f"onConnectionStateChange() connectionState: connected, port 16387, sdkAppId 1400188366"
        )
    if kind == 4:
        return sdk4_prefix(t, "WARN", "↑c1", user) + "ICE failed, retrying (reconnect 1/30)"
    return sdk4_prefix(t, "DEBUG", "↓n", user) + (
        f"remote stream updated, userId {user}, roomId {rnd.randint(1, 99999)}, codec H264"
    )


def error(rnd, t, user):
    kind = rnd.randrange(10)
    if kind < 5:
        key, hexcode, msg = rnd.choice(V4_ERRORS)
        return sdk4_prefix(t, "ERROR", "↑c1", user) + f"RtcError: {msg} <{key} 0x{hexcode:x}>"
    if kind < 8:
        name, code, extra, msg = rnd.choice(V5_ERRORS)
        h, m, s, ms = t
        extra_s = f" extraCode:{extra}" if extra else ""
        line = f"2026-11-26 {h:02}:{m:02}:{s:02}.{ms:03} [ERROR] trtc: {name}: {msg} code:{code}{extra_s}"
        if kind == 7:
            line += "\n    at RtcError.fromError (trtc.js:1:2345)\n    at enterRoom (app.js:42:7)"
        return line
    if kind == 8:
        key, hexcode, msg = rnd.choice(V4_ERRORS)
        inner = sdk4_prefix(t, "ERROR", "↑c1", user) + f"RtcError: {msg} <{key} 0x{hexcode:x}>"
        inner = inner.replace("\\", "\\\\").replace('"', '\\"')
        return (
            f'{{"timestamp":"2026/11/26","sdkAppId":"1400188366","userId":"{user}",'
            f'"version":"4.15.22","log":"{inner}"}}'
        )
    # The SDK's own 70001 with a credential in it (redacted before events).
    return sdk4_prefix(t, "ERROR", "↑ws", user) + (
        "RtcError: userSig expired (errorCode: 70001) userSig=eJwtzFELgjAUBeC-sj1HeGd6Z-3 "
        "<SIGNAL_CHANNEL_SETUP_FAILED 0x4001>"
    )


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    megabytes = float(sys.argv[1])
    rate = float(sys.argv[2]) if len(sys.argv) > 2 else 0.01
    rnd = random.Random(20261126)
    clock = Clock()
    out = sys.stdout
    written, limit = 0, int(megabytes * 1024 * 1024)
    lines = []
    while written < limit:
        t = clock.tick(rnd)
        user = rnd.choice(USERS)
        rec = error(rnd, t, user) if rnd.random() < rate else noise(rnd, t, user)
        lines.append(rec)
        written += len(rec.encode()) + 1
        if len(lines) >= 4096:
            out.write("\n".join(lines) + "\n")
            lines = []
    if lines:
        out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
