package storetest

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

func (k *kit) missingID(t *testing.T) {
	s := k.store(t)
	ctx := Context(t)
	data, found, err := s.Read(ctx, NewID(t))
	if err != nil {
		t.Fatalf("Read of a missing id: err = %v, want nil", err)
	}
	if found {
		t.Fatalf("Read of a missing id: found=true (%s), want false", describe(data))
	}
}

func (k *kit) roundTrip(t *testing.T) {
	s := k.store(t)
	ctx := Context(t)
	id := NewID(t)
	want := []byte("a=1;b=two")
	mustWrite(ctx, t, s, id, want, later())
	wantData(ctx, t, s, id, want)
	// A second read sees the same record: Read does not consume it.
	wantData(ctx, t, s, id, want)
}

func (k *kit) binaryData(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"NUL", []byte{0x00}},
		{"FF", []byte{0xff}},
		{"NULs", []byte{0x00, 0x00, 0x00, 0x00}},
		{"EmbeddedNUL", []byte("a\x00b\xffc\r\n")},
		{"EveryByte", all},
		{"InvalidUTF8", []byte{0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28}},
		{"Random64KiB", randomBytes(t, 64<<10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := k.store(t)
			ctx := Context(t)
			id := NewID(t)
			mustWrite(ctx, t, s, id, tt.data, later())
			wantData(ctx, t, s, id, tt.data)
		})
	}
}

func (k *kit) overwrite(t *testing.T) {
	s := k.store(t)
	ctx := Context(t)
	id := NewID(t)
	long := bytes.Repeat([]byte("long record "), 100)
	mustWrite(ctx, t, s, id, long, later())
	// A shorter record must replace, not partly overwrite, the longer one.
	short := []byte("short")
	mustWrite(ctx, t, s, id, short, later())
	wantData(ctx, t, s, id, short)
	mustWrite(ctx, t, s, id, long, later())
	wantData(ctx, t, s, id, long)
}

func (k *kit) emptyVsAbsent(t *testing.T) {
	s := k.store(t)
	ctx := Context(t)
	id := NewID(t)
	mustWrite(ctx, t, s, id, []byte{}, later())
	got, found := mustRead(ctx, t, s, id)
	if !found {
		t.Fatal("Read of an empty record: found=false, want true (empty is not absent)")
	}
	if len(got) != 0 {
		t.Fatalf("Read of an empty record: got %s, want no bytes", describe(got))
	}
	mustDestroy(ctx, t, s, id)
	wantAbsent(ctx, t, s, id)
}

func (k *kit) destroyAbsent(t *testing.T) {
	s := k.store(t)
	ctx := Context(t)
	id := NewID(t)
	if err := s.Destroy(ctx, id); err != nil {
		t.Fatalf("Destroy of an absent id: %v, want nil", err)
	}
	mustWrite(ctx, t, s, id, []byte("x"), later())
	mustDestroy(ctx, t, s, id)
	wantAbsent(ctx, t, s, id)
	if err := s.Destroy(ctx, id); err != nil {
		t.Fatalf("second Destroy: %v, want nil", err)
	}
	wantAbsent(ctx, t, s, id)
}

