package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	"golang.org/x/mod/zip"
)

// Build writes every module found below root into the proxy directory out
// at version, and returns them sorted by path.
func Build(root, out, version string) ([]module.Version, error) {
	if !semver.IsValid(version) || semver.Canonical(version) != version {
		return nil, fmt.Errorf("version %q is not a canonical semantic version such as v0.1.0", version)
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	dirs, err := moduleDirs(root)
	if err != nil {
		return nil, err
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("no go.mod below %s", root)
	}
	keep, err := gitFiles(root)
	if err != nil {
		return nil, err
	}
	var mods []module.Version
	seen := make(map[string]string)
	for _, dir := range dirs {
		gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err != nil {
			return nil, err
		}
		modPath := modfile.ModulePath(gomod)
		if modPath == "" {
			return nil, fmt.Errorf("%s/go.mod: no module line", dir)
		}
		if other, ok := seen[modPath]; ok {
			return nil, fmt.Errorf("module %s is declared both in %s and in %s", modPath, other, dir)
		}
		seen[modPath] = dir
		m := module.Version{Path: modPath, Version: version}
		if err := module.Check(m.Path, m.Version); err != nil {
			return nil, fmt.Errorf("%s/go.mod: %w", dir, err)
		}
		files, err := moduleFiles(root, dir, keep)
		if err != nil {
			return nil, err
		}
		if err := writeModule(out, m, gomod, files); err != nil {
			return nil, fmt.Errorf("%s: %w", m.Path, err)
		}
		mods = append(mods, m)
	}
	sort.Slice(mods, func(i, j int) bool { return mods[i].Path < mods[j].Path })
	return mods, nil
}

// skipDir reports whether a directory can hold no module of the tree: the
// go command ignores testdata, vendor and names starting with . or _.
func skipDir(name string) bool {
	return name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}

// moduleDirs finds every directory below root (root included) with a go.mod.
func moduleDirs(root string) ([]string, error) {
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && skipDir(d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Name() == "go.mod" && d.Type().IsRegular() {
			dirs = append(dirs, filepath.Dir(p))
		}
		return nil
	})
	return dirs, err
}

// gitFiles returns the files git would commit below root (tracked, or
// untracked and not ignored), relative to root with slashes; nil if root is
// not in a git work tree, and then every file counts.
func gitFiles(root string) (map[string]bool, error) {
	if _, err := exec.LookPath("git"); err != nil {
		return nil, nil
	}
	check := exec.Command("git", "-C", root, "rev-parse", "--is-inside-work-tree")
	if out, err := check.Output(); err != nil || strings.TrimSpace(string(out)) != "true" {
		return nil, nil
	}
	cmd := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git ls-files in %s: %v: %s", root, err, strings.TrimSpace(stderr.String()))
	}
	keep := make(map[string]bool)
	for _, name := range strings.Split(string(out), "\x00") {
		if name != "" {
			keep[name] = true
		}
	}
	return keep, nil
}

// dirFile is a file of the working tree, named as inside the module zip.
type dirFile struct {
	name, file string
	info       fs.FileInfo
}

func (f dirFile) Path() string                 { return f.name }
func (f dirFile) Lstat() (os.FileInfo, error)  { return f.info, nil }
func (f dirFile) Open() (io.ReadCloser, error) { return os.Open(f.file) }

// moduleFiles lists the files of the module in dir, without nested modules
// and version-control metadata and, when keep is set, only the files in it.
func moduleFiles(root, dir string, keep map[string]bool) ([]zip.File, error) {
	var files []zip.File
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p == dir {
				return nil
			}
			switch d.Name() {
			case ".git", ".hg", ".svn", ".bzr":
				return filepath.SkipDir
			}
			if _, err := os.Lstat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir // a nested module, published on its own
			}
			return nil
		}
		fromRoot, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if keep != nil && !keep[filepath.ToSlash(fromRoot)] {
			return nil
		}
		name, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files = append(files, dirFile{name: filepath.ToSlash(name), file: p, info: info})
		return nil
	})
	return files, err
}

// writeModule writes the proxy files of m: its go.mod, its zip, its .info,
// and m.Version added to its list.
func writeModule(out string, m module.Version, gomod []byte, files []zip.File) error {
	checked, err := zip.CheckFiles(files)
	if err != nil {
		return err
	}
	if err := checked.Err(); err != nil {
		return fmt.Errorf("files a module may not contain:\n%w", err)
	}
	escPath, err := module.EscapePath(m.Path)
	if err != nil {
		return err
	}
	escVersion, err := module.EscapeVersion(m.Version)
	if err != nil {
		return err
	}
	dir := filepath.Join(out, filepath.FromSlash(escPath), "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	base := filepath.Join(dir, escVersion)

	var zipped bytes.Buffer
	if err := zip.Create(&zipped, m, files); err != nil {
		return err
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{m.Version, time.Now().UTC().Truncate(time.Second)})
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{base + ".mod", gomod}, {base + ".zip", zipped.Bytes()}, {base + ".info", info}} {
		if err := writeFile(f.name, f.data); err != nil {
			return err
		}
	}
	return addToList(filepath.Join(dir, "list"), m.Version)
}

// addToList adds version to a proxy's list file, keeping the versions
// already there, one per line in semantic-version order.
func addToList(list, version string) error {
	versions := []string{version}
	old, err := os.ReadFile(list)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, v := range strings.Fields(string(old)) {
		if v != version {
			versions = append(versions, v)
		}
	}
	semver.Sort(versions)
	return writeFile(list, []byte(strings.Join(versions, "\n")+"\n"))
}

// writeFile replaces name with data in one rename, so that a go command
// reading the proxy at the same time sees the old file or the new one.
func writeFile(name string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), filepath.Base(name)+".tmp*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), name)
}
