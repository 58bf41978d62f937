#!/usr/bin/env bash
# CPU a running daemon spends while N followed files stay idle, and how many
# syscalls it makes: scripts/idle-cost.sh [FILES] [SECONDS] (default 10000, 10).
# Files are created, read once from the beginning, then left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}; SECS=${2:-10}
BIN=target/release/trtc-logwatch
[ -x "$BIN" ] || cargo build --release -q
dir=$(mktemp -d); trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
mkdir "$dir/logs"
python3 - "$dir/logs" "$N" <<'PY'
import sys, os
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    with open(os.path.join(d, f"f{i:05}.log"), "w") as f:
        f.write(f"x <ICE_TRANSPORT_ERROR 0x4003> seq={i}\n")
PY
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" run --follow "$dir/logs/*.log" --start-at beginning --events /dev/null \
  --listen 127.0.0.1:$port --log-level warn & pid=$!
until curl -sf 127.0.0.1:$port/metrics | grep -q "trtc_logwatch_events_written_total $N"; do sleep 0.2; done
sleep 2
ticks() { awk '{print $14+$15}' /proc/$pid/stat; }
t0=$(ticks)
if [ -z "${NO_STRACE:-}" ] && command -v strace >/dev/null; then
  timeout "$SECS" strace -c -f -p $pid -o "$dir/strace" >/dev/null 2>&1 || true
else
  sleep "$SECS"
fi
t1=$(ticks)
hz=$(getconf CLK_TCK)
python3 -c "print(f'{$N} idle files, {$SECS} s: CPU {($t1-$t0)/$hz:.3f} s = {100*($t1-$t0)/$hz/$SECS:.2f} % of a core')"
[ -f "$dir/strace" ] && { echo "syscalls over $SECS s:"; sed -n '1,12p' "$dir/strace"; }
open=$(curl -s 127.0.0.1:$port/metrics | awk '/^trtc_logwatch_files_open /{print $2}')
echo "files open: $open (the others parked)"