// expiry checks that expired records read as absent. The live record gets
// 1.5 s, enough for stores that keep expiry in whole seconds, and the kit
// polls for up to 4 s for it to go.
func (k *kit) expiry(t *testing.T) {
	s := k.store(t)
	ctx := Context(t)

	t.Run("Past", func(t *testing.T) {
		id := NewID(t)
		mustWrite(ctx, t, s, id, []byte("stale"), past())
		wantAbsent(ctx, t, s, id)
	})
	t.Run("OverwriteWithPast", func(t *testing.T) {
		id := NewID(t)
		mustWrite(ctx, t, s, id, []byte("live"), later())
		mustWrite(ctx, t, s, id, []byte("stale"), past())
		wantAbsent(ctx, t, s, id)
	})
	t.Run("Expires", func(t *testing.T) {
		id := NewID(t)
		start := time.Now()
		want := []byte("short-lived")
		mustWrite(ctx, t, s, id, want, start.Add(1500*time.Millisecond))
		wantData(ctx, t, s, id, want)
		deadline := start.Add(4 * time.Second)
		for {
			_, found := mustRead(ctx, t, s, id)
			if !found {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("a record written with a 1.5 s expiry is still found after 4 s")
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

func (k *kit) noAliasing(t *testing.T) {
	s := k.store(t)
	ctx := Context(t)
	id := NewID(t)
	data := []byte("original")
	mustWrite(ctx, t, s, id, data, later())
	copy(data, "mutated!")
	wantData(ctx, t, s, id, []byte("original"))

	got, _ := mustRead(ctx, t, s, id)
	for i := range got {
		got[i] = 'X'
	}
	wantData(ctx, t, s, id, []byte("original"))
}

// cancelledContext checks that every call with an already-cancelled context
// fails. It asserts the error only: a driver may have completed the call
// before noticing the cancellation.
func (k *kit) cancelledContext(t *testing.T) {
	s := k.store(t)
	ctx := Context(t)
	id := NewID(t)
	mustWrite(ctx, t, s, id, []byte("kept"), later())
	done := cancelledContext()

	tests := []struct {
		name string
		has  capability // capRequired for Read, Write and Destroy
		call func() error
	}{
		{"Read", capRequired, func() error { _, _, err := s.Read(done, id); return err }},
		{"Write", capRequired, func() error { return s.Write(done, NewID(t), []byte("x"), later()) }},
		{"Destroy", capRequired, func() error { return s.Destroy(done, id) }},
		{"Touch", capTouch, func() error { return s.(core.Toucher).Touch(done, id, later()) }},
		{"Exists", capExist, func() error { _, err := s.(core.Exister).Exists(done, id); return err }},
		{"CreateID", capCreateID, func() error { _, err := s.(core.IDCreator).CreateID(done); return err }},
		{"GC", capGC, func() error { _, err := s.(core.Collector).GC(done, time.Now()); return err }},
		{"Swap", capSwap, func() error {
			_, err := s.(core.Swapper).Swap(done, NewID(t), nil, []byte("x"), later())
			return err
		}},
		{"Lock", capLock, func() error {
			l, err := s.(core.Locker).Lock(done, NewID(t))
			if err == nil && l != nil {
				_ = l.Unlock(ctx)
			}
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.has != capRequired && !supports(t, s, tt.has) {
				t.Skip("store has no " + tt.name)
			}
			if err := tt.call(); err == nil {
				t.Fatalf("%s with a cancelled context: err = nil, want an error", tt.name)
			}
		})
	}
}

// concurrent runs 16 goroutines of 50 mixed operations each, on their own
// IDs and on a few shared ones, and checks that each goroutine's own record
// always holds what it last wrote. Run it under -race.
func (k *kit) concurrent(t *testing.T) {
	s := k.store(t)
	ctx := Context(t)
	const goroutines, ops = 16, 50
	shared := make([]string, 4)
	for i := range shared {
		shared[i] = NewID(t)
	}
	ids := make([]string, goroutines)
	for i := range ids {
		ids[i] = NewID(t)
	}

	errc := make(chan error, goroutines)
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			errc <- worker(ctx, s, g, ids[g], shared, ops)
		}(g)
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Error(err)
		}
	}
}

// worker is one goroutine of the concurrent subtest.
func worker(ctx context.Context, s core.Store, g int, own string, shared []string, ops int) error {
	var last []byte // what own holds, nil when destroyed
	for i := 0; i < ops; i++ {
		ctx, cancel := context.WithTimeout(ctx, opTimeout)
		err := step(ctx, s, g, i, own, shared, &last)
		cancel()
		if err != nil {
			return fmt.Errorf("goroutine %d, op %d: %w", g, i, err)
		}
	}
	return nil
}

func step(ctx context.Context, s core.Store, g, i int, own string, shared []string, last *[]byte) error {
	switch i % 5 {
	case 0: // write own
		data := []byte(fmt.Sprintf("own:%d:%d:", g, i))
		data = append(data, bytes.Repeat([]byte{byte(g), 0x00, 0xff}, i)...)
		if err := s.Write(ctx, own, data, later()); err != nil {
			return fmt.Errorf("Write: %w", err)
		}
		*last = data
	case 1, 3: // read own
		got, found, err := s.Read(ctx, own)
		if err != nil {
			return fmt.Errorf("Read: %w", err)
		}
		if found != (*last != nil) || !bytes.Equal(got, *last) {
			return fmt.Errorf("Read of own record: found=%v %s, want %s", found, describe(got), describe(*last))
		}
	case 2: // write a shared record, read another
		data := []byte(fmt.Sprintf("shared:%d:%d", g, i))
		if err := s.Write(ctx, shared[i%len(shared)], data, later()); err != nil {
			return fmt.Errorf("Write shared: %w", err)
		}
		got, found, err := s.Read(ctx, shared[(i+1)%len(shared)])
		if err != nil {
			return fmt.Errorf("Read shared: %w", err)
		}
		if found && !bytes.HasPrefix(got, []byte("shared:")) {
			return fmt.Errorf("Read of a shared record: got %s, a torn or foreign record", describe(got))
		}
	case 4: // every other round destroy own, or destroy a shared record
		if i%10 == 4 {
			if err := s.Destroy(ctx, own); err != nil {
				return fmt.Errorf("Destroy: %w", err)
			}
			*last = nil
			return nil
		}
		if err := s.Destroy(ctx, shared[i%len(shared)]); err != nil {
			return fmt.Errorf("Destroy shared: %w", err)
		}
	}
	return nil
}
