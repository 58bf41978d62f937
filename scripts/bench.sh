#!/usr/bin/env bash
# Throughput and memory of `trtc-logwatch scan` on a deterministic corpus,
# against `wc -l` and ripgrep's naive fixed-string count on the same file.
#
#   scripts/bench.sh [MEGABYTES]      (default 1024: a 1 GiB corpus)
#
# The corpus comes from scripts/gen-corpus.py (this repository) and is kept in
# bench-data/ (ignored by git). Each command runs once to warm the page
# cache, then 3 times; the best wall time counts. Installs ripgrep from
# Debian's packages when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
MB=${1:-1024}
GEN=scripts/gen-corpus.py
DATA=bench-data/gen-${MB}.log
WORDS=bench-data/words.txt
mkdir -p bench-data

if ! command -v rg >/dev/null; then
  (apt-get update -qq && apt-get install -y -qq ripgrep) >/dev/null 2>&1 || { echo "cannot install ripgrep" >&2; exit 1; }
fi
[ -x /usr/bin/time ] || { (apt-get update -qq && apt-get install -y -qq time) >/dev/null 2>&1; }
if [ ! -s "$DATA" ]; then
  echo "generating $DATA ..." >&2
  python3 "$GEN" "$MB" > "$DATA.tmp" && mv "$DATA.tmp" "$DATA"
fi
cargo build --release -q
BIN=target/release/trtc-logwatch
# WORDS: every key, alias, hex and message of the catalog, as the issue defines the naive baseline.
scripts/catalog-words.sh "$BIN" > "$WORDS"

bytes=$(stat -c %s "$DATA")
best() { # best wall seconds of 3 runs of "$@", output to /dev/null
  "$@" > /dev/null
  local b=999999
  for _ in 1 2 3; do
    local s e
    s=$(date +%s.%N); "$@" > /dev/null; e=$(date +%s.%N)
    b=$(python3 -c "print(min($b, $e - $s))")
  done
  echo "$b"
}
t_scan=$(best "$BIN" scan "$DATA")
t_wc=$(best wc -l "$DATA")
t_rg=$(best rg -c -F -f "$WORDS" "$DATA")
rss=$(/usr/bin/time -f %M "$BIN" scan "$DATA" 2>&1 >/dev/null | tail -1)
events=$("$BIN" scan "$DATA" | wc -l)
python3 - "$bytes" "$t_scan" "$t_wc" "$t_rg" "$rss" "$events" "$(wc -l < "$WORDS")" <<'PY'
import sys
b, ts, tw, tr, rss, ev, nw = sys.argv[1:]
b = int(b); ts, tw, tr = float(ts), float(tw), float(tr)
mbs = lambda t: b / t / 1e6
print(f"corpus: {b} bytes, {ev} events; rg words: {nw}")
print(f"trtc-logwatch scan : {ts:7.3f} s  {mbs(ts):8.0f} MB/s  peak RSS {int(rss)/1024:.1f} MiB")
print(f"wc -l              : {tw:7.3f} s  {mbs(tw):8.0f} MB/s")
print(f"rg -c -F -f WORDS  : {tr:7.3f} s  {mbs(tr):8.0f} MB/s")
print(f"scan vs rg: {tr/ts:.2f}x faster; scan vs wc -l: {tw/ts:.2f}x")
PY
