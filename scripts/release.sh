#!/usr/bin/env bash
# release.sh handles the repository's modules as a consumer sees them: each
# nested go.mod requires the root module and its siblings at a released
# version, with no replace directive; go.work joins them for development.
# Until a version is tagged and on the module proxy, the go command outside
# the workspace cannot resolve it, so the commands below serve every module of
# the working tree from a local module proxy (internal/tools/modproxy).
#
#   scripts/release.sh version         # the version the go.mod files require now
#   scripts/release.sh check           # one version, no replace in any go.mod, go.work complete
#   scripts/release.sh proxy DIR       # write the local proxy of the working tree to DIR
#   scripts/release.sh tidy            # go mod tidy in every module, against that proxy
#   scripts/release.sh work            # rewrite go.work: every module, at the version required
#   scripts/release.sh consumers       # build and run scripts/consumers/* from outside the repo
#   scripts/release.sh alone DIR ARGS  # go ARGS in one module outside the workspace
#   scripts/release.sh bump v0.2.0     # require v0.2.0 of every sibling, then tidy
#   scripts/release.sh tags            # print (TAG=1: create) one lightweight tag per module
#
# See CONTRIBUTING.md for the release checklist.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
prefix=github.com/sessionkit/sessionkit

# Every module directory, relative to the root ("." first).
modules() {
	find . -name go.mod -not -path '*/testdata/*' -not -path './.*' -printf '%h\n' | sort
}

# Module directories that are released (tagged): not the examples, the
# benchmarks, the load test or the tools, which no one imports.
released() {
	modules | grep -vE '^\./(examples|bench|load|internal)(/|$)'
}

# The one version every go.mod requires its siblings at; fails if they differ.
version() {
	local versions
	versions=$(grep -hoE "^[[:space:]]*(require[[:space:]]+)?$prefix(/[^[:space:]]+)?[[:space:]]+v[^[:space:]]+" \
		$(modules | sed 's|$|/go.mod|') | awk '{print $NF}' | sort -u)
	if [ "$(printf '%s\n' "$versions" | grep -c .)" -ne 1 ]; then
		echo "release.sh: the go.mod files require different versions of $prefix modules: $(echo $versions)" >&2
		return 1
	fi
	echo "$versions"
}

# check: what a consumer's build needs of the go.mod files, and what the
# workspace needs of go.work.
check() {
	local v dir path bad=0 listed
	v=$(version) || return 1
	listed=$(go work edit -json | grep -oE '"DiskPath": "[^"]*"' | sed 's/.*: "//; s/"$//' | sort -u)
	for dir in $(modules); do
		if grep -qE '^[[:space:]]*replace([[:space:]]|\()' "$dir/go.mod"; then
			echo "release.sh check: $dir/go.mod has a replace directive, which a consumer's build ignores; the workspace (go.work) joins the modules" >&2
			bad=1
		fi
		if ! grep -qxF "$dir" <<<"$listed"; then
			echo "release.sh check: go.work does not use $dir (scripts/release.sh work rewrites it)" >&2
			bad=1
		fi
		path=$(cd "$dir" && GOWORK=off go list -m)
		if ! grep -qxF "replace $path $v => $dir" go.work; then
			echo "release.sh check: go.work does not replace $path $v => $dir (scripts/release.sh work rewrites it)" >&2
			bad=1
		fi
	done
	return $bad
}

# proxy DIR [VERSION]: the GOPROXY file tree of every module of the working tree.
proxy() {
	local out=$1 v=${2:-$(version)}
	(cd internal/tools/modproxy && GOWORK=off GOFLAGS= go run . -root "$root" -out "$out" -version "$v" >/dev/null)
}

# outside CMD...: runs CMD as the go command runs outside the workspace for a
# consumer, with its own module cache, our proxy ($proxydir) first, then the
# machine's module cache as a second, local proxy, then the usual GOPROXY;
# the checksum database is asked about everything but our own modules.
# -trimpath keeps file paths out of the build, so that the build cache
# serves packages already compiled from the machine's own module cache.
outside() {
	GOWORK=off GOFLAGS="-mod=mod -modcacherw -trimpath" GOTOOLCHAIN=local \
		GOPATH="$scratch/gopath" GOMODCACHE="$scratch/modcache" \
		GOPROXY="file://$proxydir,file://$origcache/cache/download,$origproxy" \
		GONOSUMDB="$prefix" GOPRIVATE= GONOPROXY= "$@"
}

setup_outside() {
	origcache=$(go env GOMODCACHE)
	origproxy=$(go env GOPROXY)
	[ -n "$origproxy" ] && [ "$origproxy" != off ] || origproxy=https://proxy.golang.org,direct
	scratch=$(mktemp -d "${TMPDIR:-/tmp}/sessionkit-release.XXXXXX")
	proxydir=$scratch/proxy
	trap 'chmod -R u+w "$scratch" 2>/dev/null; rm -rf "$scratch"' EXIT
	proxy "$proxydir" "$@"
}

# unsum FILE: drops the go.sum lines of our own modules. They would record
# the hash of the working tree as it was when written, which the go command
# takes for the published version: stale (a "SECURITY ERROR") at the next
# edit of the root, and never needed in the workspace. Without them a build
# outside the workspace says which line is missing, after a release.
unsum() {
	[ ! -f "$1" ] || sed -i "\#^$prefix[/ ]#d" "$1"
}

