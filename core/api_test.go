package core_test

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"io/fs"
	"strings"
	"testing"
)

// apiSurface counts core's exported API as go doc shows it: top-level
// names (constants, variables, functions, types), methods of exported
// types, and how many of the types are interfaces.
func apiSurface(t *testing.T) (names, methods, interfaces int) {
	t.Helper()
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	p := doc.New(pkgs["core"], "github.com/sessionkit/sessionkit/core", 0)
	values := func(vs []*doc.Value) {
		for _, v := range vs {
			names += len(v.Names)
		}
	}
	values(p.Consts)
	values(p.Vars)
	names += len(p.Funcs)
	for _, typ := range p.Types {
		names++
		values(typ.Consts)
		values(typ.Vars)
		names += len(typ.Funcs)
		methods += len(typ.Methods)
		if ts, ok := typ.Decl.Specs[0].(*ast.TypeSpec); ok {
			if _, ok := ts.Type.(*ast.InterfaceType); ok {
				interfaces++
			}
		}
	}
	return names, methods, interfaces
}

// TestAPISurface keeps core's exported API small (issue #10): it fails
// when a change adds exported names beyond the budget. Run it with -v to
// see the counts (before issue #10: 80 names, 49 methods, 16 interfaces).
func TestAPISurface(t *testing.T) {
	names, methods, interfaces := apiSurface(t)
	t.Logf("core exports %d top-level names, %d methods, %d interfaces", names, methods, interfaces)
	const maxNames, maxInterfaces = 69, 15
	if names > maxNames || interfaces > maxInterfaces {
		t.Errorf("core exports %d top-level names and %d interfaces; the budget is %d and %d", names, interfaces, maxNames, maxInterfaces)
	}
}
