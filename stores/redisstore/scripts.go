package redisstore

import "github.com/redis/go-redis/v9"

// The Lua scripts run with EVALSHA; go-redis falls back to EVAL (which also
// caches the script) when a server answers NOSCRIPT. Every script names all
// its keys in KEYS, so on a Cluster it runs on the node of its slot — which
// is why the scripts that touch both the lock and the data key need the
// hash-tagged layout there.

// swapScript is Store.Swap.
//
//	KEYS[1] data key
//	KEYS[2] the swap's fence key (absent on a Cluster without hash tags)
//	ARGV[1] "equal": replace only a record holding ARGV[2];
//	        "absent": create only if there is no record
//	ARGV[2] the expected bytes (mode "equal")
//	ARGV[3] the new bytes
//	ARGV[4] time to live in ms; 0 deletes instead of writing
//	ARGV[5] fence TTL in ms
//
// It returns 1 when it wrote, 0 when the record did not match. The fence
// key, named by a nonce of this one swap, records that answer, so a resent
// copy (go-redis resends a command whose reply timed out) answers what the
// first copy did instead of running again — which would find its own
// write and answer "no match", a conflict for a change that applied. Once
// swapSettleScript gave the swap up, the fence holds -1 and a copy still
// on its way applies nothing.
var swapScript = redis.NewScript(`
if KEYS[2] then
  local done = redis.call('GET', KEYS[2])
  if done then return tonumber(done) end
end
local cur = redis.call('GET', KEYS[1])
local ok = 1
if ARGV[1] == 'equal' then
  if cur ~= ARGV[2] then ok = 0 end
elseif cur then
  ok = 0
end
if ok == 1 then
  if tonumber(ARGV[4]) > 0 then
    redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
  else
    redis.call('DEL', KEYS[1])
  end
end
if KEYS[2] then redis.call('SET', KEYS[2], ok, 'PX', ARGV[5]) end
return ok
`)

// swapSettleScript decides the fate of a swap whose reply was lost, once
// and for all: the fence's answer if the swap ran (1 wrote, 0 did not
// match), else -1 — and the fence then holds -1, so the swap never runs.
//
//	KEYS[1] the swap's fence key, ARGV[1] fence TTL in ms
var swapSettleScript = redis.NewScript(`
local done = redis.call('GET', KEYS[1])
if done then return tonumber(done) end
redis.call('SET', KEYS[1], '-1', 'PX', ARGV[1])
return -1
`)

// lockScript takes a session's lock and, in the same round trip, reads the
// data the lock protects.
//
//	KEYS[1] lock key, KEYS[2] data key, KEYS[3] the attempt's fence key
//	ARGV[1] the attempt's random token, ARGV[2] lock TTL in ms
//	ARGV[3] the token of a release this store queued for the lock and
//	        has not seen answered (release.go), or ""
//
// A lock still held by ARGV[3] counts as free: its holder's request is
// over, and the release on its way will find the new token and do nothing.
// It returns {1, data or nil} when the lock is the caller's, {0} when
// another holder has it. It is idempotent per token: a client that resends
// it because the reply was lost (go-redis retries timeouts) finds the lock
// already holding its token and gets {1, …} again, not {0}. It never takes
// the lock once the fence key exists: settleScript sets it when the client
// gave the attempt up, so a copy of the script still queued somewhere (a
// stalled server processes every command it buffered when it resumes) can
// no longer take a lock nobody will release.
var lockScript = redis.NewScript(`
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  return {1, redis.call('GET', KEYS[2])}
end
if holder == ARGV[3] then holder = false end
if holder or redis.call('EXISTS', KEYS[3]) == 1 then
  return {0}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {1, redis.call('GET', KEYS[2])}
`)

// lockOnlyScript is lockScript for a Cluster without hash tags, where the
// data key and the lock key live in different slots: it takes the lock
// alone, idempotent per token in the same way, and has no fence.
//
//	KEYS[1] lock key
//	ARGV[1] the attempt's token, ARGV[2] lock TTL in ms
//	ARGV[3] as lockScript's
//
// It returns 1 when the lock is the caller's, 0 when another holder has it.
var lockOnlyScript = redis.NewScript(`
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then return 1 end
if holder and holder ~= ARGV[3] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)

// writeScript is a locked write that also releases the lock, so a locked
// read-modify-write costs two round trips (lockScript, writeScript).
//
//	KEYS[1] lock key, KEYS[2] data key, KEYS[3] the write's fence key
//	ARGV[1] the holder's token
//	ARGV[2] the new bytes
//	ARGV[3] time to live in ms; 0 deletes instead of writing
//	ARGV[4] SHA-1 (hex) of the bytes this holder wrote last, or ""
//	ARGV[5] fence TTL in ms
//
// The write happens while the lock still holds the token. After the
// holder's own earlier write released the lock (ARGV[4] set), a further
// write is still safe if nobody holds the lock and the data is exactly what
// this holder wrote: no other request is in the middle of a
// read-modify-write and none finished one in between. Anything else is a
// lost lock: 0, nothing written.
//
// The fence key, named by a nonce of this one write, records its outcome:
// "1" once it applied, "0" once settleScript gave it up. A resent copy of
// the script (a retry after a lost reply) returns what the fence says
// instead of running again: 1 for a write that applied, where a second run
// would find the lock released and answer 0, "lock lost". A copy that
// arrives after the write was given up applies nothing.
var writeScript = redis.NewScript(`
local done = redis.call('GET', KEYS[3])
if done then return tonumber(done) end
local holder = redis.call('GET', KEYS[1])
if holder ~= ARGV[1] then
  if ARGV[4] == '' or holder then return 0 end
  local cur = redis.call('GET', KEYS[2])
  if not cur or redis.sha1hex(cur) ~= ARGV[4] then return 0 end
end
if tonumber(ARGV[3]) > 0 then
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
else
  redis.call('DEL', KEYS[2])
end
if holder == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('SET', KEYS[3], '1', 'PX', ARGV[5])
return 1
`)

// settleScript decides the fate of a lock attempt or a locked write whose
// reply was lost, once and for all.
//
//	KEYS[1] lock key, KEYS[2] the attempt's or the write's fence key
//	ARGV[1] the holder's token, ARGV[2] fence TTL in ms
//
// A write that applied has set its fence to "1": the answer is 1. Anything
// else is settled as not applied: the fence becomes "0", so a copy of the
// lock or write script still on its way does nothing, and the lock is
// released if it holds the token. The answer is then 0. Asking again gives
// the same answer.
var settleScript = redis.NewScript(`
local done = redis.call('GET', KEYS[2])
if done then return tonumber(done) end
redis.call('SET', KEYS[2], '0', 'PX', ARGV[2])
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`)

// releaseScript deletes a lock only if it still holds the caller's token,
// so a holder whose lock expired cannot release its successor's. It is the
// same compare-and-delete phpredis uses, so either side releases only its
// own lock.
//
//	KEYS[1] lock key, ARGV[1] token
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)
