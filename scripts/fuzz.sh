#!/usr/bin/env bash
# fuzz.sh runs every fuzz target of the repository (each decoder of
# untrusted bytes: tokens, stored records, every codec, PHP's formats) for a
# bounded time each, and fails on the first crasher. A crasher is written
# to the package's testdata/fuzz/<Target>/ by go test: commit it as a
# regression seed once fixed.
#
#   scripts/fuzz.sh                  # FUZZTIME per target (default 100000x)
#   FUZZTIME=2000000x scripts/fuzz.sh
#
# The budget is a count of executions, not a duration: Go 1.26's fuzz
# coordinator can end a time-bounded run with a bare "context deadline
# exceeded" and no crasher (golang/go#75804).
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-100000x}

# target lines: "<dir> <FuzzName>", from every _test.go outside testdata.
targets=$(grep -rHoE '^func (Fuzz[A-Za-z0-9_]+)\(f \*testing\.F\)' --include='*_test.go' . |
	grep -v '/testdata/' | sed -E 's|^(.*)/[^/]+_test\.go:func (Fuzz[A-Za-z0-9_]+).*|\1 \2|' | sort -u)

total=0
while read -r dir name; do
	[ -n "$dir" ] || continue
	# go test -fuzz runs in the module that holds the package.
	mod=$dir
	while [ ! -f "$mod/go.mod" ]; do mod=$(dirname "$mod"); done
	rel=${dir#"$mod"}
	pkg=./${rel#/}
	echo "=== fuzz $name ($dir) for $fuzztime"
	out=$(cd "$mod" && go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg" 2>&1) || {
		echo "$out" >&2
		echo "fuzz.sh: $name found a crasher (see above)" >&2
		exit 1
	}
	echo "$out" | grep -E 'execs:' | tail -1
	total=$((total + 1))
done <<<"$targets"
echo "fuzz.sh: $total targets, no crashers"
