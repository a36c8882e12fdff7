package storetest

import (
	"bytes"
	"sync"
)

// LogBuffer collects what a logger writes — slog.New(slog.NewTextHandler(b,
// nil)) — or any other output written from several goroutines at once,
// such as the servers of a test.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p; it never fails.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
