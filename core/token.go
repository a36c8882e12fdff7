package core

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/securecookie"
)

// RequestHeader is what the Manager reads from a request: http.Header
// implements it, and so does a two-line wrapper in any framework.
//
// Adapter.Load reads the values only while it runs and keeps nothing of
// them (the ID it takes is a copy), so a wrapper may return strings that
// view a buffer the framework reuses after the request (fasthttp's), as
// the Fiber adapters do, instead of copying the header.
type RequestHeader interface {
	Values(key string) []string
}

// ResponseHeader is what the Manager writes to a response: http.Header
// implements it.
type ResponseHeader interface {
	Add(key, value string)
	Set(key, value string)
}

// tokens turns IDs into the signed tokens clients carry and back.
type tokens struct {
	transport Transport
	name      string // cookie or header name
	cookie    CookieConfig
	codecs    []securecookie.Codec
	logSalt   []byte
	verified  verifiedCache
	signers   sync.Pool // *signer
	now       func() time.Time
}

// verifiedCache remembers tokens whose signature checked out, for a minute,
// so a client's repeated requests pay for HMAC verification once a minute
// instead of on every request. Only exact token strings that verified are
// kept (a forged token is never a hit), each copied out of the request's
// header so a large Cookie header is never pinned, and the key set cannot
// change during a Manager's life. The cache is bounded in entries and in
// bytes: when either bound is reached it starts over.
type verifiedCache struct {
	m     atomic.Pointer[sync.Map] // token -> *verifiedToken
	n     atomic.Int64             // entries in m
	bytes atomic.Int64             // bytes of tokens and IDs in m
}

type verifiedToken struct {
	id    string
	until int64 // unix nanos
}

const (
	verifiedTTL      = time.Minute
	verifiedMax      = 1 << 16
	verifiedMaxBytes = 8 << 20
)

func (c *verifiedCache) get(token string, now int64) (string, bool) {
	m := c.m.Load()
	if m == nil {
		return "", false
	}
	v, ok := m.Load(token)
	if !ok {
		return "", false
	}
	e := v.(*verifiedToken)
	if now >= e.until {
		m.Delete(token)
		return "", false
	}
	return e.id, true
}

func (c *verifiedCache) put(token, id string, now int64) {
	size := int64(len(token) + len(id))
	m := c.m.Load()
	if m == nil || c.n.Add(1) > verifiedMax || c.bytes.Add(size) > verifiedMaxBytes {
		m = new(sync.Map)
		c.m.Store(m)
		c.n.Store(1)
		c.bytes.Store(size)
	}
	m.Store(strings.Clone(token), &verifiedToken{id: id, until: now + int64(verifiedTTL)})
}

func newTokens(cfg *Config) (*tokens, error) {
	t := &tokens{transport: cfg.Transport, cookie: cfg.Cookie, name: cfg.Cookie.Name}
	if t.transport == TransportHeader {
		t.name = cfg.HeaderName
	}
	keys := cfg.Keys
	if len(keys) == 0 {
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			return nil, errorf(ErrRNG, "signing key: %v", err)
		}
		keys = [][]byte{k}
	}
	// Tokens are re-issued only when the ID changes, so the signature's own
	// age limit must cover the longest session; the server-side record
	// enforces the real timeouts.
	maxAge := int(max(cfg.AbsoluteTimeout, cfg.RememberAbsoluteTimeout)/time.Second) + 60
	signKey := keys[0]
	t.signers.New = func() any { return &signer{mac: hmac.New(sha256.New, signKey)} }
	t.now = time.Now
	for _, k := range keys {
		sc := securecookie.New(k, nil)
		sc.SetSerializer(securecookie.NopEncoder{})
		sc.MaxAge(maxAge)
		sc.MaxLength(4096)
		t.codecs = append(t.codecs, sc)
	}
	t.logSalt = make([]byte, 16)
	if _, err := rand.Read(t.logSalt); err != nil {
		return nil, errorf(ErrRNG, "log salt: %v", err)
	}
	return t, nil
}

// rejection reasons, logged without the token itself.
const (
	rejectNone      = ""
	rejectDuplicate = "duplicate session tokens"
	rejectSignature = "bad signature, wrong key, expired or oversized token"
	rejectSyntax    = "malformed session id"
)

// read extracts and verifies the request's token at time now. It returns
// the ID, or "" and why the token was refused ("" reason when there was
// none).
func (t *tokens) read(h RequestHeader, now time.Time) (id, reason string) {
	var raw string
	var n int
	if t.transport == TransportHeader {
		vals := h.Values(t.name)
		n = len(vals)
		if n == 1 {
			raw = vals[0]
		}
	} else {
		raw, n = findCookie(h.Values("Cookie"), t.name)
	}
	switch {
	case n == 0:
		return "", rejectNone
	case n > 1 && t.transport != TransportRawCookie:
		return "", rejectDuplicate
	}
	if t.transport == TransportRawCookie {
		// PHP's own cookie, read as PHP reads it: the first of several
		// PHPSESSID cookies wins (so both apps see one session), and the
		// "," of 6-bit IDs arrives URL-encoded as PHP sends it.
		// A copy: raw may view a buffer the framework reuses (RequestHeader).
		id = strings.Clone(strings.ReplaceAll(strings.ReplaceAll(raw, "%2C", ","), "%2c", ","))
	} else {
		if id, hit := t.verified.get(raw, now.UnixNano()); hit {
			return id, rejectNone // only valid IDs are cached
		}
		var b []byte
		if securecookie.DecodeMulti(t.name, raw, &b, t.codecs...) != nil {
			return "", rejectSignature
		}
		id = string(b)
		if ValidID(id) {
			t.verified.put(raw, id, now.UnixNano())
		}
	}
	if !ValidID(id) {
		return "", rejectSyntax
	}
	return id, rejectNone
}

