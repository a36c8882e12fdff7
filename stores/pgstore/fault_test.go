package pgstore

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/storetest"
)

// The fault tests: a crash of the database leaves no lock and no goroutine
// behind, and a locked write whose COMMIT reply is lost reports exactly
// what happened — nil when it committed, an error when it did not and
// never will.

// faultConn is a client connection that can lose the server's reply to the
// next batch, or never deliver that batch. A batch is recognised by its
// Execute message.
type faultConn struct {
	net.Conn

	mu sync.Mutex
	// armed says what happens to the next batch: "" nothing, "replyLost"
	// (the server runs it, the client sees the connection break),
	// "partition" (the batch and everything after it never reaches the
	// server, whose side of the connection stays open and idle, like a
	// network that stopped delivering), "before" and "after" (hook runs
	// before the batch is sent, or once it is).
	armed     string
	hook      func()
	executing bool           // replyLost: the batch was sent
	cut       bool           // partition: nothing passes any more
	onHeld    func(net.Conn) // keeps a partitioned connection for the test to close
}

func (c *faultConn) arm(mode string, hook func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed, c.hook = mode, hook
}

// hasExecute reports whether p, which starts at a message boundary (pgx
// flushes whole messages), holds an Execute message.
func hasExecute(p []byte) bool {
	for len(p) >= 5 {
		if p[0] == 'E' {
			return true
		}
		n := int(binary.BigEndian.Uint32(p[1:5])) + 1
		if n <= 0 || n > len(p) {
			return false
		}
		p = p[n:]
	}
	return false
}

func (c *faultConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	mode, hook := c.armed, c.hook
	if c.cut {
		c.mu.Unlock()
		return len(p), nil
	}
	batch := mode != "" && hasExecute(p)
	if batch {
		c.armed, c.hook = "", nil
		switch mode {
		case "partition":
			c.cut = true
			c.mu.Unlock()
			return len(p), nil
		case "replyLost":
			c.executing = true
		}
	}
	c.mu.Unlock()
	if batch && mode == "before" {
		hook()
	}
	n, err := c.Conn.Write(p)
	if batch && mode == "after" {
		hook()
	}
	return n, err
}

func (c *faultConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	executing, cut := c.executing, c.cut
	c.executing = false
	c.mu.Unlock()
	switch {
	case cut:
		return 0, os.ErrDeadlineExceeded
	case executing:
		// Let the server answer the whole batch (its one Sync ends in
		// ReadyForQuery), then break the connection before the client
		// sees a byte of it.
		drainUntilReady(c.Conn)
		c.Conn.Close()
		return 0, io.ErrUnexpectedEOF
	}
	return c.Conn.Read(p)
}

// Close leaves a partitioned connection open on the server's side: the
// server process does not learn that the client went away.
func (c *faultConn) Close() error {
	c.mu.Lock()
	cut := c.cut
	c.mu.Unlock()
	if cut {
		c.onHeld(c.Conn)
		return nil
	}
	return c.Conn.Close()
}

// drainUntilReady reads server messages up to and including the next
// ReadyForQuery.
func drainUntilReady(conn net.Conn) {
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	var hdr [5]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		if _, err := r.Discard(int(binary.BigEndian.Uint32(hdr[1:])) - 4); err != nil {
			return
		}
		if hdr[0] == 'Z' {
			return
		}
	}
}

// faultPool returns a pool of dsn whose connections are faultConns, and a
// function that returns the faultConn under a held lock.
func faultPool(t *testing.T, dsn string) (*pgxpool.Pool, func(core.Lock) *faultConn) {
	t.Helper()
	var (
		mu   sync.Mutex
		held []net.Conn
	)
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	onHeld := func(c net.Conn) {
		mu.Lock()
		held = append(held, c)
		mu.Unlock()
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	var d net.Dialer
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &faultConn{Conn: c, onHeld: onHeld}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	of := func(l core.Lock) *faultConn {
		t.Helper()
		fc, ok := l.(*lock).conn.Conn().PgConn().Conn().(*faultConn)
		if !ok {
			t.Fatalf("the lock's connection is a %T, not a faultConn", l.(*lock).conn.Conn().PgConn().Conn())
		}
		return fc
	}
	return pool, of
}

// lockAtOnce takes id's lock, which must be free: it fails the test if
// that takes longer than a second.
func lockAtOnce(ctx context.Context, t *testing.T, s *Store, id string) core.Lock {
	t.Helper()
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	l, err := s.Lock(short, id)
	if err != nil {
		t.Fatalf("Lock of a session nobody holds: %v", err)
	}
	return l
}

// TestLockedWriteReplyLost: a locked write whose reply is lost after the
// server committed it reports nil; one that never reached the server,
// whose server process sits idle in its transaction as behind a broken
// network, reports an error, and the process is ended so that the write
// can never commit later. Either way the lock is free at once.
func TestLockedWriteReplyLost(t *testing.T) {
	pool, faultOf := faultPool(t, storetest.RequireEnv(t, "SESSIONKIT_PG_DSN"))
	s := newStore(t, pool, Options{})
	ctx := storetest.Context(t)
	exp := time.Now().Add(time.Hour)
	tests := []struct {
		mode    string
		applied bool
	}{
		{"replyLost", true},
		{"partition", false},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			id := storetest.NewID(t)
			if err := s.Write(ctx, id, []byte("old"), exp); err != nil {
				t.Fatal(err)
			}
			l := mustLock(ctx, t, s, id)
			faultOf(l).arm(tt.mode, nil)
			err := l.(core.LockedWriter).Write(ctx, []byte("new"), exp)
			switch {
			case tt.applied && err != nil:
				t.Fatalf("Write that committed but lost its reply: %v, want nil", err)
			case !tt.applied && (err == nil || strings.Contains(err.Error(), "unknown")):
				t.Fatalf("Write that never reached the server: %v, want an error", err)
			}
			want := map[bool]string{true: "new", false: "old"}[tt.applied]
			wantRecord(ctx, t, s, id, want)
			if err := l.Unlock(ctx); err != nil {
				t.Fatal(err)
			}
			lockAtOnce(ctx, t, s, id).Unlock(ctx)
			wantRecord(ctx, t, s, id, want)
		})
	}
}

