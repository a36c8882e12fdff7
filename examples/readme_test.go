package examples_test

import (
	"bytes"
	"fmt"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// readmes are the READMEs whose Go blocks are checked, relative to this
// module's directory.
func readmes(t *testing.T) []string {
	t.Helper()
	nested, err := filepath.Glob("*/README.md")
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"../README.md"}, nested...)
}

// goBlock is one ```go block of a README.
type goBlock struct {
	readme string // path relative to this module
	line   int    // README line of the block's first code line
	code   string
	from   string // the file named by a "<!-- from: path -->" line just above the fence
}

var fromMarker = regexp.MustCompile(`^<!-- from: (\S+) -->$`)

// goBlocks extracts the ```go blocks of a Markdown file, fences indented
// inside list items included.
func goBlocks(t *testing.T, readme string) []goBlock {
	t.Helper()
	text, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(text), "\n")
	var blocks []goBlock
	for i := 0; i < len(lines); i++ {
		trimmed := strings.TrimSpace(lines[i])
		if trimmed != "```go" {
			continue
		}
		indent := lines[i][:strings.Index(lines[i], "```")]
		b := goBlock{readme: readme, line: i + 2}
		if i > 0 {
			if m := fromMarker.FindStringSubmatch(strings.TrimSpace(lines[i-1])); m != nil {
				b.from = m[1]
			}
		}
		var code []string
		closed := false
		for i++; i < len(lines); i++ {
			if strings.TrimSpace(lines[i]) == "```" {
				closed = true
				break
			}
			code = append(code, strings.TrimPrefix(lines[i], indent))
		}
		if !closed {
			t.Fatalf("%s:%d: ```go block without its closing fence", readme, b.line-1)
		}
		b.code = strings.Join(code, "\n") + "\n"
		blocks = append(blocks, b)
	}
	return blocks
}

// TestREADMEGoBlocks holds every ```go block of the READMEs to one rule: it
// is a whole program (package main, its imports) that compiles and passes
// go vet as pasted into a main.go of a module requiring sessionkit, or it
// says with <!-- from: path --> which file that CI compiles it is copied
// from, and is found there line for line. Blocks must be gofmt-formatted.
func TestREADMEGoBlocks(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatalf("the go command is needed to build the README's programs: %v", err)
	}
	var programs []goBlock
	for _, readme := range readmes(t) {
		for _, b := range goBlocks(t, readme) {
			pos := fmt.Sprintf("%s:%d", b.readme, b.line)
			if formatted, err := format.Source([]byte(b.code)); err != nil {
				t.Errorf("%s: the block does not parse: %v", pos, err)
				continue
			} else if !bytes.Equal(formatted, []byte(b.code)) {
				t.Errorf("%s: the block is not gofmt-formatted; gofmt makes it:\n%s", pos, formatted)
			}
			if b.from != "" {
				if err := checkCopied(b); err != nil {
					t.Error(err)
				}
				continue
			}
			if !strings.HasPrefix(b.code, "package main\n") {
				t.Errorf("%s: a ```go block is a whole program starting with \"package main\", or copied from a compiled file named by <!-- from: path --> above its fence", pos)
				continue
			}
			programs = append(programs, b)
		}
	}
	if len(programs) < 6 {
		t.Fatalf("found %d whole programs in the READMEs; the six quick starts alone are six", len(programs))
	}
	if err := vetPrograms(t, programs); err != nil {
		t.Error(err)
	}
}

// vetPrograms writes each block as the main.go of a package inside this
// module (its go.mod, its go.sum) and runs one go vet over them all, which
// type-checks every program and runs vet's analyzers. With -race the
// dependencies come from the cache this test binary's build filled.
func vetPrograms(t *testing.T, blocks []goBlock) error {
	t.Helper()
	work, err := os.MkdirTemp(".", "_readme") // "_" hides it from ./...
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(work)
	var pkgs []string
	where := map[string]goBlock{} // package directory → its block
	for i, b := range blocks {
		dir := filepath.Join(work, fmt.Sprintf("b%d", i))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(b.code), 0o644); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, "./"+filepath.ToSlash(dir))
		where[filepath.Base(dir)] = b
	}
	args := []string{"vet"}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, pkgs...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go vet of the README programs failed (%v):\n%s", err, relocate(string(out), work, where))
	}
	return nil
}

