package memstore

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
	"unsafe"
)

func TestShardCount(t *testing.T) {
	tests := []struct {
		shards, want int
	}{
		{0, DefaultShards},
		{-3, DefaultShards},
		{1, 1},
		{5, 8},
		{64, 64},
		{65, 128},
		{1 << 20, maxShards},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.shards), func(t *testing.T) {
			s := New(Options{Shards: tt.shards})
			if got := len(s.shards); got != tt.want {
				t.Fatalf("len(shards) = %d, want %d", got, tt.want)
			}
			if s.mask != uint64(tt.want-1) {
				t.Fatalf("mask = %#x, want %#x", s.mask, tt.want-1)
			}
		})
	}
}

// TestShardSpread checks that IDs spread over every shard and none gets
// far more than its share.
func TestShardSpread(t *testing.T) {
	s := New(Options{Shards: 64})
	ctx := context.Background()
	const n = 64 * 1000
	for i := 0; i < n; i++ {
		if err := s.Write(ctx, fmt.Sprintf("spread-%036d", i), []byte("x"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range s.shards {
		if got := len(s.shards[i].m); got < 500 || got > 1500 {
			t.Errorf("shard %d holds %d of %d records, want about %d", i, got, n, n/64)
		}
	}
}

// TestLayout pins the sizes the memory budget depends on.
func TestLayout(t *testing.T) {
	if got := unsafe.Sizeof(ref(nil)); got != 8 {
		t.Errorf("a map value is %d bytes, want 8 (one pointer)", got)
	}
	e := newEntry("sid", []byte("data"), 42)
	if e.id() != "sid" || e.exp() != 42 || string(e.data()) != "data" {
		t.Errorf("newEntry = %q, exp %d, data %q", e.id(), e.exp(), e.data())
	}
	if got := len(e); got != idAt+len("sid")+len("data") {
		t.Errorf("entry is %d bytes long, want %d", got, idAt+len("sid")+len("data"))
	}
	if got := deref(e.ref()); len(got) != len(e) || &got[0] != &e[0] {
		t.Errorf("deref(ref) gives %d bytes at %p, want the entry's %d at %p", len(got), &got[0], len(e), &e[0])
	}
	if deref(nil) != nil {
		t.Error("deref(nil) is not nil")
	}
	if e := newEntry("", nil, 7); e.id() != "" || e.data() == nil || len(e.data()) != 0 || e.exp() != 7 {
		t.Errorf("newEntry of an empty ID and nil data = %q, %v, %d", e.id(), e.data(), e.exp())
	}
	if got := unsafe.Sizeof(shard{}); got%128 != 0 {
		t.Errorf("shard is %d bytes, want a multiple of 128", got)
	}
}

// TestCallerBuffersNotKept: the store keeps no string or slice of its
// callers. A framework (fasthttp) reuses the buffer an ID was read from for
// the next request; the records must not change with it.
func TestCallerBuffersNotKept(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	buf := []byte("reused-buffer-id-000001")
	data := []byte("payload")
	id := func() string { return unsafe.String(&buf[0], len(buf)) }
	steps := []struct {
		name string
		do   func() error
	}{
		{"Write", func() error { return s.Write(ctx, id(), data, exp) }},
		{"Touch", func() error { return s.Touch(ctx, id(), exp.Add(time.Hour)) }},
		{"Swap", func() error {
			ok, err := s.Swap(ctx, id(), data, data, exp.Add(2*time.Hour))
			if err == nil && !ok {
				err = fmt.Errorf("Swap did not write")
			}
			return err
		}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			copy(buf, "reused-buffer-id-000001")
			if err := st.do(); err != nil {
				t.Fatal(err)
			}
			copy(buf, "reused-buffer-id-999999") // the framework's next request
			data[0] = 'X'
			got, found, err := s.Read(ctx, "reused-buffer-id-000001")
			data[0] = 'p'
			if err != nil || !found || string(got) != "payload" {
				t.Fatalf("Read after the caller's buffers changed = %q, %v, %v; want \"payload\"", got, found, err)
			}
			if _, found, _ := s.Read(ctx, "reused-buffer-id-999999"); found {
				t.Fatal("a record appeared under the buffer's new contents")
			}
		})
	}
}

// TestCollisions walks the spill map through the states a shard's pair of
// maps can be in when two IDs' hashes collide: the second ID spills, the
// first leaves (its slot in m is free again), the second is written again
// (it must stay in spill, not gain a second copy in m) and leaves; GC
// removes expired spilled records and Close drops everything.
func TestCollisions(t *testing.T) {
	s := NewColliding(Options{Shards: 1})
	ctx := context.Background()
	sh := &s.shards[0]
	later := time.Now().Add(time.Hour)
	read := func(id string) string {
		t.Helper()
		b, found, err := s.Read(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !found {
			return "<absent>"
		}
		return string(b)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Write(ctx, "first-id-0000000000000", []byte("1"), later))
	must(s.Write(ctx, "second-id-000000000000", []byte("2"), later))
	if len(sh.m) != 1 || len(sh.spill) != 1 {
		t.Fatalf("two colliding IDs: %d in m, %d spilled; want 1 and 1", len(sh.m), len(sh.spill))
	}
	if a, b := read("first-id-0000000000000"), read("second-id-000000000000"); a != "1" || b != "2" {
		t.Fatalf("reads = %q, %q; want 1, 2", a, b)
	}
	must(s.Destroy(ctx, "first-id-0000000000000"))
	must(s.Write(ctx, "second-id-000000000000", []byte("2b"), later))
	if len(sh.m) != 0 || len(sh.spill) != 1 {
		t.Fatalf("rewrite of the spilled ID: %d in m, %d spilled; want 0 and 1", len(sh.m), len(sh.spill))
	}
	if got := read("second-id-000000000000"); got != "2b" {
		t.Fatalf("read = %q, want 2b", got)
	}
	if ok, err := s.Swap(ctx, "second-id-000000000000", []byte("2b"), []byte("2c"), later); err != nil || !ok {
		t.Fatalf("Swap of the spilled ID = %v, %v", ok, err)
	}
	must(s.Touch(ctx, "second-id-000000000000", later.Add(time.Hour)))
	if ok, err := s.Exists(ctx, "second-id-000000000000"); err != nil || !ok {
		t.Fatalf("Exists of the spilled ID = %v, %v", ok, err)
	}
	must(s.Write(ctx, "third-id-0000000000000", []byte("3"), time.Now().Add(-time.Second)))
	must(s.Write(ctx, "fourth-id-000000000000", []byte("4"), time.Now().Add(-time.Second)))
	if n, err := s.GC(ctx, time.Now()); err != nil || n != 2 {
		t.Fatalf("GC = %d, %v; want the two expired records removed", n, err)
	}
	if got := read("second-id-000000000000"); got != "2c" {
		t.Fatalf("after GC read = %q, want 2c", got)
	}
	must(s.Destroy(ctx, "second-id-000000000000"))
	if got := read("second-id-000000000000"); got != "<absent>" || len(sh.m)+len(sh.spill) != 0 {
		t.Fatalf("after Destroy read = %q with %d entries left", got, len(sh.m)+len(sh.spill))
	}
	must(s.Close())
	if _, _, err := s.Read(ctx, "second-id-000000000000"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after Close = %v, want ErrClosed", err)
	}
}
