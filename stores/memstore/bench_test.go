package memstore_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/stores/memstore"
)

const benchSessions = 10000

// filled returns a store of benchSessions live sessions of 64 bytes and
// their IDs.
func filled(b *testing.B) (*memstore.Store, []string) {
	b.Helper()
	s := memstore.New(memstore.Options{})
	b.Cleanup(func() { s.Close() })
	ids := make([]string, benchSessions)
	data := make([]byte, 64)
	exp := time.Now().Add(time.Hour)
	for i := range ids {
		ids[i] = fmt.Sprintf("bench-%037d", i)
		if err := s.Write(context.Background(), ids[i], data, exp); err != nil {
			b.Fatal(err)
		}
	}
	return s, ids
}

func BenchmarkRead(b *testing.B) {
	s, ids := filled(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, found, err := s.Read(ctx, ids[i%len(ids)]); err != nil || !found {
			b.Fatal("read failed")
		}
	}
}

func BenchmarkReadParallel(b *testing.B) {
	s, ids := filled(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, found, err := s.Read(ctx, ids[i%len(ids)]); err != nil || !found {
				b.Error("read failed")
				return
			}
			i += 7
		}
	})
}

func BenchmarkWrite(b *testing.B) {
	s, ids := filled(b)
	ctx := context.Background()
	data := make([]byte, 64)
	exp := time.Now().Add(time.Hour)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Write(ctx, ids[i%len(ids)], data, exp); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTouch(b *testing.B) {
	s, ids := filled(b)
	ctx := context.Background()
	exp := time.Now().Add(2 * time.Hour)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Touch(ctx, ids[i%len(ids)], exp); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLockUnlock(b *testing.B) {
	s, ids := filled(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l, err := s.Lock(ctx, ids[i%len(ids)])
		if err != nil {
			b.Fatal(err)
		}
		l.Unlock(ctx)
	}
}

// fillExpiring writes n sessions that are live now but expired for a GC
// given cut, so the sweep has real work and reads meanwhile stay valid.
func fillExpiring(b *testing.B, s *memstore.Store, n int, cut time.Time) {
	b.Helper()
	data := make([]byte, 64)
	for i := 0; i < n; i++ {
		if err := s.Write(context.Background(), fmt.Sprintf("sweep-%037d", i), data, cut.Add(-time.Minute)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGC100k measures one GC that removes 10^5 expired sessions.
func BenchmarkGC100k(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := memstore.New(memstore.Options{})
		cut := time.Now().Add(time.Hour)
		fillExpiring(b, s, n, cut)
		b.StartTimer()
		removed, err := s.GC(ctx, cut)
		if err != nil || removed != n {
			b.Fatalf("GC = %d, %v; want %d", removed, err, n)
		}
	}
}

// BenchmarkLookupDuringSweep measures the SPEC's "no lookup blocked more
// than 10 ms by a sweep": while GC sweeps 10^6 expired sessions, request-like
// goroutines (as many as GOMAXPROCS, each issuing a read or write of a live
// session every 100 µs, as requests arriving over the network would) time
// every call from the moment it was due, so a wait for the processor or for
// a shard's lock both count. It reports the slowest call and the 99.9th
// percentile during the sweeps (max-lookup-ns, p999-lookup-ns) and, as a
// baseline for what the machine itself adds (timer slack, preemption by
// other processes), the same in a quiet 200 ms before each sweep
// (max-idle-lookup-ns, p999-idle-lookup-ns); also the calls made per sweep
// and the sweep's duration (sweep-ms). ns/op covers the quiet window and
// the sweep. Run it with -cpu 1,2,4.
func BenchmarkLookupDuringSweep(b *testing.B) {
	const n = 1_000_000
	ctx := context.Background()
	workers := runtime.GOMAXPROCS(0)
	var during, idle []time.Duration
	var sweep time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := memstore.New(memstore.Options{})
		cut := time.Now().Add(time.Hour)
		fillExpiring(b, s, n, cut)
		live := make([]string, 1000)
		for j := range live {
			live[j] = fmt.Sprintf("live-%038d", j)
			if err := s.Write(ctx, live[j], make([]byte, 64), cut.Add(time.Hour)); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		b.StartTimer()

		idle = append(idle, timeLookups(s, live, workers, cut, func() { time.Sleep(200 * time.Millisecond) })...)
		var removed int
		var err error
		during = append(during, timeLookups(s, live, workers, cut, func() {
			start := time.Now()
			removed, err = s.GC(ctx, cut)
			sweep += time.Since(start)
		})...)
		b.StopTimer()
		if err != nil || removed != n {
			b.Fatalf("GC = %d, %v; want %d", removed, err, n)
		}
		s.Close()
		b.StartTimer()
	}
	slices.Sort(during)
	slices.Sort(idle)
	b.ReportMetric(float64(during[len(during)-1]), "max-lookup-ns")
	b.ReportMetric(float64(during[len(during)*999/1000]), "p999-lookup-ns")
	b.ReportMetric(float64(idle[len(idle)-1]), "max-idle-lookup-ns")
	b.ReportMetric(float64(idle[len(idle)*999/1000]), "p999-idle-lookup-ns")
	b.ReportMetric(float64(len(during))/float64(b.N), "lookups/sweep")
	b.ReportMetric(float64(sweep.Milliseconds())/float64(b.N), "sweep-ms")
}

// timeLookups runs workers goroutines that each read (and every fourth
// time write) a live session every lookupEvery while fn runs, and returns
// how long each call took from the moment it was due.
func timeLookups(s *memstore.Store, live []string, workers int, cut time.Time, fn func()) []time.Duration {
	const lookupEvery = 100 * time.Microsecond
	ctx := context.Background()
	done := make(chan struct{})
	var mu sync.Mutex
	var all []time.Duration
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			times := make([]time.Duration, 0, 1<<16)
			data := make([]byte, 64)
			due := time.Now()
			for j := 0; ; j++ {
				select {
				case <-done:
					mu.Lock()
					all = append(all, times...)
					mu.Unlock()
					return
				default:
				}
				due = due.Add(lookupEvery)
				if d := time.Until(due); d > 0 {
					time.Sleep(d)
				}
				id := live[(j*31+w)%len(live)]
				if j%4 == 3 {
					_ = s.Write(ctx, id, data, cut.Add(time.Hour))
				} else {
					_, _, _ = s.Read(ctx, id)
				}
				now := time.Now()
				times = append(times, now.Sub(due))
				due = now // no backlog: the next call is due lookupEvery from now
			}
		}(w)
	}
	fn()
	close(done)
	wg.Wait()
	return all
}
