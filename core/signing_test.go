package core_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/sessionkit/sessionkit/core"
)

// signedAt reproduces securecookie's wire format (base64url of
// "ts|base64url(value)|mac", the MAC over "name|ts|base64url(value)") with a
// chosen timestamp, to test that old tokens are refused.
func signedAt(key []byte, name, value string, ts int64) string {
	v := base64.URLEncoding.EncodeToString([]byte(value))
	body := fmt.Sprintf("%s|%d|%s", name, ts, v)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(body))
	full := fmt.Sprintf("%d|%s|", ts, v) + string(mac.Sum(nil))
	return base64.URLEncoding.EncodeToString([]byte(full))
}

// The token signer builds exactly what securecookie's Encode builds, and
// securecookie verifies it.
func TestSignMatchesSecurecookie(t *testing.T) {
	for _, name := range []string{"__Host-sid", "sid", "app_session", "Session-Token"} {
		m, err := core.New(nil, core.Config{Keys: [][]byte{testKey}, Cookie: core.CookieConfig{Name: name, Insecure: !strings.HasPrefix(name, "__Host-")}, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{strings.Repeat("a", core.MinIDLength), strings.Repeat("Zz9,-", 50), "0123456789abcdef0123456789abcdef"} {
			sc := securecookie.New(testKey, nil)
			sc.SetSerializer(securecookie.NopEncoder{})
			want, err := sc.Encode(name, []byte(id)) // securecookie stamps now
			if err != nil {
				t.Fatal(err)
			}
			var stamped int64
			if raw, err := base64.URLEncoding.DecodeString(want); err == nil {
				stamped, _ = strconv.ParseInt(strings.SplitN(string(raw), "|", 2)[0], 10, 64)
			}
			got, err := core.SignForTest(m, id, time.Unix(stamped, 0))
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("name %q id %q:\n got %q\nwant %q", name, id, got, want)
			}
			var back []byte
			if err := securecookie.DecodeMulti(name, got, &back, sc); err != nil || string(back) != id {
				t.Fatalf("securecookie does not verify the token: %v", err)
			}
		}
		m.Close()
	}
}
