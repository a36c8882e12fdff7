package sqlitestore_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/stores/sqlitestore"
	"github.com/sessionkit/sessionkit/stores/storetest"
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
	storetest.BenchRead(b, benchStore(b), benchData)
}

func BenchmarkWrite(b *testing.B) {
	storetest.BenchWrite(b, benchStore(b), benchData)
}

func BenchmarkTouch(b *testing.B) {
	storetest.BenchTouch(b, benchStore(b), benchData)
}

// BenchmarkLockedWrite is one locking-mode request: Lock, read and write
// through the lock, Unlock.
func BenchmarkLockedWrite(b *testing.B) {
	storetest.BenchLockedWrite(b, benchStore(b), benchData)
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
