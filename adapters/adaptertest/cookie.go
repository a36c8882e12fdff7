package adaptertest

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// CookieAttrs normalises a Set-Cookie header value into a comparable form:
// the cookie's name, "value" or "no value", and its attributes with
// lower-cased names, sorted. What legitimately differs between two
// responses is abstracted: the signed value itself, a positive Max-Age
// ("max-age>0") and Expires ("expires=past" or "expires=future"). Two
// implementations that emit the same cookie give equal results whatever
// their attribute order and spelling.
func CookieAttrs(setCookie string) string {
	parts := strings.Split(setCookie, ";")
	name, value, _ := strings.Cut(strings.TrimSpace(parts[0]), "=")
	out := []string{name}
	if value == "" {
		out = append(out, "no value")
	} else {
		out = append(out, "value")
	}
	var attrs []string
	for _, p := range parts[1:] {
		k, v, hasValue := strings.Cut(strings.TrimSpace(p), "=")
		k = strings.ToLower(k)
		switch {
		case k == "":
			continue
		case k == "max-age":
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				v = ">0"
				attrs = append(attrs, k+v)
				continue
			}
		case k == "expires":
			t, err := http.ParseTime(v)
			switch {
			case err != nil:
				v = "invalid"
			case t.After(time.Now()):
				v = "future"
			default:
				v = "past"
			}
		case k == "samesite" || k == "path" || k == "domain":
			if k != "path" {
				v = strings.ToLower(v)
			}
		case !hasValue:
			attrs = append(attrs, k)
			continue
		}
		attrs = append(attrs, k+"="+v)
	}
	sort.Strings(attrs)
	return strings.Join(append(out, attrs...), "; ")
}

// SetCookies returns the normalised (CookieAttrs) Set-Cookie headers of a
// response, in order.
func SetCookies(h http.Header) []string {
	var out []string
	for _, v := range h.Values("Set-Cookie") {
		out = append(out, CookieAttrs(v))
	}
	return out
}
