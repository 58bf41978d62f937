#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain, from
# Debian's packages, only when it is missing. Safe to run repeatedly.
set -euo pipefail
need=()
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
