#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain, from
# Debian's packages, only when it is missing: prometheus and promtool (the
# alerting tests run a real Prometheus) and nats-server (the JetStream
# consumer tests run a real server). Safe to run repeatedly.
set -euo pipefail
need=()
command -v prometheus >/dev/null && command -v promtool >/dev/null || need+=(prometheus)
command -v nats-server >/dev/null || need+=(nats-server)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} from Debian's packages" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The package may start its own service where an init system runs; the tests start their own.
  for svc in prometheus nats-server; do
    if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
      systemctl stop "$svc" || true
    fi
  done
fi
prometheus --version 2>&1 | head -1
promtool --version 2>&1 | head -1
nats-server --version 2>&1 | head -1
