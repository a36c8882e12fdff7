package redisstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/stores/storetest"
)

// TestUserIndexAtScale: DestroyUser of a user with 10 sessions among 10⁵
// sessions of other users on a single Redis, and among 10⁴ on a Cluster
// (what the Cluster adds is slot placement, which does not depend on the
// count; the three nodes share this machine's CPUs). The others are
// written with pipelines, in the layout AddUserSession makes.
func TestUserIndexAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("10⁵ sessions; skipped with -short")
	}
	for _, b := range backends() {
		if b.opts.NoHashTag {
			continue // the conformance kit covers the index on that layout
		}
		others := 100_000
		if b.name == "Cluster" {
			others = 10_000
		}
		t.Run(b.name, func(t *testing.T) {
			c := b.client(t)
			s := newStore(t, c, b.opts)
			storetest.UserIndexAtScale(t, s, others, func(ctx context.Context, batch []storetest.Seed) error {
				return seedPipelined(ctx, s, batch)
			})
		})
	}
}

// seedPipelined writes batch in the layout Write and AddUserSession make,
// in one pipeline: the records and owner keys with SET, each user's
// entries with one ZADD (scored on this machine's clock, which is the
// server's) and the set's TTL with PEXPIREAT.
func seedPipelined(ctx context.Context, s *Store, batch []storetest.Seed) error {
	slack := indexSlack.Milliseconds()
	byUser := map[string][]redis.Z{}
	last := map[string]int64{}
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, r := range batch {
			ms := ttl(r.Expiry)
			p.Set(ctx, s.key(r.ID), r.Data, time.Duration(ms)*time.Millisecond)
			p.Set(ctx, s.ownerKey(r.ID), r.User, time.Duration(ms+slack)*time.Millisecond)
			score := r.Expiry.UnixMilli() + slack
			byUser[r.User] = append(byUser[r.User], redis.Z{Score: float64(score), Member: r.ID})
			last[r.User] = max(last[r.User], score)
		}
		for user, entries := range byUser {
			p.ZAdd(ctx, s.userKey(user), entries...)
			p.PExpireAt(ctx, s.userKey(user), time.UnixMilli(last[user]))
		}
		return nil
	})
	return err
}

// TestUserIndexLayout checks the index's keys and TTLs: the user's sorted
// set (its own hash tag, expiring with its latest entry) and the session's
// owner key (the session's hash tag).
func TestUserIndexLayout(t *testing.T) {
	tests := []struct {
		name                string
		noHashTag           bool
		wantUser, wantOwner string // with %s for the prefix and %[2]s for the user or id
	}{
		{"HashTag", false, "%suser:{%s}", "%s{%s}_USER"},
		{"PHPRedis", true, "%suser:%s", "%s%s_USER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := storetest.Context(t)
			c := singleClient(t)
			s := newStore(t, c, Options{NoHashTag: tt.noHashTag})
			id, user := storetest.NewID(t), "alice@example.com"
			userKey := fmt.Sprintf(tt.wantUser, s.opts.KeyPrefix, user)
			ownerKey := fmt.Sprintf(tt.wantOwner, s.opts.KeyPrefix, id)
			exp := time.Now().Add(time.Hour)
			if err := s.Write(ctx, id, []byte("x"), exp); err != nil {
				t.Fatal(err)
			}
			if err := s.AddUserSession(ctx, user, id, exp); err != nil {
				t.Fatal(err)
			}
			if got := c.ZRange(ctx, userKey, 0, -1).Val(); len(got) != 1 || got[0] != id {
				t.Fatalf("ZRANGE %s = %q, want the session's ID", userKey, got)
			}
			wantTTL(ctx, t, c, userKey, time.Hour+indexSlack)
			if got := c.Get(ctx, ownerKey).Val(); got != user {
				t.Fatalf("GET %s = %q, want %q", ownerKey, got, user)
			}
			wantTTL(ctx, t, c, ownerKey, time.Hour+indexSlack)

			// A second, shorter session leaves the set's TTL at the latest.
			id2 := storetest.NewID(t)
			if err := s.AddUserSession(ctx, user, id2, time.Now().Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			wantTTL(ctx, t, c, userKey, time.Hour+indexSlack)

			if err := s.RemoveUserSession(ctx, user, id); err != nil {
				t.Fatal(err)
			}
			if n := c.Exists(ctx, ownerKey).Val(); n != 0 {
				t.Fatal("owner key left after RemoveUserSession")
			}
			if got := c.ZRange(ctx, userKey, 0, -1).Val(); len(got) != 1 || got[0] != id2 {
				t.Fatalf("ZRANGE %s = %q after RemoveUserSession, want only the second session", userKey, got)
			}
		})
	}
}

