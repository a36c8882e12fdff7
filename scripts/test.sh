#!/usr/bin/env bash
# test.sh runs every module's tests with the race detector against real
# servers: it installs (as root, through apt-get) and starts Redis, a Redis
# Cluster and PostgreSQL on 127.0.0.1 (scripts/services.sh), runs go vet and
# go test -race in each module, and stops the servers again, whatever happens.
# The modules build together through go.work (each nested go.mod requires its
# siblings at the coming release, v0.1.0); a full run then builds and runs the
# consumer programs from outside the repository, as users get the modules
# (scripts/release.sh consumers).
#
#   scripts/test.sh            # everything, the consumers, every fuzz target (scripts/fuzz.sh)
#   scripts/test.sh ./core     # only the modules under a path, no consumers, no fuzzing
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
# One release version, no replace directive, every module in go.work.
scripts/release.sh check || failed+=(module-check)
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

# Every front end and store module, fetched with go get from a module proxy
# of this tree into a new module outside it, built and run against the
# servers above: what a user's go get would get.
if [ -z "${1:-}" ]; then
	echo "=== consumers"
	scripts/release.sh consumers || failed+=(consumers)
fi

# Every decoder of untrusted bytes, fuzzed for a bounded time (FUZZTIME).
if [ -z "${1:-}" ]; then
	scripts/fuzz.sh || failed+=(fuzz)
fi

if [ ${#failed[@]} -gt 0 ]; then
	echo "FAILED modules: ${failed[*]}" >&2
	exit 1
fi
echo "all modules passed"
