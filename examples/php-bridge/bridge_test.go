package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/storetest"
)

// The tests run the PHP application under the real PHP (php -S, with
// php/files.ini or php/redis.ini) and the Go service (httptest) on
// 127.0.0.1, on two ports: one cookie jar shares PHPSESSID between them,
// as a browser would for two services on one host.

// TestMain keeps the Go service's expected errors (lock timeouts, records
// it cannot decode) out of the test output, and fails the run if any test
// leaves a goroutine behind (servers, Redis clients, Managers).
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	goleak.VerifyTestMain(m)
}

// stores are the two ways PHP and Go share sessions.
var stores = []string{"files", "redis"}

// setup says how to start a bridge.
type setup struct {
	store       string // "files" or "redis"
	handler     string // session.serialize_handler on both sides (default "php")
	goHandler   string // the Go side's, when it must differ from PHP's
	lockTimeout time.Duration
	phpFlags    []string // more -d flags for php -S
}

// bridge is a PHP application and a Go service sharing one store, and a
// client holding one cookie jar for both.
type bridge struct {
	t      *testing.T
	store  string
	phpURL string
	goURL  string
	client *http.Client
	jar    *cookiejar.Jar
	m      *core.Manager
	cfg    settings      // the Go side's settings
	php    string        // the php binary
	phpEnv []string      // what php.ini reads from the environment
	dir    string        // files: the session directory
	redis  *redis.Client // redis: for checking keys
}

// phpBinary returns the path of php. Without it (or without phpredis when
// the test needs it) the test cannot run: outside CI it skips loudly, in CI
// it fails.
func phpBinary(t *testing.T, store string) string {
	t.Helper()
	path, err := exec.LookPath("php")
	msg := "php (php-cli) is not on PATH"
	if err == nil && store == "redis" {
		msg = "php has no redis extension (php-redis)"
		err = exec.Command(path, "-c", "php/redis.ini", "-r", `exit(extension_loaded("redis") ? 0 : 1);`).Run()
	}
	if err == nil {
		return path
	}
	msg += ", so the PHP bridge tests cannot run (scripts/services.sh installs php-cli and php-redis)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip("SKIPPING: " + msg)
	return ""
}

func newBridge(t *testing.T, s setup) *bridge {
	t.Helper()
	php := phpBinary(t, s.store)
	if s.handler == "" {
		s.handler = "php"
	}
	if s.goHandler == "" {
		s.goHandler = s.handler
	}
	if s.lockTimeout == 0 {
		s.lockTimeout = 10 * time.Second
	}
	b := &bridge{t: t, store: s.store}
	cfg := settings{Store: s.store, SerializeHandler: s.goHandler, GCMaxLifetime: 1440 * time.Second, LockTimeout: s.lockTimeout}
	env := []string{"PHP_CLI_SERVER_WORKERS=4"} // PHP requests run in parallel too
	switch s.store {
	case "files":
		b.dir = t.TempDir()
		for _, c := range "0123456789abcdef" { // depth 1 needs them: PHP does not create them (mod_files.sh does)
			if err := os.Mkdir(filepath.Join(b.dir, string(c)), 0o700); err != nil {
				t.Fatal(err)
			}
		}
		cfg.SavePath = "1;0600;" + b.dir
		env = append(env, "PHP_BRIDGE_SAVE_PATH="+cfg.SavePath)
	case "redis":
		cfg.RedisAddr = storetest.RequireEnv(t, "SESSIONKIT_REDIS_ADDR")
		b.redis = redis.NewClient(&redis.Options{Addr: cfg.RedisAddr})
		t.Cleanup(func() { b.redis.Close() })
		env = append(env, "PHP_BRIDGE_REDIS="+cfg.RedisAddr)
	}
	b.php, b.phpEnv = php, env

	m, done, err := newManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler(routes()))
	t.Cleanup(func() {
		srv.Close()
		m.Close()
		done()
	})
	b.goURL, b.m, b.cfg = srv.URL, m, cfg
	b.phpURL = startPHP(t, php, env, append([]string{"-c", "php/" + s.store + ".ini", "-d", "session.serialize_handler=" + s.handler}, s.phpFlags...))

	b.jar, err = cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	b.client = &http.Client{Jar: b.jar, Timeout: 30 * time.Second}
	return b
}

