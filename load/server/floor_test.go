package main

import (
	"strings"
	"testing"
	"time"
)

// TestFloorLookup: the floor middleware finds the entry of the cookie the
// cookie-only middleware sets, in the Cookie header the load client sends,
// and nothing for another value or an expired entry.
func TestFloorLookup(t *testing.T) {
	header := onlyCookie[:strings.IndexByte(onlyCookie, ';')] // "sid=…", as the client sends it
	e := floorLookup(floorCookie(header))
	if e == nil {
		t.Fatalf("no entry for %q", header)
	}
	if floorN(e) != 0 || floorN(nil) != 0 || floorN("x") != 0 {
		t.Error("floorN answers other than 0")
	}
	if floorLookup(floorCookie("sid=other")) != nil || floorLookup(floorCookie("")) != nil {
		t.Error("an entry for an unknown cookie")
	}
	floorSessions.Store("expired", &floorEntry{until: time.Now().Add(-time.Second)})
	defer floorSessions.Delete("expired")
	if floorLookup("expired") != nil {
		t.Error("an expired entry was handed over")
	}
}
