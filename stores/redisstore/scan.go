package redisstore

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// scanCount is the COUNT hint of each SCAN call.
const scanCount = 500

// DeleteAll deletes every key under KeyPrefix — all sessions, their locks
// and fence keys — and reports how many it deleted: "log everybody out", or cleanup
// after a test that used its own prefix. It walks the keyspace with SCAN
// (never KEYS or FLUSHDB, which block the server), on every master of a
// Cluster or shard of a Ring, so its cost grows with the size of the whole
// database, not just the sessions. Keys created while it runs may survive.
func (s *Store) DeleteAll(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, wrap("delete all", err)
	}
	pattern := globEscape(s.opts.KeyPrefix) + "*"
	var (
		mu    sync.Mutex // ForEachMaster and ForEachShard visit nodes concurrently
		total int
		err   error
	)
	node := func(ctx context.Context, c *redis.Client) error {
		n, err := deleteMatching(ctx, c, pattern)
		mu.Lock()
		total += n
		mu.Unlock()
		return err
	}
	switch c := s.client.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, node)
	case *redis.Ring:
		err = c.ForEachShard(ctx, node)
	case *redis.Client:
		err = node(ctx, c)
	default:
		err = fmt.Errorf("%T is not a client DeleteAll can walk", s.client)
	}
	if err != nil {
		return total, wrap("delete all", err)
	}
	return total, nil
}

// deleteMatching deletes the keys matching pattern on one node: SCAN, then
// one pipelined DEL per key (keys of one node may sit in different Cluster
// slots, which a multi-key DEL refuses).
func deleteMatching(ctx context.Context, c *redis.Client, pattern string) (int, error) {
	var (
		cursor uint64
		total  int
	)
	for {
		keys, next, err := c.Scan(ctx, cursor, pattern, scanCount).Result()
		if err != nil {
			return total, err
		}
		if len(keys) > 0 {
			cmds, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, k := range keys {
					p.Del(ctx, k)
				}
				return nil
			})
			if err != nil {
				return total, err
			}
			for _, cmd := range cmds {
				total += int(cmd.(*redis.IntCmd).Val())
			}
		}
		if next == 0 {
			return total, nil
		}
		cursor = next
	}
}

// globEscape quotes the characters SCAN's MATCH treats as a pattern.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