// startPHP runs php -S on a free port of 127.0.0.1 with the application in
// php/ until the test ends, and returns its URL.
func startPHP(t *testing.T, php string, env, args []string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(php, append([]string{"-S", addr, "-t", "php"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var out storetest.LogBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its workers too are stopped at the end
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		if t.Failed() {
			t.Logf("php -S output:\n%s", out.String())
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return "http://" + addr
		}
		select {
		case <-exited:
			t.Fatalf("php -S exited: %s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("php -S is not listening on %s after 10 s: %v\n%s", addr, err, out.String())
		}
	}
}

// do sends a request (a POST when form is not nil) and returns the status
// and body. It is safe for concurrent use; errors come back, not t.Fatal.
func (b *bridge) do(base, path string, form url.Values) (int, string, error) {
	var res *http.Response
	var err error
	if form != nil {
		res, err = b.client.PostForm(base+path, form)
	} else {
		res, err = b.client.Get(base + path)
	}
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return res.StatusCode, string(body), err
}

// expect sends a request and checks that it answers 200 with want.
func (b *bridge) expect(base, path string, form url.Values, want string) {
	b.t.Helper()
	b.expectStatus(base, path, form, http.StatusOK, want)
}

func (b *bridge) expectStatus(base, path string, form url.Values, status int, want string) {
	b.t.Helper()
	code, body, err := b.do(base, path, form)
	if err != nil {
		b.t.Fatalf("%s%s: %v", base, path, err)
	}
	if code != status || body != want {
		b.t.Fatalf("%s%s: %d %q, want %d %q", base, path, code, body, status, want)
	}
}

// id returns the PHPSESSID the jar holds, "" if none.
func (b *bridge) id() string {
	u, _ := url.Parse(b.goURL)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == "PHPSESSID" {
			return c.Value
		}
	}
	return ""
}

// raw returns the stored bytes of session id, and whether they exist:
// PHP's file (dir/<first character>/sess_<id>) or phpredis' key.
func (b *bridge) raw(id string) ([]byte, bool) {
	b.t.Helper()
	switch b.store {
	case "files":
		data, err := os.ReadFile(filepath.Join(b.dir, id[:1], "sess_"+id))
		if errors.Is(err, os.ErrNotExist) {
			return nil, false
		}
		if err != nil {
			b.t.Fatal(err)
		}
		return data, true
	default:
		data, err := b.redis.Get(context.Background(), "PHPREDIS_SESSION:"+id).Bytes()
		if errors.Is(err, redis.Nil) {
			return nil, false
		}
		if err != nil {
			b.t.Fatal(err)
		}
		return data, true
	}
}

// mustExist fails unless session id is stored.
func (b *bridge) mustExist(id, when string) {
	b.t.Helper()
	if id == "" {
		b.t.Fatalf("%s: the jar holds no PHPSESSID", when)
	}
	if _, ok := b.raw(id); !ok {
		b.t.Fatalf("%s: session %s is gone from the %s store", when, id, b.store)
	}
}

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// TestSharedLogin: an anonymous cart Go started is PHP's too and survives
// PHP's login; PHP's login is Go's; Go fills the cart and PHP sees it; each
// side's flash message is shown once by the other; the session stays in
// the store through all of it, under one ID; a logout on either side is a
// logout on both, and the old cookie opens nothing.
func TestSharedLogin(t *testing.T) {
	for _, store := range stores {
		for _, side := range []string{"PHP", "Go"} {
			t.Run(store+"/LogoutOn"+side, func(t *testing.T) {
				b := newBridge(t, setup{store: store})
				php, goURL := b.phpURL, b.goURL

				b.expect(goURL, "/whoami", nil, "user: anonymous\n")
				b.expect(goURL, "/cart", form("item", "book"), "cart: 1 items\n")
				anon := b.id()
				b.mustExist(anon, "after Go started a session")
				b.expect(php, "/cart.php", nil, "user: anonymous\ncart: book\n")
				if b.id() != anon {
					t.Fatalf("PHP replaced Go's session %s by %s", anon, b.id())
				}
				b.mustExist(anon, "after PHP read Go's session")

				b.expect(php, "/login.php", form("user", "alice"), "logged in as alice\n")
				id := b.id()
				if id == anon {
					t.Fatal("PHP's login kept the anonymous session's ID")
				}
				b.mustExist(id, "after PHP's login")
				b.expect(goURL, "/whoami", nil, "user: alice\ncart: book\n")
				b.expect(goURL, "/cart", form("item", "pen"), "cart: 2 items\n")
				b.expect(php, "/cart.php", nil, "user: alice\ncart: book\ncart: pen\n")
				b.mustExist(id, "after Go's writes and PHP's read")

				b.expect(goURL, "/flash", form("msg", "added to cart"), "flash added\n")
				b.expect(php, "/flash.php", nil, "flash: added to cart\n")
				b.expect(php, "/flash.php", nil, "")
				b.expect(goURL, "/flash", nil, "")
				b.expect(php, "/flash.php", form("msg", "from PHP"), "flash added\n")
				b.expect(goURL, "/flash", nil, "flash: from PHP\n")
				b.expect(goURL, "/flash", nil, "")
				b.expect(php, "/flash.php", nil, "")
				b.mustExist(id, "after the flashes")
				if b.id() != id {
					t.Fatalf("the session ID changed from %s to %s without a login", id, b.id())
				}
				b.expect(goURL, "/whoami", nil, "user: alice\ncart: book\ncart: pen\n")

				if side == "PHP" {
					b.expect(php, "/logout.php", form(), "logged out\n")
				} else {
					b.expect(goURL, "/logout", form(), "logged out\n")
				}
				if _, ok := b.raw(id); ok {
					t.Fatalf("session %s still stored after the logout on %s", id, side)
				}
				if got := b.id(); got != "" {
					t.Fatalf("the logout on %s left the cookie %s", side, got)
				}
				b.expect(goURL, "/whoami", nil, "user: anonymous\n")
				b.expect(php, "/cart.php", nil, "user: anonymous\n")

				// The old cookie, replayed, opens nothing on either side
				// (strict mode on both).
				u, _ := url.Parse(b.goURL)
				b.jar.SetCookies(u, []*http.Cookie{{Name: "PHPSESSID", Value: id, Path: "/"}})
				b.expect(goURL, "/whoami", nil, "user: anonymous\n")
				b.expect(php, "/cart.php", nil, "user: anonymous\n")
				if b.id() == id {
					t.Fatal("PHP kept the replayed ID of a logged-out session")
				}
				if _, ok := b.raw(id); ok {
					t.Fatal("the replayed ID of a logged-out session was stored again")
				}
			})
		}
	}
}

// TestCookiesMatch: the PHPSESSID cookie Go sets for a new session has the
// attributes of PHP's (php.ini's cookie_path, cookie_domain, httponly,
// samesite, secure), and so has the one each side sends at logout to
// delete it: otherwise a browser would hold two PHPSESSID cookies, or keep
// the one a logout meant to remove.
func TestCookiesMatch(t *testing.T) {
	attrs := func(c *http.Cookie) string {
		return fmt.Sprintf("path=%q domain=%q secure=%v httponly=%v samesite=%v", c.Path, c.Domain, c.Secure, c.HttpOnly, c.SameSite)
	}
	for _, store := range stores {
		t.Run(store, func(t *testing.T) {
			b := newBridge(t, setup{store: store})
			goNew := b.setCookie(b.goURL, "/cart", form("item", "book"), "")
			phpNew := b.setCookie(b.phpURL, "/login.php", form("user", "alice"), "")
			if attrs(goNew) != attrs(phpNew) || goNew.MaxAge != 0 || phpNew.MaxAge != 0 {
				t.Errorf("new session cookies differ:\nGo:  %s\nPHP: %s", goNew, phpNew)
			}
			goDel := b.setCookie(b.goURL, "/logout", form(), goNew.Value)
			phpDel := b.setCookie(b.phpURL, "/logout.php", form(), phpNew.Value)
			if attrs(goDel) != attrs(phpDel) || goDel.MaxAge >= 0 || phpDel.MaxAge >= 0 {
				t.Errorf("logout cookies differ or delete nothing:\nGo:  %s\nPHP: %s", goDel, phpDel)
			}
			if attrs(goDel) != attrs(goNew) {
				t.Errorf("Go's logout cookie %s does not delete its own %s", goDel, goNew)
			}
		})
	}
}

// setCookie sends a request without the jar, presenting PHPSESSID=id
// unless id is "", and returns the PHPSESSID cookie the response sets.
func (b *bridge) setCookie(base, path string, f url.Values, id string) *http.Cookie {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(f.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.AddCookie(&http.Cookie{Name: "PHPSESSID", Value: id})
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	for _, c := range res.Cookies() {
		if c.Name == "PHPSESSID" {
			return c
		}
	}
	b.t.Fatalf("%s%s: %d, no PHPSESSID cookie in %q", base, path, res.StatusCode, res.Header.Values("Set-Cookie"))
	return nil
}

// TestSerializeHandlers: with each of PHP's session.serialize_handler
// formats, values PHP stores through session_start() reach Go with their
// types, and values Go stores reach PHP with theirs.
func TestSerializeHandlers(t *testing.T) {
	const fromPHP = `*phpcodec.Array{"int": int64(42), "float": float64(0.30000000000000004), "bool": bool(true), "null": nil, ` +
		`"string": string("a \"quoted\" | string; with: separators"), "list": []any{string("a"), string("b")}, ` +
		`"map": *phpcodec.Array{"k": string("v"), 7: string("seven")}}` + "\n"
	const fromGo = `['bool' => bool(false), 'float' => float(3.141592653589793), 'int' => int(42), ` +
		`'list' => [0 => string('x'), 1 => string('y')], 'map' => ['k' => string('v')], 'nil' => null, ` +
		`'string' => string('a "quoted" | string')]` + "\n"
	// How each format starts the record, with sessionkit's metadata first
	// (Go writes keys in sorted order).
	prefix := map[string]string{
		"php":           "__sessionkit|s:",
		"php_serialize": `a:4:{s:12:"__sessionkit";s:`,
		"php_binary":    "\x0c__sessionkits:",
	}
	for _, store := range stores {
		for _, handler := range []string{"php", "php_serialize", "php_binary"} {
			t.Run(store+"/"+handler, func(t *testing.T) {
				b := newBridge(t, setup{store: store, handler: handler})
				b.expect(b.phpURL, "/login.php", form("user", "alice"), "logged in as alice\n")
				id := b.id()
				b.expect(b.goURL, "/whoami", nil, "user: alice\n")
				b.expect(b.phpURL, "/types.php", form(), "set\n")
				b.expect(b.goURL, "/types", nil, fromPHP)
				b.expect(b.goURL, "/types", form(), "set\n")
				b.expect(b.phpURL, "/types.php", nil, fromGo)
				b.expect(b.goURL, "/types", nil, fromPHP)
				raw, ok := b.raw(id)
				if !ok || !strings.HasPrefix(string(raw), prefix[handler]) {
					t.Fatalf("stored %q (found %v), want %s's format starting %q", raw, ok, handler, prefix[handler])
				}
				if b.id() != id {
					t.Fatal("the session ID changed")
				}
			})
		}
	}
}

// TestConcurrentCounter: 50 PHP requests and 50 Go requests increment one
// session's counter at the same time, eight at a time, with each side
// locking the session: every run ends at exactly 100, on both sides.
func TestConcurrentCounter(t *testing.T) {
	const runs, each, clients = 10, 50, 8
	for _, store := range stores {
		t.Run(store, func(t *testing.T) {
			b := newBridge(t, setup{store: store})
			results := make([]string, runs)
			for run := range runs {
				b.expect(b.phpURL, "/login.php", form("user", fmt.Sprint("run", run)), fmt.Sprintf("logged in as run%d\n", run))
				id := b.id()
				jobs := make(chan string, 2*each)
				for range each {
					jobs <- b.phpURL + "/counter.php"
					jobs <- b.goURL + "/counter"
				}
				close(jobs)
				var wg sync.WaitGroup
				errs := make(chan error, clients)
				for range clients {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for u := range jobs {
							code, body, err := b.do(u, "", form())
							if err == nil && code != http.StatusOK {
								err = fmt.Errorf("%s: %d %q", u, code, body)
							}
							if err != nil {
								errs <- err
								return
							}
						}
					}()
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Fatalf("run %d: %v", run, err)
				}
				_, goN, _ := b.do(b.goURL, "/counter", nil)
				_, phpN, _ := b.do(b.phpURL, "/counter.php", nil)
				results[run] = strings.TrimSpace(goN)
				if goN != "100\n" || phpN != "100\n" {
					t.Errorf("run %d: Go counts %q, PHP %q; want 100 on both", run, goN, phpN)
				}
				b.mustExist(id, "after the increments")
				b.expect(b.goURL, "/logout", form(), "logged out\n")
			}
			t.Logf("%s: %d runs of %d PHP + %d Go concurrent increments ended at %s", store, runs, each, each, strings.Join(results, ", "))
		})
	}
}

// TestUndecodableSessionLeftAlone: a session Go cannot decode — PHP wrote
// it with another serialize_handler than Go's, or it holds no session at
// all — fails Go's requests (500) and stays as it is: Go neither replaces
// nor deletes PHP's data, nor PHP's cookie, and releases its lock.
func TestUndecodableSessionLeftAlone(t *testing.T) {
	for _, store := range stores {
		t.Run(store, func(t *testing.T) {
			b := newBridge(t, setup{store: store, handler: "php_serialize", goHandler: "php"})
			b.expect(b.phpURL, "/login.php", form("user", "alice"), "logged in as alice\n")
			id := b.id()
			written, _ := b.raw(id)
			const fail = "Internal Server Error\n"
			b.expectStatus(b.goURL, "/whoami", nil, http.StatusInternalServerError, fail)
			b.expectStatus(b.goURL, "/cart", form("item", "book"), http.StatusInternalServerError, fail)
			b.expectStatus(b.goURL, "/flash", nil, http.StatusInternalServerError, fail)
			if got, ok := b.raw(id); !ok || !bytes.Equal(got, written) || b.id() != id {
				t.Fatalf("after Go's failed requests: stored %q (found %v), cookie %s; want %q under %s", got, ok, b.id(), written, id)
			}
			b.expect(b.phpURL, "/cart.php", nil, "user: alice\n")

			// Bytes that are no session in any format.
			garbage := []byte("\x00not a session\xff")
			switch store {
			case "files":
				if err := os.WriteFile(filepath.Join(b.dir, id[:1], "sess_"+id), garbage, 0o600); err != nil {
					t.Fatal(err)
				}
			case "redis":
				if err := b.redis.Set(context.Background(), "PHPREDIS_SESSION:"+id, garbage, time.Hour).Err(); err != nil {
					t.Fatal(err)
				}
			}
			b.expectStatus(b.goURL, "/cart", form("item", "book"), http.StatusInternalServerError, fail)
			if got, ok := b.raw(id); !ok || !bytes.Equal(got, garbage) || b.id() != id {
				t.Fatalf("after Go's failed request: stored %q (found %v), cookie %s; want %q under %s", got, ok, b.id(), garbage, id)
			}
		})
	}
}

// TestLockTimeouts: while a PHP request holds the session, Go's requests
// wait at most LockTimeout and answer 503, and go through once PHP is done. While Go
// holds it, PHP waits: on Redis lock_retries × lock_wait_time, then
// session.php answers 503 without writing; on files as long as it takes.
func TestLockTimeouts(t *testing.T) {
	const lockTimeout = 300 * time.Millisecond
	for _, store := range stores {
		t.Run(store, func(t *testing.T) {
			// 20 × 10 ms: PHP gives up on a lock after about 200 ms.
			b := newBridge(t, setup{store: store, lockTimeout: lockTimeout,
				phpFlags: []string{"-d", "redis.session.lock_retries=20", "-d", "redis.session.lock_wait_time=10000"}})
			b.expect(b.phpURL, "/login.php", form("user", "alice"), "logged in as alice\n")
			id := b.id()

			// A PHP request (the CLI, with the same php.ini) holds the
			// session until its stdin closes, then sets n = 7.
			release := b.holdInPHP(id, `$_SESSION["n"] = 7;`)
			start := time.Now()
			b.expectStatus(b.goURL, "/counter", form(), http.StatusServiceUnavailable, "Service Unavailable\n")
			if waited := time.Since(start); waited < lockTimeout || waited > 5*time.Second {
				t.Fatalf("Go answered 503 after %v, want LockTimeout (%v) and not much more", waited, lockTimeout)
			}
			b.expectStatus(b.goURL, "/whoami", nil, http.StatusServiceUnavailable, "Service Unavailable\n")
			release()
			b.expect(b.goURL, "/counter", form(), "8\n")

			// Go holds the session's lock, as a Go request on another Go
			// server over the same files or Redis would.
			other, closeOther, err := newStore(b.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer closeOther()
			ctx := context.Background()
			lock, err := other.(core.Locker).Lock(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan string, 1)
			start = time.Now()
			go func() {
				code, body, err := b.do(b.phpURL, "/counter.php", form())
				done <- fmt.Sprint(code, " ", strings.TrimSpace(body), " ", err)
			}()
			switch store {
			case "redis":
				select {
				case got := <-done:
					if want := "503 session unavailable <nil>"; got != want {
						t.Fatalf("PHP on a session Go holds: %q, want %q", got, want)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("PHP still waits for Go's lock after 10 s, with lock_retries × lock_wait_time = 200 ms")
				}
				if waited := time.Since(start); waited < 150*time.Millisecond {
					t.Fatalf("PHP gave up after %v, before lock_retries × lock_wait_time", waited)
				}
				if held, _ := b.redis.Exists(ctx, "PHPREDIS_SESSION:"+id+"_LOCK").Result(); held != 1 {
					t.Fatal("PHP's failed attempt removed Go's lock")
				}
				lock.Unlock(ctx)
				b.expect(b.goURL, "/counter", nil, "8\n")
				b.expect(b.phpURL, "/counter.php", form(), "9\n")
			case "files":
				select {
				case got := <-done:
					t.Fatalf("PHP did not wait for Go's flock: %q", got)
				case <-time.After(500 * time.Millisecond):
				}
				lock.Unlock(ctx)
				if got := <-done; got != "200 9 <nil>" {
					t.Fatalf("PHP once Go let go: %q, want 200 9", got)
				}
			}
			b.mustExist(id, "after the lock waits")
		})
	}
}

// holdInPHP runs a PHP request on session id in the CLI, with the
// bridge's php.ini, and returns once it holds the session's lock. The
// request runs code and ends when the returned release is called.
func (b *bridge) holdInPHP(id, code string) (release func()) {
	b.t.Helper()
	ini := "php/" + b.store + ".ini"
	cmd := exec.Command(b.php, "-c", ini, "-d", "session.use_cookies=0", "-d", "display_errors=stderr",
		"-r", `session_id($argv[1]); session_start(); echo "locked\n"; fgets(STDIN); `+code, "--", id)
	cmd.Env = append(os.Environ(), b.phpEnv...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.t.Fatal(err)
	}
	var stderr storetest.LogBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			stdin.Close()
			if err := cmd.Wait(); err != nil || stderr.String() != "" {
				b.t.Errorf("php holding the session: %v %s", err, stderr.String())
			}
		})
	}
	b.t.Cleanup(release)
	line := make(chan string, 1)
	go func() {
		buf := make([]byte, len("locked\n"))
		n, _ := io.ReadFull(stdout, buf)
		line <- string(buf[:n])
	}()
	select {
	case got := <-line:
		if got != "locked\n" {
			b.t.Fatalf("php did not lock the session: %q %s", got, stderr.String())
		}
	case <-time.After(10 * time.Second):
		b.t.Fatal("php did not lock the session within 10 s")
	}
	return release
}
