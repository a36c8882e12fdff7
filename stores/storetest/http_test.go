package storetest_test

import (
	"flag"
	"testing"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/memstore"
	"github.com/sessionkit/sessionkit/stores/storetest"
)

// TestConcurrentIncrements runs the kit's HTTP check on two app servers
// sharing one memstore, the in-process stand-in for a shared backend.
func TestConcurrentIncrements(t *testing.T) {
	s := memstore.New(memstore.Options{})
	storetest.ConcurrentIncrements(t, 20, 100, s, s)
}

func TestTwoAppServers(t *testing.T) {
	storetest.TwoAppServers(t, func(t *testing.T) (core.Store, core.Store) {
		s := memstore.New(memstore.Options{})
		return s, s
	})
}

// TestBench runs each benchmark body against memstore for a few
// iterations, so a broken one fails here rather than when someone measures.
func TestBench(t *testing.T) {
	f := flag.Lookup("test.benchtime")
	was := f.Value.String()
	if err := f.Value.Set("10x"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Value.Set(was) })
	tests := []struct {
		name  string
		bench func(*testing.B, core.Store, []byte)
	}{
		{"Read", storetest.BenchRead},
		{"Write", storetest.BenchWrite},
		{"Touch", storetest.BenchTouch},
		{"LockedWrite", storetest.BenchLockedWrite},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testing.Benchmark(func(b *testing.B) {
				s := memstore.New(memstore.Options{})
				b.Cleanup(func() { s.Close() })
				tt.bench(b, s, make([]byte, 64))
			})
			if r.N == 0 {
				t.Fatal("the benchmark failed")
			}
		})
	}
}

func TestLifecycle(t *testing.T) {
	storetest.Lifecycle(t, 50, func(t *testing.T) core.Store {
		return memstore.New(memstore.Options{})
	})
}
