#!/usr/bin/env bash
# The test command (README, "The two commands"; `.ci/run` runs it too):
# installs what the tests need, pinned (scripts/install-test-deps.sh), then
# runs every test. Nothing is skipped here: TRTC_LOGWATCH_TESTS=all makes a
# test whose tool is missing, or that needs root, fail and say what it
# needs (a plain `cargo test` skips those, with a SKIPPED line each).
# Extra arguments go to `cargo test` (a test's name, `-- --nocapture`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-deps.sh
export TRTC_LOGWATCH_TESTS=all
exec cargo test --locked "$@"