// TestCrashWhileLocked crashes the test's own PostgreSQL (immediate stop:
// every server process dies at once) three times while requests hold
// session locks and others wait for them, then restarts it. The holders'
// writes fail and say so (nothing committed), the waiters give up or get
// the lock after the restart, and a new request for each of those
// sessions gets its lock at once. No goroutine outlives it all: the pool's
// own are the only ones left.
func TestCrashWhileLocked(t *testing.T) {
	srv := startPostgres(t)
	pool := srv.pool(t, func(cfg *pgxpool.Config) { cfg.MaxConns = 20 })
	s, err := New(pool, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := storetest.Context(t)
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	const sessions = 4
	ids := make([]string, sessions)
	for i := range ids {
		ids[i] = storetest.NewID(t)
		if err := s.Write(ctx, ids[i], []byte("v0"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	baseline := goleak.IgnoreCurrent()

	for round := 1; round <= 3; round++ {
		// Each holder and waiter is a request with a context of its own,
		// cancelled when the request ends, as net/http does.
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			waited  []error
			written []error
		)
		holders := make([]core.Lock, sessions)
		reqs := make([]context.Context, sessions)
		ends := make([]context.CancelFunc, sessions)
		for i, id := range ids {
			reqs[i], ends[i] = context.WithCancel(ctx)
			holders[i] = mustLock(reqs[i], t, s, id)
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				l, err := s.Lock(req, id)
				if err == nil {
					l.Unlock(req)
				}
				mu.Lock()
				waited = append(waited, err)
				mu.Unlock()
			}()
		}
		time.Sleep(100 * time.Millisecond) // the waiters wait inside the server

		srv.crash(t)
		for i, l := range holders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer ends[i]()
				err := l.(core.LockedWriter).Write(reqs[i], []byte("lost"), time.Now().Add(time.Hour))
				l.Unlock(reqs[i])
				mu.Lock()
				written = append(written, err)
				mu.Unlock()
			}()
		}
		time.Sleep(300 * time.Millisecond) // the writes find the server gone
		srv.start(t)
		back := time.Now()

		// New requests for the same sessions, as soon as the server is back.
		var worst time.Duration
		for _, id := range ids {
			l := lockAtOnce(ctx, t, s, id)
			worst = max(worst, time.Since(back))
			if err := l.Unlock(ctx); err != nil {
				t.Fatal(err)
			}
		}
		wg.Wait()
		for _, id := range ids {
			wantRecord(ctx, t, s, id, "v0")
		}
		for _, err := range written {
			if err == nil {
				t.Fatalf("round %d: a write to a crashed server reported success", round)
			}
		}
		t.Logf("round %d: every session locked within %v of the restart; the holders' writes failed (%v), the waiters ended (%v)",
			round, worst.Round(time.Millisecond), written[0], waited)
	}
	goleak.VerifyNone(t, baseline)
}

// TestCrashDuringWrite crashes the test's own PostgreSQL just before a
// locked write reaches it, or just after, and restarts it while the store
// finds out what became of the write: whatever Write reports is what the
// database holds.
func TestCrashDuringWrite(t *testing.T) {
	srv := startPostgres(t)
	pool, faultOf := faultPool(t, srv.dsn())
	s, err := New(pool, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := storetest.Context(t)
	exp := time.Now().Add(time.Hour)
	tests := []struct {
		when string // "before" or "after" the batch is sent
		want string // what the record must hold; "" either
	}{
		{"before", "old"},
		{"after", ""},
		{"before", "old"},
		{"after", ""},
	}
	for _, tt := range tests {
		t.Run(tt.when, func(t *testing.T) {
			id := storetest.NewID(t)
			if err := s.Write(ctx, id, []byte("old"), exp); err != nil {
				t.Fatal(err)
			}
			l := mustLock(ctx, t, s, id)
			restarted := make(chan struct{})
			faultOf(l).arm(tt.when, func() {
				srv.crash(t)
				go func() {
					defer close(restarted)
					time.Sleep(300 * time.Millisecond)
					srv.start(t)
				}()
			})
			err := l.(core.LockedWriter).Write(ctx, []byte("new"), exp)
			<-restarted
			l.Unlock(ctx)
			pool.Reset() // connections idle since before the crash are dead
			data, _, rerr := s.Read(ctx, id)
			if rerr != nil {
				t.Fatal(rerr)
			}
			switch {
			case err != nil && strings.Contains(err.Error(), "unknown"):
				t.Fatalf("outcome unknown (%v), the record holds %q", err, data)
			case err == nil && string(data) != "new":
				t.Fatalf("Write reported success, the record holds %q", data)
			case err != nil && string(data) != "old":
				t.Fatalf("Write reported %v, the record holds %q", err, data)
			case tt.want != "" && string(data) != tt.want:
				t.Fatalf("Write reported %v, the record holds %q, want %q", err, data, tt.want)
			}
			t.Logf("crash %s the batch: Write reported %v, the record holds %q", tt.when, err, data)
			lockAtOnce(ctx, t, s, id).Unlock(ctx)
		})
	}
}
