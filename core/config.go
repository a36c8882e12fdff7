package core

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Config configures a Manager. Its zero value is the secure default: signed
// __Host- cookie, HttpOnly, Secure, SameSite=Lax, 258-bit IDs, 30-minute
// idle and 12-hour absolute timeouts, strict mode, lazy load/create/write.
// New copies the Config; changing it afterwards has no effect.
type Config struct {
	// Keys sign the session token with HMAC-SHA256 (gorilla/securecookie).
	// The first key signs, every key verifies: prepend a new key to rotate,
	// drop the old one after AbsoluteTimeout. Each key must be at least 32
	// bytes. Empty means one random key per Manager, which is allowed only
	// with the default in-memory store (tokens die with the process); any
	// other store needs Keys (ErrConfig from New).
	Keys [][]byte

	// Cookie sets the session cookie's name and attributes.
	Cookie CookieConfig

	// Transport chooses where the token travels (default: signed cookie).
	Transport Transport

	// HeaderName is the request/response header of TransportHeader
	// (default "Session-Token").
	HeaderName string

	// IdleTimeout ends a session not used for this long (default 30 min).
	IdleTimeout time.Duration
	// AbsoluteTimeout ends a session this long after it was created,
	// however active (default 12 h). Regenerate keeps the deadline.
	AbsoluteTimeout time.Duration
	// RememberIdleTimeout and RememberAbsoluteTimeout replace the two for
	// sessions marked with Session.Remember (defaults 7 and 30 days); their
	// cookie is persistent.
	RememberIdleTimeout     time.Duration
	RememberAbsoluteTimeout time.Duration
	// TouchInterval throttles idle extension: an unchanged session's expiry
	// is pushed forward at most once per interval and per server (default
	// IdleTimeout/30, at most one minute). Negative touches on every request.
	TouchInterval time.Duration

	// Locking serialises concurrent requests of one session (PHP's files
	// handler behaviour) through the store's Lock capability: the session is
	// locked from its load to its final commit, so none loses an update.
	// Session.Destroy and Manager.DestroyUser take the same lock, so a
	// logout waits for a request that holds the session and that request
	// can never write it back. New fails if the store cannot lock; a store
	// whose Lock answers ErrNotSupported fails each locked request with
	// ErrConfig (500). A session opened with Session.ReadOnly takes no lock.
	Locking bool
	// LockTimeout bounds the wait for a lock, besides the request's own
	// context (default 10 s). It surfaces as ErrLockTimeout (503).
	LockTimeout time.Duration

	// RegenerateGrace keeps a regenerated session's old ID usable for this
	// long after the Regenerate, for requests that start later (PHP's
	// "destroyed timestamp" pattern: a slow tab still sending the old
	// cookie). They reach the new session's data but never learn its ID.
	// Requests already under way when the ID moved (another tab's XHR) are
	// let through too, provided they reach for their session within a second
	// of the move (plus the grace): a request held open longer — a slow
	// upload, or an attacker holding back the body of a request with a
	// planted token — finds the old token dead. Zero (the default) kills the
	// old token for every request that starts after the Regenerate.
	RegenerateGrace time.Duration

	// MaxDataSize bounds an encoded session (default 1 MiB): larger data is
	// an ErrTooLarge at commit, larger stored records are corrupt.
	MaxDataSize int

	// Codec encodes session values (default BinaryCodec).
	Codec Codec

	// PlainRecords makes the store hold exactly the Codec's bytes, as PHP's
	// session module stores them, instead of sessionkit's record (a small
	// header with the timestamps, then the codec's bytes): with a PHP codec
	// (core/phpcodec) a PHP application reads what Go writes and the other
	// way round. The metadata travels inside the data under MetaKey; idle
	// expiry is the store's own (file mtime, Redis TTL: PHP's
	// gc_maxlifetime), LastSeen is unknown (zero), and a record that does
	// not decode is left in place and fails its request (ErrCorrupt)
	// instead of being replaced. See PHPConfig.
	PlainRecords bool

	// IDLength and IDBitsPerChar shape minted IDs like PHP's sid_length and
	// sid_bits_per_character (defaults 43 and 6: 258 bits). Their product
	// must be at least 128.
	IDLength      int
	IDBitsPerChar int

	// GCInterval runs the store's GC in the background this often, for
	// stores that have one (default 10 min; negative disables).
	GCInterval time.Duration
	// GCProbability/GCDivisor also run GC after a commit with that chance,
	// like PHP's session.gc_probability/gc_divisor (default off).
	GCProbability, GCDivisor int

	// EagerLoad loads a presented session before the handler runs, so a
	// store failure stops the request before any handler code. By default
	// the session loads on first use.
	EagerLoad bool

	// AllowCaching drops the Cache-Control: no-store and Vary: Cookie
	// headers sent with every response of a request that used its session
	// (PHP's nocache session.cache_limiter).
	AllowCaching bool

	// ErrorHandler answers requests whose session failed (store down, lock
	// timeout, too large, conflict). The handler's own response headers
	// are dropped first. The default writes ErrorStatus(err) — 503 for
	// store and lock errors (ErrStore, ErrLockTimeout, ErrLockLost), 409 for
	// conflicts (ErrConflict), 413 for data over MaxDataSize (ErrTooLarge),
	// 500 otherwise (ErrConfig, …) — with its status text as the body and
	// Cache-Control: no-store.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

	// Observer, if set, is told of every session created, loaded,
	// regenerated, destroyed or expired, every token rejected, store
	// error, lock wait, conflict and oversized commit (Event). It runs on
	// the request's goroutine: keep it cheap. The otel module turns it into
	// OpenTelemetry metrics and span events.
	Observer func(ctx context.Context, e Event)

	// Logger receives rejected input and store errors (never raw IDs).
	// Default slog.Default().
	Logger *slog.Logger
}

