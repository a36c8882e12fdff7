// Command modproxy writes a Go module proxy, in the GOPROXY file layout, for
// every module of a working tree at one version: what the module proxy would
// serve once the version is tagged, built from the files as they are now
// (uncommitted edits included, files git ignores left out).
//
//	go run . -root ../../.. -out /tmp/proxy              # every module at v0.1.0
//	GOPROXY=file:///tmp/proxy,https://proxy.golang.org GONOSUMDB=github.com/sessionkit \
//		go get github.com/sessionkit/sessionkit/adapters/gin@v0.1.0
//
// For each module it writes <path>/@v/list, <version>.info, .mod and .zip
// (module path and version case-escaped as the proxy protocol requires).
// The zip holds what `go mod download` would put there: golang.org/x/mod/zip
// leaves out nested modules and vendor directories and refuses files a
// module may not contain (names that are not portable, names that differ
// only in case, files over the size limits); a refused file stops the run
// with its name, since the published module would lack or reject it too.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	root := flag.String("root", ".", "the `directory` whose modules (every go.mod below it) are written")
	out := flag.String("out", "", "the proxy `directory` to write (created if missing)")
	version := flag.String("version", "v0.1.0", "the `version` every module is written at")
	flag.Parse()
	if *out == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: modproxy [-root dir] [-version v0.1.0] -out dir")
		os.Exit(2)
	}
	mods, err := Build(*root, *out, *version)
	if err != nil {
		fmt.Fprintln(os.Stderr, "modproxy:", err)
		os.Exit(1)
	}
	for _, m := range mods {
		fmt.Printf("%s@%s\n", m.Path, m.Version)
	}
}
