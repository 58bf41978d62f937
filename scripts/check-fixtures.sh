#!/usr/bin/env bash
# Tells whether the fixtures in tests/data still match the documents they
# were copied from (the tests read only tests/data):
#
#   scripts/check-fixtures.sh SOURCES_DIR
#
# SOURCES_DIR holds `samples/sdk-forms.tsv` and the seed catalog
# `seed/000_622d9a6f188d3d15.txt` (the project's documents, outside this
# repository). Exit 1 on a difference.
set -euo pipefail
src=${1:?usage: scripts/check-fixtures.sh SOURCES_DIR}
cd "$(dirname "$0")/.."
rc=0
while read -r ours theirs; do
  if [ ! -f "$src/$theirs" ]; then
    echo "skip: $src/$theirs not found"
  elif cmp -s "tests/data/$ours" "$src/$theirs"; then
    echo "same: tests/data/$ours"
  else
    echo "DIFFERS: tests/data/$ours vs $src/$theirs"; rc=1
  fi
done <<'LIST'
sdk-forms.tsv samples/sdk-forms.tsv
seed-trtc-web-v4-ja.md seed/000_622d9a6f188d3d15.txt
LIST
exit $rc
