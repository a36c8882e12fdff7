package memstore

import (
	"context"
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
	if got := unsafe.Sizeof(entry{}); got != 24 {
		t.Errorf("entry is %d bytes, want 24 (one slice)", got)
	}
	key, e := newEntry("sid", []byte("data"), 42)
	if unsafe.StringData(key) != &e[expLen] {
		t.Error("the map key does not point into its entry: two allocations per session")
	}
	if key != "sid" || e.exp() != 42 || string(e.data(len(key))) != "data" {
		t.Errorf("newEntry = %q, exp %d, data %q", key, e.exp(), e.data(len(key)))
	}
	if got := len(e); got != expLen+len("sid")+len("data") {
		t.Errorf("entry is %d bytes long, want %d", got, expLen+len("sid")+len("data"))
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
