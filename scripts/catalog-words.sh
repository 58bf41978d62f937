#!/usr/bin/env bash
# Prints every key, alias, hex and message wording of the built-in catalogs,
# one a line: ripgrep's word list for the naive baseline of the benchmarks.
#   scripts/catalog-words.sh BINARY > words.txt
set -euo pipefail
"$1" catalog --json | python3 -c '
import json, sys
words = set()
for e in json.load(sys.stdin):
    if e["kind"] == "sdk":
        words.add(e["key"]); words.update(e["aliases"])
        if e.get("hex"): words.add(e["hex"])
    words.update(e["messages"])
print("\n".join(sorted(words)))'