// Transport is where the session token travels.
type Transport int

const (
	// TransportCookie is a cookie holding the ID signed with securecookie.
	TransportCookie Transport = iota
	// TransportHeader is a request/response header holding the signed ID,
	// for API clients.
	TransportHeader
	// TransportRawCookie is an unsigned cookie holding the bare ID, like
	// PHP's PHPSESSID, for sharing sessions with PHP. Strict mode is what
	// protects it: an ID the store does not know is never adopted.
	TransportRawCookie
)

// CookieConfig sets the cookie's name and attributes. The zero value is the
// secure default: __Host-sid; Path=/; Secure; HttpOnly; SameSite=Lax.
type CookieConfig struct {
	// Name defaults to "__Host-sid", or "sid" when Insecure.
	Name string
	// Path defaults to "/".
	Path string
	// Domain is empty (host-only) by default.
	Domain string
	// Insecure drops the Secure attribute, for local plain-HTTP development.
	Insecure bool
	// ScriptAccess drops HttpOnly, letting JavaScript read the token.
	ScriptAccess bool
	// SameSite defaults to Lax. SameSite=None requires Secure.
	SameSite http.SameSite
	// Partitioned sets the CHIPS attribute; it requires Secure.
	Partitioned bool
}

func (c *Config) withDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.IdleTimeout, 30*time.Minute)
	def(&c.AbsoluteTimeout, 12*time.Hour)
	def(&c.RememberIdleTimeout, 7*24*time.Hour)
	def(&c.RememberAbsoluteTimeout, 30*24*time.Hour)
	def(&c.TouchInterval, min(c.IdleTimeout/30, time.Minute))
	def(&c.LockTimeout, 10*time.Second)
	def(&c.GCInterval, 10*time.Minute)
	if c.MaxDataSize == 0 {
		c.MaxDataSize = 1 << 20
	}
	if c.Codec == nil {
		c.Codec = BinaryCodec{}
	}
	if c.IDLength == 0 {
		c.IDLength = 43
	}
	if c.IDBitsPerChar == 0 {
		c.IDBitsPerChar = 6
	}
	if c.HeaderName == "" {
		c.HeaderName = "Session-Token"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	ck := &c.Cookie
	if ck.Name == "" {
		ck.Name = "__Host-sid"
		if ck.Insecure {
			ck.Name = "sid"
		}
		if c.Transport == TransportRawCookie {
			ck.Name = "PHPSESSID"
		}
	}
	if ck.Path == "" {
		ck.Path = "/"
	}
	if ck.SameSite == 0 {
		ck.SameSite = http.SameSiteLaxMode
	}
}

