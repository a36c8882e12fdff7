package sqlitestore_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/sqlitestore"
)

// benchData is a typical session record: a few hundred bytes.
var benchData = bytes.Repeat([]byte("k|s:5:\"value\";"), 20)

func benchStore(b *testing.B) *sqlitestore.Store {
	b.Helper()
	db, _ := openDB(b)
	s := newStore(b, db, sqlitestore.Options{})
	if err := s.Open(context.Background()); err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkRead(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	id := "BenchmarkReadSession000000000000000000000"
	if err := s.Write(ctx, id, benchData, time.Now().Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, found, err := s.Read(ctx, id); err != nil || !found {
			b.Fatal(found, err)
		}
	}
}

func BenchmarkWrite(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	id := "BenchmarkWriteSession00000000000000000000"
	expiry := time.Now().Add(time.Hour)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Write(ctx, id, benchData, expiry); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTouch(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	id := "BenchmarkTouchSession00000000000000000000"
	if err := s.Write(ctx, id, benchData, time.Now().Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	expiry := time.Now().Add(2 * time.Hour)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Touch(ctx, id, expiry); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLockedWrite is one locking-mode request: Lock, read and write
// through the lock, Unlock.
func BenchmarkLockedWrite(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	id := "BenchmarkLockedSession0000000000000000000"
	expiry := time.Now().Add(time.Hour)
	if err := s.Write(ctx, id, benchData, expiry); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l, err := s.Lock(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := l.(core.LockedReader).Read(ctx); err != nil {
			b.Fatal(err)
		}
		if err := l.(core.LockedWriter).Write(ctx, benchData, expiry); err != nil {
			b.Fatal(err)
		}
		if err := l.Unlock(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGC removes 10^5 expired sessions per operation.
func BenchmarkGC(b *testing.B) {
	const sessions = 100_000
	ctx := context.Background()
	past := time.Now().Add(-time.Hour).UnixMilli()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db, _ := openDB(b)
		s := newStore(b, db, sqlitestore.Options{})
		if err := s.Open(ctx); err != nil {
			b.Fatal(err)
		}
		// Fill in one transaction: a commit per row would dominate.
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		for j := 0; j < sessions; j++ {
			if _, err := tx.Exec(`INSERT INTO sessions (id, data, expiry) VALUES (?, ?, ?)`,
				fmt.Sprintf("gc%040d", j), benchData[:64], past); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		n, err := s.GC(ctx, time.Now())
		if err != nil || n != sessions {
			b.Fatalf("GC = %d, %v; want %d", n, err, sessions)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*sessions), "ns/session")
}
