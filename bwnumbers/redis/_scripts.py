"""The Lua scripts of :class:`~bwnumbers.redis.RedisStore`: each step that must be atomic.

Every key is ``<prefix><name>``, the prefix being ``bwn:{<account id>}:``. The braces are a
Redis Cluster hash tag: all of an account's keys live in one slot, so scripts that touch
several of them also run on a cluster. ``KEYS[1]`` is always a key of that slot (for the
cluster's routing); the scripts build the others from the prefix in ``ARGV[1]``.

Intent hashes (``i:<key>``, the key being the intent's :func:`~bwnumbers._store.journal_key`:
the customer order id of an order, ``disconnects:<customer order id>`` of a disconnect) hold
the fields of :mod:`bwnumbers.redis._codec`; ``o:<order key>`` names the intent key of an
order id (an order's id, or ``disconnects:<id>``: the two are separate spaces);
``own:<instance>`` is the set of an instance's unfinished orders; ``alive:<instance>`` its
heartbeat lease; ``hb`` a sorted set of instances by last heartbeat; ``in:<instance>`` its
inbox stream; ``early``/``early_t`` the notifications no known order claimed yet, by order key,
with their arrival times; ``rl:<group>`` a rate-limit closing; ``epoch`` a token that changes
only when Redis lost its data.
"""

from __future__ import annotations

from typing import Final

#: Bounds of the keys: the shared ``early`` hash of notifications for orders nobody knows
#: yet (entries, seconds), and each instance's inbox stream (entries, seconds of TTL).
EARLY_LIMIT: Final = 10_000
EARLY_TTL: Final = 600
INBOX_MAXLEN: Final = 10_000
INBOX_TTL: Final = 600

__all__ = [
    "BEGIN",
    "CLAIM",
    "EARLY_LIMIT",
    "EARLY_TTL",
    "FINISH",
    "GATE",
    "HEARTBEAT",
    "INBOX_MAXLEN",
    "INBOX_TTL",
    "PLACED",
    "PROGRESS",
    "ROUTE",
    "SEED",
]

#: KEYS: i:coid. ARGV: prefix, me, coid, ttl, field, value, ... -> nil if new, else HGETALL.
BEGIN: Final = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HGETALL', KEYS[1]) end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('EXPIRE', KEYS[1], ARGV[4])
local own = ARGV[1] .. 'own:' .. ARGV[2]
redis.call('SADD', own, ARGV[3])
redis.call('EXPIRE', own, ARGV[4])
return nil
"""

#: Re-seed an intent Redis lost (restarted empty), and take a notification parked meanwhile.
#: KEYS: i:coid. ARGV: prefix, owner, coid, ttl, order key or '', field, value, ...
#: -> {0} if a finished intent is there, else {1[, note]}.
SEED: Final = """
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'FINAL' or state == 'NEVER_CREATED' then return {0} end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('EXPIRE', KEYS[1], ARGV[4])
local own = ARGV[1] .. 'own:' .. ARGV[2]
redis.call('SADD', own, ARGV[3])
redis.call('EXPIRE', own, ARGV[4])
if ARGV[5] == '' then return {1} end
redis.call('SET', ARGV[1] .. 'o:' .. ARGV[5], ARGV[3], 'EX', ARGV[4])
local early, early_t = ARGV[1] .. 'early', ARGV[1] .. 'early_t'
local note = redis.call('HGET', early, ARGV[5])
if not note then return {1} end
redis.call('HDEL', early, ARGV[5])
redis.call('ZREM', early_t, ARGV[5])
return {1, note}
"""

#: The order id is known: record it, map it, and take the notification parked under it.
#: KEYS: i:coid. ARGV: prefix, coid, order_id, order key -> {0} if the intent is missing,
#: {1[, note]}.
PLACED: Final = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'INTENT' then
  redis.call('HSET', KEYS[1], 'state', 'PLACED', 'order_id', ARGV[3])
elseif state == 'PLACED' then
  redis.call('HSET', KEYS[1], 'order_id', ARGV[3])
end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 1 then ttl = 604800 end
redis.call('SET', ARGV[1] .. 'o:' .. ARGV[4], ARGV[2], 'EX', ttl)
local early, early_t = ARGV[1] .. 'early', ARGV[1] .. 'early_t'
local note = redis.call('HGET', early, ARGV[4])
if note then
  redis.call('HDEL', early, ARGV[4])
  redis.call('ZREM', early_t, ARGV[4])
  return {1, note}
end
return {1}
"""

#: KEYS: i:coid. ARGV: prefix, coid, status -> 1 if written.
PROGRESS: Final = """
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'INTENT' or state == 'PLACED' then
  redis.call('HSET', KEYS[1], 'last_status', ARGV[3])
  return 1
end
return 0
"""