// relocate rewrites the temporary files' positions in go's output as README
// lines.
func relocate(out, work string, where map[string]goBlock) string {
	pos := regexp.MustCompile(`(?:\./)?` + regexp.QuoteMeta(filepath.Base(work)) + `/(b\d+)/main\.go:(\d+)`)
	return pos.ReplaceAllStringFunc(out, func(s string) string {
		m := pos.FindStringSubmatch(s)
		b, ok := where[m[1]]
		n, err := strconv.Atoi(m[2])
		if !ok || err != nil {
			return s
		}
		return fmt.Sprintf("%s:%d", b.readme, b.line+n-1)
	})
}

// checkCopied checks that b's lines appear one after the other in the file
// it names (relative to its README), indentation aside.
func checkCopied(b goBlock) error {
	src, err := os.ReadFile(filepath.Join(filepath.Dir(b.readme), b.from))
	if err != nil {
		return fmt.Errorf("%s:%d: %w", b.readme, b.line, err)
	}
	strip := func(s string) []string {
		lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
		for i, l := range lines {
			lines[i] = strings.TrimSpace(l)
		}
		return lines
	}
	want, have := strip(b.code), strip(string(src))
	for i := 0; i+len(want) <= len(have); i++ {
		if slices.Equal(have[i:i+len(want)], want) {
			return nil
		}
	}
	return fmt.Errorf("%s:%d: the block is not a copy of consecutive lines of %s (copy it again)", b.readme, b.line, b.from)
}

// TestREADMEGoBlocksRejects checks the checker on blocks it must refuse.
func TestREADMEGoBlocksRejects(t *testing.T) {
	dir := t.TempDir()
	readme := filepath.Join(dir, "README.md")
	text := "# x\n\n```go\nm, err := core.New(nil, core.Config{})\n```\n\n<!-- from: code.go -->\n```go\nfunc f() {}\n```\n"
	if err := os.WriteFile(readme, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "code.go"), []byte("package p\n\nfunc g() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	blocks := goBlocks(t, readme)
	if len(blocks) != 2 || blocks[0].line != 4 || blocks[1].line != 9 || blocks[1].from != "code.go" || strings.HasPrefix(blocks[0].code, "package main") {
		t.Fatalf("blocks: %+v", blocks)
	}
	if err := checkCopied(blocks[1]); err == nil {
		t.Fatal("a block that is not in the file it names passed")
	}
	blocks[1].code = "func g() {}\n"
	if err := checkCopied(blocks[1]); err != nil {
		t.Fatalf("a block copied from the file it names failed: %v", err)
	}

	broken := goBlock{readme: "README.md", line: 40, code: "package main\n\nfunc main() {\n\tundefinedName()\n}\n"}
	err := vetPrograms(t, []goBlock{broken})
	if err == nil || !strings.Contains(err.Error(), "README.md:43") {
		t.Fatalf("a program calling an undefined function: %v; want a failure at README.md:43", err)
	}
}

// TestREADMELinks checks that every relative link and image of the READMEs
// names a file or directory of the repository.
func TestREADMELinks(t *testing.T) {
	link := regexp.MustCompile(`\]\(([^)\s]+)\)|<img src="([^"]+)"`)
	checked := 0
	for _, readme := range readmes(t) {
		text, err := os.ReadFile(readme)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(text), "\n") {
			for _, m := range link.FindAllStringSubmatch(line, -1) {
				target := m[1] + m[2]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				target, _, _ = strings.Cut(target, "#")
				if _, err := os.Stat(filepath.Join(filepath.Dir(readme), target)); err != nil {
					t.Errorf("%s:%d: link to %s: %v", readme, i+1, target, err)
				}
				checked++
			}
		}
	}
	if checked < 10 {
		t.Fatalf("checked %d links; the README alone has more", checked)
	}
	t.Logf("%d relative links lead to files", checked)
}
