#!/usr/bin/env bash
# Tells whether the fixtures in tests/data still match their sources in
# ../shared (the tests read only tests/data). Exit 1 on a difference.
set -euo pipefail
cd "$(dirname "$0")/.."
rc=0
while read -r ours theirs; do
  if [ ! -f "../shared/$theirs" ]; then
    echo "skip: ../shared/$theirs not found"
  elif cmp -s "tests/data/$ours" "../shared/$theirs"; then
    echo "same: tests/data/$ours"
  else
    echo "DIFFERS: tests/data/$ours vs ../shared/$theirs"; rc=1
  fi
done <<'LIST'
sdk-forms.tsv samples/sdk-forms.tsv
seed-trtc-web-v4-ja.md seed/000_622d9a6f188d3d15.txt
LIST
exit $rc
