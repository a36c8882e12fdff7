#!/usr/bin/env bash
# test.sh runs every module's tests with the race detector against real
# servers: it installs (as root, through apt-get) and starts Redis, a Redis
# Cluster and PostgreSQL on 127.0.0.1 (scripts/services.sh), runs go vet and
# go test -race in each module, and stops the servers again, whatever happens.
#
#   scripts/test.sh            # everything, then every fuzz target (scripts/fuzz.sh)
#   scripts/test.sh ./core     # only the modules under a path, no fuzzing
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

state=$(mktemp -d "${TMPDIR:-/tmp}/sessionkit-services.XXXXXX")
cleanup() {
	scripts/services.sh stop "$state" || true
	rm -rf "$state"
}
trap cleanup EXIT
scripts/services.sh start "$state"
# shellcheck disable=SC1091
. "$state/env"

modules=$(find "${1:-.}" -name go.mod -not -path '*/testdata/*' -printf '%h\n' | sort)
failed=()
for dir in $modules; do
	echo "=== module ${dir#./}"
	(
		cd "$root/$dir"
		go vet ./...
		# This module's own files only: nested modules are checked in their turn.
		unformatted=$(go list -f '{{.Dir}}' ./... | while read -r d; do gofmt -l "$d"/*.go; done)
		if [ -n "$unformatted" ]; then
			echo "gofmt would change: $unformatted" >&2
			exit 1
		fi
		go test -race -count=1 -timeout 15m ./...
	) || failed+=("$dir")
done

# Every decoder of untrusted bytes, fuzzed for a bounded time (FUZZTIME).
if [ -z "${1:-}" ]; then
	scripts/fuzz.sh || failed+=(fuzz)
fi

if [ ${#failed[@]} -gt 0 ]; then
	echo "FAILED modules: ${failed[*]}" >&2
	exit 1
fi
echo "all modules passed"
