#!/usr/bin/env bash
# Throughput at several error densities, for `scan`, `run --stdin` and a
# followed file (the corpus renamed into a followed directory at once:
# scripts/bench-follow.py), against `wc -l` and ripgrep's naive
# fixed-string count in the same run; then the browser endpoint under a
# storm of uploads (scripts/bench-browser.sh, CLIENTS concurrent clients):
#
#   scripts/bench-storm.sh [CLIENTS]   (1 % on 1 GiB, 10 % on 256 MiB, 50 % on 64 MiB; 300)
#
# `scan` and `run` write every event with `--text none` (the prose of the
# catalog entries is the same in every event; /dev/null takes them).
# Corpora from scripts/gen-corpus.py (this repository), kept in bench-data/.
# Best wall time of 3 runs after a warm-up; peak RSS from /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS="${1:-300}"
GEN=scripts/gen-corpus.py
mkdir -p bench-data
command -v rg >/dev/null || { apt-get update -qq && apt-get install -y -qq ripgrep >/dev/null; }
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
cargo build --release -q
BIN=target/release/trtc-logwatch
WORDS=bench-data/words.txt
scripts/catalog-words.sh "$BIN" > "$WORDS"
best() {
  "$@" > /dev/null 2>&1
  local b=999999
  for _ in 1 2 3; do
    local s e
    s=$(date +%s.%N); "$@" > /dev/null 2>&1; e=$(date +%s.%N)
    b=$(python3 -c "print(min($b, $e - $s))")
  done
  echo "$b"
}
run_stdin() { "$BIN" run --stdin --text none --events /dev/null --listen 127.0.0.1:0 --log-level error < "$1"; }
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
printf "%-6s %-8s %-22s %9s %9s %12s %9s\n" rate size command seconds MB/s events/s "RSS MiB"
for spec in "0.01 1024" "0.1 256" "0.5 64"; do
  set -- $spec; rate=$1; mb=$2
  data=bench-data/gen-$mb-$rate.log
  [ -s "$data" ] || python3 "$GEN" "$mb" "$rate" > "$data"
  bytes=$(stat -c %s "$data")
  events=$("$BIN" scan "$data" | wc -l)
  t_scan=$(best "$BIN" scan --text none "$data")
  t_run=$(best run_stdin "$data")
  t_rg=$(best rg -c -F -f "$WORDS" "$data")
  t_wc=$(best wc -l "$data")
  r_scan=$(rss "$BIN" scan --text none "$data")
  r_run=$(/usr/bin/time -f %M "$BIN" run --stdin --text none --events /dev/null --listen 127.0.0.1:0 --log-level error < "$data" 2>&1 >/dev/null | tail -1)
  follow=$(python3 scripts/bench-follow.py "$BIN" "$data" 3)
  t_follow=$(echo "$follow" | awk '{print $1}')
  r_follow=$(echo "$follow" | sed 's/.*peak RSS \([0-9.]*\) MiB/\1/' | awk '{printf "%d", $1 * 1024}')
  python3 - "$rate" "$mb" "$bytes" "$events" "$t_scan" "$t_run" "$t_rg" "$t_wc" "$r_scan" "$r_run" "$t_follow" "$r_follow" <<'PY'
import sys
rate, mb, b, ev, ts, tr, trg, twc, rs, rr, tf, rf = sys.argv[1:]
b, ev = int(b), int(ev)
for name, t, r in [("scan", ts, rs), ("run --stdin", tr, rr), ("run --follow", tf, rf), ("rg -c -F -f WORDS", trg, None), ("wc -l", twc, None)]:
    t = float(t)
    evs = f"{ev / t:12.0f}" if r is not None else f"{'':>12}"
    mem = f"{int(r) / 1024:9.1f}" if r is not None else f"{'':>9}"
    print(f"{float(rate)*100:5.0f}% {mb+'MiB':<8} {name:<22} {t:9.3f} {b / t / 1e6:9.0f} {evs} {mem}")
ts, tr, trg, twc, tf = map(float, (ts, tr, trg, twc, tf))
print(f"       scan/rg time {ts/trg:.2f}  stdin/scan {tr/ts:.2f}  follow/scan {tf/ts:.2f}  scan vs wc -l throughput {twc/ts:.2f}")
PY
done
echo
echo "browser endpoint, $CLIENTS clients for 10 s (scripts/bench-browser.sh):"
scripts/bench-browser.sh "$CLIENTS" 10