#: The one compare-and-set that ends an order: 1 the first time, 0 after, -1 if missing.
#: KEYS: i:coid. ARGV: prefix, coid, ttl, field, value, ..., 'finisher', token (last).
#: The same token answers 1 again: a FINISH re-sent after its reply was lost (a cut
#: connection, redis-py's retry, or the resync) is still the first one.
FINISH: Final = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return -1 end
if state == 'FINAL' or state == 'NEVER_CREATED' then
  if redis.call('HGET', KEYS[1], 'finisher') == ARGV[#ARGV] then return 1 end
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('EXPIRE', KEYS[1], ARGV[3])
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner then redis.call('SREM', ARGV[1] .. 'own:' .. owner, ARGV[2]) end
local order_id = redis.call('HGET', KEYS[1], 'order_id')
if order_id then
  local kind = redis.call('HGET', KEYS[1], 'kind')
  if kind then order_id = kind .. ':' .. order_id end
  redis.call('EXPIRE', ARGV[1] .. 'o:' .. order_id, ARGV[3])
end
return 1
"""

#: Store a notification and wake its order's owner, or park it once for an order not known.
#: KEYS: early. ARGV: prefix, order key or '', intent key or '', note, final (1/0), now ms,
#: early ttl s, early max, inbox maxlen, inbox ttl s
#: -> {'ROUTED', owner} | {'FINISHED'} | {'PARKED'} | {'DROPPED'}
ROUTE: Final = """
local p = ARGV[1]
local coid = ARGV[3]
if coid == '' and ARGV[2] ~= '' then coid = redis.call('GET', p .. 'o:' .. ARGV[2]) or '' end
local intent = p .. 'i:' .. coid
local state = coid ~= '' and redis.call('HGET', intent, 'state')
if state then
  if state == 'FINAL' or state == 'NEVER_CREATED' then return {'FINISHED'} end
  redis.call('HSET', intent, ARGV[5] == '1' and 'final_note' or 'last_note', ARGV[4])
  local owner = redis.call('HGET', intent, 'owner')
  local inbox = p .. 'in:' .. owner
  redis.call('XADD', inbox, 'MAXLEN', '~', ARGV[9], '*', 'coid', coid, 'note', ARGV[4])
  redis.call('EXPIRE', inbox, ARGV[10])
  return {'ROUTED', owner}
end
local key = ARGV[2] ~= '' and ARGV[2] or ARGV[3]
if key == '' then return {'DROPPED'} end
local early_t = p .. 'early_t'
local now, ttl, max = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local old = redis.call('ZRANGEBYSCORE', early_t, '-inf', now - ttl * 1000, 'LIMIT', 0, 100)
for _, k in ipairs(old) do redis.call('HDEL', KEYS[1], k) redis.call('ZREM', early_t, k) end
local known = redis.call('HEXISTS', KEYS[1], key) == 1
if not known then
  local over = redis.call('ZCARD', early_t) - max + 1
  if over > 0 then
    for _, k in ipairs(redis.call('ZPOPMIN', early_t, over)) do redis.call('HDEL', KEYS[1], k) end
  end
end
if ARGV[5] == '1' or not known then
  redis.call('HSET', KEYS[1], key, ARGV[4])
  redis.call('ZADD', early_t, now, key)
end
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', early_t, ttl)
return {'PARKED'}
"""

#: Renew this instance's lease and keys; return the epoch, creating it when Redis has none.
#: KEYS: epoch. ARGV: prefix, me, lease ms, now ms, epoch candidate, own ttl s, inbox ttl s.
HEARTBEAT: Final = """
local p, me = ARGV[1], ARGV[2]
redis.call('SET', p .. 'alive:' .. me, ARGV[4], 'PX', ARGV[3])
redis.call('ZADD', p .. 'hb', ARGV[4], me)
redis.call('EXPIRE', p .. 'own:' .. me, ARGV[6])
redis.call('EXPIRE', p .. 'in:' .. me, ARGV[7])
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  redis.call('SET', KEYS[1], ARGV[5])
  epoch = ARGV[5]
end
return epoch
"""

#: Take a dead instance's orders, unless its lease is alive: exactly one survivor wins.
#: KEYS: hb. ARGV: prefix, dead, me, own ttl s -> {0} while alive, else {1, coid, ...}.
CLAIM: Final = """
local p, dead, me = ARGV[1], ARGV[2], ARGV[3]
if redis.call('EXISTS', p .. 'alive:' .. dead) == 1 then return {0} end
local own, mine = p .. 'own:' .. dead, p .. 'own:' .. me
local taken = {1}
for _, coid in ipairs(redis.call('SMEMBERS', own)) do
  local intent = p .. 'i:' .. coid
  local state = redis.call('HGET', intent, 'state')
  if state == 'INTENT' or state == 'PLACED' then
    redis.call('HSET', intent, 'owner', me)
    redis.call('SADD', mine, coid)
    table.insert(taken, coid)
  end
end
if #taken > 1 then redis.call('EXPIRE', mine, ARGV[4]) end
redis.call('DEL', own, p .. 'in:' .. dead)
redis.call('ZREM', KEYS[1], dead)
return taken
"""

#: A 429 closed a group until a time: record it and tell every other live instance.
#: KEYS: rl:group. ARGV: prefix, me, group, reset ms, inbox maxlen, inbox ttl s -> 1/0.
GATE: Final = """
local p, me = ARGV[1], ARGV[2]
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[4]) <= current then return 0 end
redis.call('SET', KEYS[1], ARGV[4], 'PXAT', ARGV[4])
for _, other in ipairs(redis.call('ZRANGE', p .. 'hb', 0, -1)) do
  if other ~= me and redis.call('EXISTS', p .. 'alive:' .. other) == 1 then
    local inbox = p .. 'in:' .. other
    redis.call('XADD', inbox, 'MAXLEN', '~', ARGV[5], '*', 'gate', ARGV[3], 'until', ARGV[4])
    redis.call('EXPIRE', inbox, ARGV[6])
  end
end
return 1
"""
