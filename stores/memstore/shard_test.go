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
	if got := unsafe.Sizeof(entry{}); got != 32 {
		t.Errorf("entry is %d bytes, want 32", got)
	}
	if got := unsafe.Sizeof(shard{}); got%128 != 0 {
		t.Errorf("shard is %d bytes, want a multiple of 128", got)
	}
}
