#!/usr/bin/env bash
# The browser endpoint under load: a release daemon with `browser:` (events
# to a file, rate limits opened for the load), CLIENTS concurrent clients
# (default 300) posting the SDK's jssdk_log uploads for SECONDS (default
# 10). Prints the load's figures and the daemon's peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
clients="${1:-300}"
secs="${2:-10}"
cargo build --release --quiet
cargo build --release --quiet --example browser_load
dir="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
cat > "$dir/c.yaml" <<YAML
listen: 127.0.0.1:0
events:
  path: $dir/events.ndjson
  text: none
http:
  max_connections: 1024
browser:
  listen: 127.0.0.1:0
  origins: ["https://app.example.com"]
  sdk_app_ids: [1400000001]
  client_ip_header: X-Forwarded-For
  uploads_per_minute: 100000
  burst: 100000
YAML
target/release/trtc-logwatch run --config "$dir/c.yaml" 2> "$dir/log" &
pid=$!
port=""
for _ in $(seq 100); do
  port="$(grep -o "loggerProxy) on http://127.0.0.1:[0-9]*" "$dir/log" | grep -o '[0-9]*$' || true)"
  [ -n "$port" ] && break
  sleep 0.1
done
target/release/examples/browser_load "$port" "$clients" "$secs"
echo "peak RSS: $(grep VmHWM /proc/$pid/status)"
echo "events written: $(wc -l < "$dir/events.ndjson")"
