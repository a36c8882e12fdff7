package main

import (
	"archive/zip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

// tree writes files (slash paths relative to dir) into dir.
func tree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// zipNames lists the file names inside a module zip.
func zipNames(t *testing.T, file string) []string {
	t.Helper()
	r, err := zip.OpenReader(file)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var names []string
	for _, f := range r.File {
		names = append(names, f.Name)
	}
	sort.Strings(names)
	return names
}

func TestBuildWritesEachModuleWithoutItsNestedModules(t *testing.T) {
	src, out := t.TempDir(), t.TempDir()
	tree(t, src, map[string]string{
		"go.mod":                     "module example.com/Root\n\ngo 1.22\n",
		"root.go":                    "package root\n",
		"internal/x/x.go":            "package x\n",
		"internal/x/testdata/go.mod": "module example.com/notamodule\n",
		"sub/go.mod":                 "module example.com/Root/sub\n\ngo 1.22\n\nrequire example.com/Root v0.3.0\n",
		"sub/sub.go":                 "package sub\n",
		"sub/deeper/go.mod":          "module example.com/Root/sub/deeper\n\ngo 1.22\n",
		"sub/deeper/deeper.go":       "package deeper\n",
		"sub/.git/HEAD":              "not part of any module\n",
	})
	mods, err := Build(src, out, "v0.3.0")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range mods {
		got = append(got, m.String())
	}
	want := "example.com/Root/sub/deeper@v0.3.0 example.com/Root/sub@v0.3.0 example.com/Root@v0.3.0"
	sort.Strings(got)
	if strings.Join(got, " ") != want {
		t.Fatalf("modules = %v, want %s", got, want)
	}

	// Upper-case letters are escaped in proxy paths (!r for R).
	rootDir := filepath.Join(out, "example.com", "!root", "@v")
	names := zipNames(t, filepath.Join(rootDir, "v0.3.0.zip"))
	// Inside the zip, names carry the module path as it is.
	wantNames := []string{
		"example.com/Root@v0.3.0/go.mod",
		"example.com/Root@v0.3.0/internal/x/x.go",
		"example.com/Root@v0.3.0/root.go",
	}
	if strings.Join(names, "\n") != strings.Join(wantNames, "\n") {
		t.Fatalf("root zip holds\n%s\nwant\n%s", strings.Join(names, "\n"), strings.Join(wantNames, "\n"))
	}
	subZip := filepath.Join(out, "example.com", "!root", "sub", "@v", "v0.3.0.zip")
	if names := zipNames(t, subZip); strings.Join(names, " ") != "example.com/Root/sub@v0.3.0/go.mod example.com/Root/sub@v0.3.0/sub.go" {
		t.Fatalf("sub zip holds %v", names)
	}
	// The go command's own check of a downloaded zip accepts it.
	checked, err := modzip.CheckZip(module.Version{Path: "example.com/Root/sub", Version: "v0.3.0"}, subZip)
	if err != nil || checked.Err() != nil {
		t.Fatalf("CheckZip: %v, %v", err, checked.Err())
	}
	mod, err := os.ReadFile(filepath.Join(out, "example.com", "!root", "sub", "@v", "v0.3.0.mod"))
	if err != nil || !strings.Contains(string(mod), "require example.com/Root v0.3.0") {
		t.Fatalf("sub .mod = %q, %v", mod, err)
	}
	info, err := os.ReadFile(filepath.Join(rootDir, "v0.3.0.info"))
	if err != nil || !strings.HasPrefix(string(info), `{"Version":"v0.3.0","Time":"`) {
		t.Fatalf("root .info = %q, %v", info, err)
	}

	// A second version joins the list, in version order.
	if _, err := Build(src, out, "v0.10.0"); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(src, out, "v0.3.0"); err != nil {
		t.Fatal(err)
	}
	list, err := os.ReadFile(filepath.Join(rootDir, "list"))
	if err != nil || string(list) != "v0.3.0\nv0.10.0\n" {
		t.Fatalf("list = %q, %v", list, err)
	}
}

func TestBuildRefusesWhatAModuleCannotHold(t *testing.T) {
	cases := []struct {
		name    string
		files   map[string]string
		version string
		want    string
	}{
		{"not a version", map[string]string{"go.mod": "module example.com/a\n"}, "0.1", "not a canonical semantic version"},
		{"no module line", map[string]string{"go.mod": "go 1.22\n"}, "v0.1.0", "no module line"},
		{"major version mismatch", map[string]string{"go.mod": "module example.com/a/v2\n"}, "v0.1.0", "v2"},
		{"no go.mod", map[string]string{"a.go": "package a\n"}, "v0.1.0", "no go.mod"},
		{"case collision", map[string]string{"go.mod": "module example.com/a\n", "A.go": "package a\n", "a.go": "package a\n"}, "v0.1.0", "case-insensitive file name collision"},
		{"bad file name", map[string]string{"go.mod": "module example.com/a\n", "a:b.go": "package a\n"}, "v0.1.0", "a:b.go"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := t.TempDir()
			tree(t, src, c.files)
			_, err := Build(src, t.TempDir(), c.version)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Build error = %v, want one mentioning %q", err, c.want)
			}
		})
	}
}
