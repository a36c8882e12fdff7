package core_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/memstore"
)

// applyThenFail is a memory store whose next write to the armed ID
// applies and then reports an error, as a lost reply or redisstore's
// WaitReplicas does.
type applyThenFail struct {
	*memstore.Store
	armed atomic.Pointer[string]
}

var errAppliedAnyway = errors.New("applied, but the reply was lost")

// fire reports whether this write to id is the armed one.
func (s *applyThenFail) fire(id string) bool {
	p := s.armed.Load()
	return p != nil && *p == id && s.armed.CompareAndSwap(p, nil)
}

func (s *applyThenFail) Swap(ctx context.Context, id string, old, data []byte, expiry time.Time) (bool, error) {
	ok, err := s.Store.Swap(ctx, id, old, data, expiry)
	if err == nil && ok && s.fire(id) {
		return false, errAppliedAnyway
	}
	return ok, err
}

func (s *applyThenFail) Write(ctx context.Context, id string, data []byte, expiry time.Time) error {
	err := s.Store.Write(ctx, id, data, expiry)
	if err == nil && s.fire(id) {
		return errAppliedAnyway
	}
	return err
}

func (s *applyThenFail) Lock(ctx context.Context, id string) (core.Lock, error) {
	l, err := s.Store.Lock(ctx, id)
	if err != nil {
		return nil, err
	}
	return &applyThenFailLock{l: l, s: s, id: id}, nil
}

type applyThenFailLock struct {
	l  core.Lock
	s  *applyThenFail
	id string
}

func (l *applyThenFailLock) Unlock(ctx context.Context) error { return l.l.Unlock(ctx) }

func (l *applyThenFailLock) Read(ctx context.Context) ([]byte, bool, error) {
	return l.l.(core.LockedReader).Read(ctx)
}

func (l *applyThenFailLock) Write(ctx context.Context, data []byte, expiry time.Time) error {
	err := l.l.(core.LockedWriter).Write(ctx, data, expiry)
	if err == nil && l.s.fire(l.id) {
		return errAppliedAnyway
	}
	return err
}

// TestFailedRegenerateKeepsTheSession: a login (Regenerate) whose forward
// write applied but reported an error answers 503, so the client keeps its
// old cookie; that cookie must still open the session (a 5xx is "not
// applied"), not a forward to the abandoned new record.
func TestFailedRegenerateKeepsTheSession(t *testing.T) {
	for _, locking := range []bool{false, true} {
		store := &applyThenFail{Store: memstore.New(memstore.Options{})}
		m, err := core.New(store, core.Config{Keys: [][]byte{testKey}, Locking: locking, Cookie: core.CookieConfig{Insecure: true}, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		counterRoutes(mux)
		mux.HandleFunc("/relogin", func(w http.ResponseWriter, r *http.Request) {
			s, _ := core.FromContext(r.Context())
			id := s.ID()
			store.armed.Store(&id) // the forward is the next write to the old ID
			s.Regenerate()
			io.WriteString(w, "ok")
		})
		srv := httptest.NewServer(m.Handler(mux))
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
		get := func(path string) (int, string) {
			res, err := c.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res.StatusCode, strings.TrimSpace(string(b))
		}
		if code, _ := get("/login"); code != 200 {
			t.Fatalf("login: %d", code)
		}
		if code, body := get("/relogin"); code != http.StatusServiceUnavailable {
			t.Fatalf("locking=%v: a regeneration whose forward write failed answered %d %q, want 503", locking, code, body)
		}
		if code, body := get("/user"); code != 200 || body != "alice" {
			t.Fatalf("locking=%v: after the failed regeneration the old cookie gives %d %q, want the session (alice)", locking, code, body)
		}
		srv.Close()
		m.Close()
	}
}
