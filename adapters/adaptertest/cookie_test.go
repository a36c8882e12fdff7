package adaptertest

import "testing"

func TestCookieAttrs(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"net/http order", "sid=abc; Path=/; HttpOnly; SameSite=Lax",
			"sid; value; httponly; path=/; samesite=lax"},
		{"other order and case", "sid=xyz; samesite=Lax; HttpOnly; path=/",
			"sid; value; httponly; path=/; samesite=lax"},
		{"deleted", "sid=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly",
			"sid; no value; expires=past; httponly; max-age=0; path=/"},
		{"persistent", "sid=v; Max-Age=3600; Expires=Fri, 01 Jan 2100 00:00:00 GMT; Secure",
			"sid; value; expires=future; max-age>0; secure"},
		{"path keeps case, domain folds", "a=b; Path=/App; Domain=Example.Test",
			"a; value; domain=example.test; path=/App"},
		{"bad expires", "a=b; Expires=never", "a; value; expires=invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CookieAttrs(tc.in); got != tc.want {
				t.Fatalf("CookieAttrs(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
