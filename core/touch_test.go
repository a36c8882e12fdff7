package core

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestTouchCache(t *testing.T) {
	var c touchCache
	c.init()
	at := time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC)
	id := []byte("touch-cache-id-0000000000")
	c.set(string(id), at)
	copy(id, "XXXXX") // the request's buffer, reused: the cache kept its own copy
	if got, ok := c.get("touch-cache-id-0000000000"); !ok || !got.Equal(at) {
		t.Fatalf("get = %v, %v; want %v", got, ok, at)
	}
	c.forget("touch-cache-id-0000000000")
	if _, ok := c.get("touch-cache-id-0000000000"); ok {
		t.Fatal("get after forget found the ID")
	}

	// Bounded: once touchCacheMax entries were stored it starts over.
	c.set("first-id", at)
	for i := range touchCacheMax {
		c.set(fmt.Sprintf("id-%d", i), at)
	}
	if _, ok := c.get("first-id"); ok {
		t.Errorf("after %d more entries the first is still cached: the cache is unbounded", touchCacheMax)
	}
	if _, ok := c.get(fmt.Sprintf("id-%d", touchCacheMax-1)); !ok {
		t.Error("the entry stored last was lost")
	}
}

// TestTouchCacheConcurrent runs lookups, stores and forgets of the same IDs
// at once, for the race detector, through a start-over.
func TestTouchCacheConcurrent(t *testing.T) {
	var c touchCache
	c.init()
	c.n.Store(touchCacheMax - 100) // the start-over happens during the run
	at := time.Now()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				id := fmt.Sprintf("id-%d", i%50)
				switch (g + i) % 3 {
				case 0:
					c.set(id, at)
				case 1:
					if got, ok := c.get(id); ok && !got.Equal(at) {
						t.Errorf("get(%s) = %v, want %v", id, got, at)
					}
				case 2:
					c.forget(id)
				}
			}
		}()
	}
	wg.Wait()
	if n := c.n.Load(); n > touchCacheMax {
		t.Errorf("%d entries counted, more than the bound %d", n, touchCacheMax)
	}
}