// TestUserIndexTouch: the Manager's Touch extends a session without
// calling AddUserSession, so Touch itself must extend the session's index
// entry — else the user's set (or the entry) lapses while the session
// lives and "log out everywhere" misses it.
func TestUserIndexTouch(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := storetest.Context(t)
			c := b.client(t)
			s := newStore(t, c, b.opts)
			id, user := storetest.NewID(t), "user-"+storetest.NewID(t)
			short := time.Now().Add(2 * time.Second)
			if err := s.Write(ctx, id, []byte("x"), short); err != nil {
				t.Fatal(err)
			}
			if err := s.AddUserSession(ctx, user, id, short); err != nil {
				t.Fatal(err)
			}
			if err := s.Touch(ctx, id, time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			wantTTL(ctx, t, c, s.key(id), time.Hour)
			wantTTL(ctx, t, c, s.userKey(user), time.Hour+indexSlack)
			wantTTL(ctx, t, c, s.ownerKey(id), time.Hour+indexSlack)
			score := c.ZScore(ctx, s.userKey(user), id).Val()
			if left := time.Until(time.UnixMilli(int64(score))); left < 59*time.Minute {
				t.Fatalf("the entry's score is %v ahead, want about an hour and a minute", left)
			}

			// Rebound meanwhile: Touch extends the new user's entry and
			// gives the old user nothing back.
			other := "user-" + storetest.NewID(t)
			if err := s.AddUserSession(ctx, other, id, time.Now().Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			if err := s.RemoveUserSession(ctx, user, id); err != nil {
				t.Fatal(err)
			}
			if err := s.Touch(ctx, id, time.Now().Add(2*time.Hour)); err != nil {
				t.Fatal(err)
			}
			wantTTL(ctx, t, c, s.userKey(other), 2*time.Hour+indexSlack)
			if ids, err := s.UserSessions(ctx, user); err != nil || len(ids) != 0 {
				t.Fatalf("UserSessions of the former user = %q, %v; want none", ids, err)
			}

			// An unbound session is touched in the one script.
			plain := storetest.NewID(t)
			if err := s.Write(ctx, plain, []byte("x"), short); err != nil {
				t.Fatal(err)
			}
			if err := s.Touch(ctx, plain, time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			wantTTL(ctx, t, c, s.key(plain), time.Hour)
			if n := c.Exists(ctx, s.ownerKey(plain)).Val(); n != 0 {
				t.Fatal("Touch of an unbound session created an owner key")
			}
		})
	}
}

// TestUserIndexPrunes: UserSessions drops the entries whose time passed,
// and the set disappears with its last entry.
func TestUserIndexPrunes(t *testing.T) {
	ctx := storetest.Context(t)
	c := singleClient(t)
	s := newStore(t, c, Options{})
	user := "user-" + storetest.NewID(t)
	live, stale := storetest.NewID(t), storetest.NewID(t)
	if err := s.AddUserSession(ctx, user, live, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	past := float64(time.Now().Add(-time.Minute).UnixMilli())
	if err := c.ZAdd(ctx, s.userKey(user), redis.Z{Score: past, Member: stale}).Err(); err != nil {
		t.Fatal(err)
	}
	ids, err := s.UserSessions(ctx, user)
	if err != nil || len(ids) != 1 || ids[0] != live {
		t.Fatalf("UserSessions = %q, %v; want only the live entry", ids, err)
	}
	if n := c.ZCard(ctx, s.userKey(user)).Val(); n != 1 {
		t.Fatalf("the set has %d entries after UserSessions, want 1", n)
	}
	if err := s.RemoveUserSession(ctx, user, live); err != nil {
		t.Fatal(err)
	}
	if n := c.Exists(ctx, s.userKey(user)).Val(); n != 0 {
		t.Fatal("an empty user set is left behind")
	}
}

// wantTTL fails t unless key's PTTL is within a few seconds below want.
func wantTTL(ctx context.Context, t *testing.T, c redis.UniversalClient, key string, want time.Duration) {
	t.Helper()
	got := c.PTTL(ctx, key).Val()
	if got > want || got < want-5*time.Second {
		t.Fatalf("PTTL %s = %v, want about %v", key, got, want)
	}
}
