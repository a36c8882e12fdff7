# The two commands of the README, plus helpers.
.PHONY: test demo bench load tidy consumers

test:
	scripts/test.sh

demo:
	cd examples && go run ./gin

# The in-process side-by-side benchmarks against scs, gin-contrib/sessions,
# echo-contrib/session and Fiber's session (bench/), BENCHCOUNT runs each,
# summarised by benchstat.
BENCHCOUNT ?= 6
bench: SHELL := /bin/bash
bench:
	set -o pipefail; out=$$(mktemp); trap 'rm -f "$$out"' EXIT; \
	(cd bench && go test -run '^$$' -bench . -benchmem -count $(BENCHCOUNT)) | tee "$$out" && \
	go run golang.org/x/perf/cmd/benchstat@latest "$$out"

# The same libraries through real HTTP servers on 127.0.0.1 under load
# (load/doc.go; about 4 minutes on 2 cores). Longer or narrower runs:
#   make load LOADFLAGS='-rounds 9 -duration 5s'
load:
	cd load && go run . $(LOADFLAGS)

# go mod tidy in every module, and the build of scripts/consumers from outside
# the repository, both against a module proxy of the working tree
# (CONTRIBUTING.md; consumers needs the servers' SESSIONKIT_* variables).
tidy:
	scripts/release.sh tidy

consumers:
	scripts/release.sh consumers