# tidy: go mod tidy in every module (in parallel), resolving the siblings
# from the proxy of the working tree.
tidy() {
	setup_outside
	local dir pids=() failed=0
	for dir in $(modules); do
		unsum "$dir/go.sum"
		(cd "$dir" && outside go mod tidy >"$scratch/tidy.${dir//\//_}.log" 2>&1) &
		pids+=($!)
	done
	for dir in $(modules); do
		if wait "${pids[0]}"; then
			echo "tidy ${dir#./}: ok"
		else
			echo "tidy ${dir#./} FAILED:" >&2
			sed 's/^/    /' "$scratch/tidy.${dir//\//_}.log" >&2
			failed=1
		fi
		pids=("${pids[@]:1}")
		unsum "$dir/go.sum"
	done
	return $failed
}

# work: go.work uses every module, with the highest go line among them. A
# module in the workspace only becomes a root of version selection: the go
# command still reads the go.mod of the version its siblings require
# (golang/go#66516), which is not published until it is tagged, so go.work
# (never a go.mod) points that version at the directory.
work() {
	local v dir golines
	v=$(version)
	golines=$(for dir in $(modules); do sed -n 's/^go \([0-9.]*\).*/\1/p' "$dir/go.mod"; done | sort -V | tail -1)
	rm -f go.work
	go work init $(modules)
	go work edit -go="$golines" -toolchain=none
	for dir in $(modules); do
		go work edit -replace="$(cd "$dir" && GOWORK=off go list -m)@$v=$dir"
	done
}

# bump VERSION: every require of a sibling moves to VERSION, and so do the
# consumers' go get lines; then tidy.
bump() {
	local new=$1 dir
	if ! [[ $new =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
		echo "release.sh bump: $new is not a version such as v0.2.0" >&2
		return 2
	fi
	for dir in $(modules); do
		sed -i -E "s#^([[:space:]]*(require[[:space:]]+)?$prefix(/[^[:space:]]+)?[[:space:]]+)v[^[:space:]]+#\1$new#" "$dir/go.mod"
		(cd "$dir" && GOWORK=off go mod edit -fmt)
	done
	sed -i -E "s#^(// go get $prefix[^@]*)@v[^[:space:]]+#\1@$new#" scripts/consumers/*/main.go.txt
	work
	tidy
}

# alone DIR ARGS: runs go ARGS (say, test -race ./...) in the module in DIR
# outside the workspace, siblings from the proxy of the working tree: with
# the dependency versions this module requires, not the workspace's highest.
alone() {
	local dir=$1
	shift
	setup_outside
	# On a copy of go.mod and go.sum (-modfile): the lines the go command adds
	# for the siblings stay out of the repository.
	cp "$dir/go.mod" "$scratch/alone.mod"
	[ ! -f "$dir/go.sum" ] || cp "$dir/go.sum" "$scratch/alone.sum"
	(cd "$dir" && outside go "$1" -modfile="$scratch/alone.mod" "${@:2}")
}

# tags: one tag per released module at HEAD: v0.1.0 for the root,
# adapters/gin/v0.1.0 for a nested one. Printed, or created with TAG=1.
tags() {
	local v dir tag
	v=$(version)
	for dir in $(released); do
		if [ "$dir" = . ]; then tag=$v; else tag=${dir#./}/$v; fi
		if [ "${TAG:-}" = 1 ]; then
			git tag "$tag"
			echo "tagged $tag"
		else
			echo "$tag"
		fi
	done
}

# consumers: for each scripts/consumers/NAME/main.go.txt, a new module in a
# directory outside the repository that gets only what the file's
# "// go get" lines name, builds, and runs; the program exits 0 only if its
# session came back. All build in parallel; any failure fails the command.
consumers() {
	setup_outside
	local v src name dir failed=() pids=() names=()
	v=$(version)
	for src in scripts/consumers/*/main.go.txt; do
		name=$(basename "$(dirname "$src")")
		dir=$scratch/consumers/$name
		mkdir -p "$dir"
		cp "$src" "$dir/main.go"
		(
			cd "$dir"
			exec >"$scratch/consumers/$name.log" 2>&1
			SECONDS=0
			outside go mod init "example.com/consumer/$name"
			grep -oE "^// go get $prefix[^@[:space:]]*" main.go | awk '{print $4}' | while read -r mod; do
				outside go get "$mod@$v"
			done
			outside go build -o app .
			echo "built in ${SECONDS}s"
			timeout 120 ./app
		) &
		pids+=($!)
		names+=("$name")
	done
	local i
	for i in "${!pids[@]}"; do
		if wait "${pids[$i]}"; then
			echo "consumer ${names[$i]}: ok ($(tail -1 "$scratch/consumers/${names[$i]}.log"))"
		else
			failed+=("${names[$i]}")
			echo "consumer ${names[$i]} FAILED (go get $prefix/...@$v, build, run outside the repo):" >&2
			sed 's/^/    /' "$scratch/consumers/${names[$i]}.log" >&2
		fi
	done
	if [ ${#failed[@]} -gt 0 ]; then
		echo "release.sh consumers: failed: ${failed[*]}" >&2
		return 1
	fi
}

case "${1:-}" in
version) version ;;
check) check ;;
proxy)
	[ $# -ge 2 ] || { echo "usage: release.sh proxy DIR [VERSION]" >&2; exit 2; }
	mkdir -p "$2"
	proxy "$(cd "$2" && pwd)" "${@:3}"
	;;
tidy) tidy ;;
work) work ;;
consumers) consumers ;;
alone)
	[ $# -ge 3 ] || { echo "usage: release.sh alone DIR GOARGS..." >&2; exit 2; }
	alone "${@:2}"
	;;
bump)
	[ $# -eq 2 ] || { echo "usage: release.sh bump VERSION" >&2; exit 2; }
	bump "$2"
	;;
tags) tags ;;
*)
	sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
	;;
esac
