package core_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
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
