-- tokens.lua: record an issued OAuth2 token, atomically with the checks
-- that its key and app still stand, so a token can never be written after
-- the revocation or disable that raced with its issue.
--
-- KEYS[1] key:{sha256hex(app_key)}          the key's record
-- KEYS[2] app:{app_id}           the app's record
-- KEYS[3] token:{sha256hex}      the token record (string, TTL)
-- KEYS[4] app:{app_id}:tokens    index of the app's tokens (zset, score = expiry in µs)
-- KEYS[5] key:{sha256hex(app_key)}:tokens   index of the key's tokens (same)
-- ARGV[1] app_id
-- ARGV[2] token record (JSON)
-- ARGV[3] TTL in ms
-- ARGV[4] token hash (index member)
-- ARGV[5] most live tokens one key may hold
-- ARGV[6] key prefix of token records ("appauthz:token:{")
--
-- Reply: "ok", "gone" (key revoked or moved, app deleted) or "disabled".
-- Expiry scores use Redis's clock, as the TTLs do, so authzd clocks never
-- prune an index entry early.

if redis.call('HGET', KEYS[1], 'app_id') ~= ARGV[1] or redis.call('EXISTS', KEYS[2]) == 0 then
  return 'gone'
end
if redis.call('HGET', KEYS[1], 'status') == 'disabled' or redis.call('HGET', KEYS[2], 'status') == 'disabled' then
  return 'disabled'
end

-- Scores are microseconds (below 2^53, exact in Lua's doubles), so tokens
-- issued one after another never tie and the cap below ends the oldest.
local ttl = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])

for i = 4, 5 do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
end
-- A client that asks for a token per request must not grow Redis without
-- bound: past the cap its oldest tokens end.
local over = redis.call('ZCARD', KEYS[5]) - tonumber(ARGV[5]) + 1
if over > 0 then
  local old = redis.call('ZPOPMIN', KEYS[5], over)
  for j = 1, #old, 2 do
    redis.call('DEL', ARGV[6] .. old[j] .. '}')
    redis.call('ZREM', KEYS[4], old[j])
  end
end

redis.call('SET', KEYS[3], ARGV[2], 'PX', ttl)
for i = 4, 5 do
  redis.call('ZADD', KEYS[i], now + ttl * 1000, ARGV[4])
  local left = redis.call('PTTL', KEYS[i])
  if left < ttl then
    redis.call('PEXPIRE', KEYS[i], ttl)
  end
end
return 'ok'