func (c *Config) validate() error {
	for i, k := range c.Keys {
		if len(k) < 32 {
			return errorf(ErrConfig, "Keys[%d] is %d bytes; signing keys need at least 32", i, len(k))
		}
	}
	for name, d := range map[string]time.Duration{
		"IdleTimeout": c.IdleTimeout, "AbsoluteTimeout": c.AbsoluteTimeout,
		"RememberIdleTimeout": c.RememberIdleTimeout, "RememberAbsoluteTimeout": c.RememberAbsoluteTimeout,
		"LockTimeout": c.LockTimeout,
	} {
		if d < 0 {
			return errorf(ErrConfig, "%s is negative", name)
		}
	}
	if c.RegenerateGrace < 0 {
		return errorf(ErrConfig, "RegenerateGrace is negative")
	}
	if c.IdleTimeout > c.AbsoluteTimeout {
		return errorf(ErrConfig, "IdleTimeout %v exceeds AbsoluteTimeout %v", c.IdleTimeout, c.AbsoluteTimeout)
	}
	if c.MaxDataSize < 0 {
		return errorf(ErrConfig, "MaxDataSize is negative")
	}
	if c.GCProbability < 0 || c.GCDivisor < 0 || c.GCProbability > 0 && c.GCDivisor == 0 {
		return errorf(ErrConfig, "GCProbability needs a positive GCDivisor")
	}
	if c.Transport < TransportCookie || c.Transport > TransportRawCookie {
		return errorf(ErrConfig, "unknown Transport %d", c.Transport)
	}
	if !validHeaderName(c.HeaderName) {
		return errorf(ErrConfig, "HeaderName %q is not a valid header name", c.HeaderName)
	}
	return c.Cookie.validate()
}

func (ck *CookieConfig) validate() error {
	if !validCookieName(ck.Name) {
		return errorf(ErrConfig, "cookie name %q is not a valid token", ck.Name)
	}
	if strings.ContainsAny(ck.Path, ";\r\n") || !strings.HasPrefix(ck.Path, "/") {
		return errorf(ErrConfig, "cookie path %q must start with / and hold no ; or line break", ck.Path)
	}
	if strings.ContainsAny(ck.Domain, ";\r\n /") {
		return errorf(ErrConfig, "cookie domain %q is not a domain", ck.Domain)
	}
	switch ck.SameSite {
	case http.SameSiteLaxMode, http.SameSiteStrictMode, http.SameSiteNoneMode:
	default:
		return errorf(ErrConfig, "cookie SameSite must be Lax, Strict or None")
	}
	if ck.SameSite == http.SameSiteNoneMode && ck.Insecure {
		return errorf(ErrConfig, "SameSite=None requires Secure (browsers drop the cookie otherwise)")
	}
	if ck.Partitioned && ck.Insecure {
		return errorf(ErrConfig, "a Partitioned cookie requires Secure")
	}
	if strings.HasPrefix(ck.Name, "__Host-") {
		if ck.Insecure || ck.Domain != "" || ck.Path != "/" {
			return errorf(ErrConfig, "a __Host- cookie requires Secure, Path=/ and no Domain")
		}
	}
	if strings.HasPrefix(ck.Name, "__Secure-") && ck.Insecure {
		return errorf(ErrConfig, "a __Secure- cookie requires Secure")
	}
	return nil
}

func validCookieName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

func validHeaderName(s string) bool { return validCookieName(s) }
