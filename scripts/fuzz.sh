#!/usr/bin/env bash
# Fuzzes the record matcher and the ingest decoder for SECONDS each
# (default 60). With cargo-fuzz installed (`cargo install cargo-fuzz`), the
# coverage-guided targets in fuzz/ run on libFuzzer (the stable compiler is
# told to allow the sanitizer flags), starting from the corpus kept in
# fuzz/corpus/<target>/ and growing a scratch copy (thousands of files: not
# kept). A failure leaves its input in fuzz/artifacts/<target>/: once fixed,
# copy it into fuzz/corpus/<target>/ under a name that says what it found,
# and tests/fuzz.rs replays it on every test run.
# Without cargo-fuzz, the property tests run with many more cases.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
if command -v cargo-fuzz >/dev/null 2>&1; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  for t in record_matcher ingest_decoder; do
    echo "== $t, ${secs}s (libFuzzer)"
    mkdir -p "$work/$t"
    RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz "$t" "$work/$t" "fuzz/corpus/$t" -- \
      -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048
  done
else
  echo "cargo-fuzz not installed: property tests with many cases instead"
  # About 10,000 cases a second between the two on this machine.
  PROPTEST_CASES=$((secs * 5000)) cargo test --release --test fuzz
fi
