#!/usr/bin/env python3
"""A storm in a followed file: a release daemon follows DIR/*.log, the
corpus (written beforehand, and in the page cache) is renamed into DIR as
a new log file at once, and the time is taken from the rename to the
moment /metrics says every line but the last was read and its events
written (polled every 5 ms). Writing the file is not timed: that is the
kernel's work. The last line is not waited for: it is a record the daemon
holds for RECORD_WAIT (250 ms) in case its next lines are still coming.

    scripts/bench-follow.py BIN CORPUS [ROUNDS] [-- extra run flags]

Prints one line: seconds (best of ROUNDS, default 3), MB/s, events/s, the
daemon's peak RSS (VmHWM). Events go to /dev/null, text as `--text` says
(default none, as the scan rows of bench-storm.sh)."""
import os, re, shutil, subprocess, sys, tempfile, time, urllib.request

args = sys.argv[1:]
extra = []
if "--" in args:
    i = args.index("--")
    args, extra = args[:i], args[i + 1:]
bin_, corpus = args[0], args[1]
rounds = int(args[2]) if len(args) > 2 else 3
if not any(a.startswith("--text") for a in extra):
    extra += ["--text", "none"]
size = os.path.getsize(corpus)
with open(corpus, "rb") as f:
    lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 24), b""))
# The events to wait for: those `scan` finds in the corpus.
def count(cmd):
    return int(subprocess.run(cmd, shell=True, capture_output=True, check=True).stdout)


expected = count(f"{bin_} scan --text none {corpus} | wc -l") - count(
    f"tail -n 1 {corpus} | {bin_} scan --text none | wc -l")
lines -= 1


def metric(port, name):
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    total = 0.0
    for m in re.finditer(rf"^{name}(?:{{[^}}]*}})? (\S+)$", body, re.M):
        total += float(m.group(1))
    return total


def once():
    d = tempfile.mkdtemp()
    try:
        log = os.path.join(d, "app.log")
        open(log, "wb").close()
        staged = os.path.join(d, "storm.tmp")
        shutil.copyfile(corpus, staged)
        err = open(os.path.join(d, "err"), "wb")
        p = subprocess.Popen(
            [bin_, "run", "--follow", os.path.join(d, "*.log"), "--start-at", "beginning", "--events", "/dev/null",
             "--listen", "127.0.0.1:0", "--log-level", "info", *extra],
            stderr=err)
        port = None
        for _ in range(500):
            m = re.search(rb"metrics on http://127\.0\.0\.1:(\d+)", open(err.name, "rb").read())
            if m:
                port = int(m.group(1))
                break
            time.sleep(0.01)
        assert port, open(err.name, "rb").read().decode(errors="replace")
        while metric(port, "trtc_logwatch_files_watched") < 1:
            time.sleep(0.01)
        t0 = time.monotonic()
        os.rename(staged, os.path.join(d, "storm.log"))
        while (metric(port, "trtc_logwatch_lines_read_total") < lines
               or metric(port, "trtc_logwatch_events_written_total") < expected):
            time.sleep(0.005)
        t = time.monotonic() - t0
        events = metric(port, "trtc_logwatch_events_written_total")
        hwm = int(re.search(r"VmHWM:\s+(\d+)", open(f"/proc/{p.pid}/status").read()).group(1))
        p.terminate()
        p.wait()
        return t, events, hwm
    finally:
        shutil.rmtree(d, ignore_errors=True)


runs = [once() for _ in range(rounds)]
t, events, hwm = min(runs)
print(f"{t:.3f} s  {size / t / 1e6:.0f} MB/s  {events / t:.0f} events/s  "
      f"{events:.0f} events  peak RSS {max(r[2] for r in runs) / 1024:.1f} MiB")