// findCookie returns the value of the first cookie called name and how
// many cookies of that name the headers carry.
func findCookie(lines []string, name string) (value string, n int) {
	for _, line := range lines {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			k, v, ok := strings.Cut(part, "=")
			if !ok || k != name {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			if n == 0 {
				value = v
			}
			n++
		}
	}
	return value, n
}

// sign returns the token for id: for signed transports, exactly what
// securecookie's Encode makes of it (base64url of "date|base64url(id)|mac",
// the MAC being HMAC-SHA256 over "name|date|base64url(id)" with the first
// key), which securecookie then verifies. It is built here with a pooled
// HMAC and scratch space, allocating only the result, because a new
// session pays for it on its first response (TestSignMatchesSecurecookie
// holds the two byte for byte).
func (t *tokens) sign(id string) (string, error) {
	var buf [512]byte
	return string(t.appendToken(buf[:0], id)), nil
}

// signer is a pooled HMAC-SHA256 with the signing key, and the scratch
// space the signed text is assembled in.
type signer struct {
	mac     hash.Hash
	text    []byte
	idBytes []byte
}

// appendToken appends sign(id) to dst.
func (t *tokens) appendToken(dst []byte, id string) []byte {
	if t.transport == TransportRawCookie {
		// "," is not a cookie-octet (RFC 6265); PHP sends it as %2C too.
		for i := 0; i < len(id); i++ {
			if id[i] == ',' {
				dst = append(dst, "%2C"...)
			} else {
				dst = append(dst, id[i])
			}
		}
		return dst
	}
	sg := t.signers.Get().(*signer)
	sg.idBytes = append(sg.idBytes[:0], id...)
	b := append(sg.text[:0], t.name...)
	b = append(b, '|')
	b = strconv.AppendInt(b, t.now().UTC().Unix(), 10)
	b = append(b, '|')
	b = base64.URLEncoding.AppendEncode(b, sg.idBytes)
	sg.mac.Reset()
	sg.mac.Write(b)
	b = append(b, '|')
	b = sg.mac.Sum(b)
	dst = base64.URLEncoding.AppendEncode(dst, b[len(t.name)+1:])
	sg.text = b[:0]
	t.signers.Put(sg)
	return dst
}

// noStore adds the headers that keep a session's response out of caches.
// vals is the request's own backing for the two values, so that this,
// which runs on every request that uses its session, allocates no slice.
func (t *tokens) noStore(h ResponseHeader, vals *[2]string) {
	vary := "Cookie"
	if t.transport == TransportHeader {
		vary = t.name
	}
	if hh, ok := h.(http.Header); ok && len(hh["Vary"]) == 0 {
		vals[0], vals[1] = "no-store", vary
		hh["Cache-Control"], hh["Vary"] = vals[0:1:1], vals[1:2:2]
		return
	}
	h.Set("Cache-Control", "no-store")
	h.Add("Vary", vary)
}

// emit writes the token (or, with id "", its removal) to the response.
// persist > 0 makes the cookie persistent for that long. vals is the
// request's own backing for the Set-Cookie value, used when the response
// has none yet.
func (t *tokens) emit(h ResponseHeader, id string, persist time.Duration, vals *[1]string) error {
	if t.transport == TransportHeader {
		value := ""
		if id != "" {
			var err error
			if value, err = t.sign(id); err != nil {
				return err
			}
		}
		h.Set(t.name, value)
		return nil
	}
	var buf [512]byte
	cookie := string(t.appendSetCookie(buf[:0], id, persist))
	if hh, ok := h.(http.Header); ok && len(hh["Set-Cookie"]) == 0 {
		vals[0] = cookie
		hh["Set-Cookie"] = vals[0:1:1]
		return nil
	}
	h.Add("Set-Cookie", cookie)
	return nil
}

// appendSetCookie appends the Set-Cookie value carrying id's token (or,
// for id "", the cookie's removal) to b. Every attribute was validated by
// New, so it is assembled directly instead of through http.Cookie, with
// the token signed in place.
func (t *tokens) appendSetCookie(b []byte, id string, persist time.Duration) []byte {
	c := &t.cookie
	b = append(b, c.Name...)
	b = append(b, '=')
	if id != "" {
		b = t.appendToken(b, id)
	}
	b = append(b, "; Path="...)
	b = append(b, c.Path...)
	if c.Domain != "" {
		b = append(b, "; Domain="...)
		b = append(b, c.Domain...)
	}
	switch {
	case id == "":
		b = append(b, "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"...)
	case persist > 0:
		b = append(b, "; Max-Age="...)
		b = strconv.AppendInt(b, int64(persist/time.Second), 10)
		b = append(b, "; Expires="...)
		b = time.Now().Add(persist).UTC().AppendFormat(b, http.TimeFormat)
	}
	if !c.ScriptAccess {
		b = append(b, "; HttpOnly"...)
	}
	if !c.Insecure {
		b = append(b, "; Secure"...)
	}
	switch c.SameSite {
	case http.SameSiteStrictMode:
		b = append(b, "; SameSite=Strict"...)
	case http.SameSiteNoneMode:
		b = append(b, "; SameSite=None"...)
	default:
		b = append(b, "; SameSite=Lax"...)
	}
	if c.Partitioned {
		b = append(b, "; Partitioned"...)
	}
	return b
}

// logID is what logs show instead of an ID: a salted hash that correlates
// log lines of one process without revealing the ID.
func (t *tokens) logID(id string) string {
	if id == "" {
		return ""
	}
	mac := hmac.New(sha256.New, t.logSalt)
	mac.Write([]byte(id))
	return hex.EncodeToString(mac.Sum(nil)[:6])
}
