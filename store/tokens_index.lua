-- tokens_index.lua: on a Redis Cluster, record an issued OAuth2 token in
-- the index of one of its owners (its key or its app), atomically with the
-- check that the owner still stands. An owner's record and its index share
-- a hash tag, so this is one slot; tokens.lua, which checks both owners at
-- once, would span three. SaveToken writes the token record first, then
-- runs this for the key, then for the app (tokens_cluster.go).
--
-- KEYS[1] owner record: key:{sha256hex(app_key)} or app:{app_id}
-- KEYS[2] the owner's token index (zset, score = expiry in µs)
-- ARGV[1] app_id the key record must name; "" for the app record, which
--         need only exist
-- ARGV[2] TTL in ms
-- ARGV[3] token hash (index member)
-- ARGV[4] most live tokens the index may hold; 0 = no cap
--
-- Reply: {"ok", hashes of the oldest tokens ended by the cap...},
-- {"gone"} (key revoked or moved, app deleted) or {"disabled"}.
-- Expiry scores use Redis's clock, as tokens.lua does.

if ARGV[1] ~= '' then
  if redis.call('HGET', KEYS[1], 'app_id') ~= ARGV[1] then
    return {'gone'}
  end
elseif redis.call('EXISTS', KEYS[1]) == 0 then
  return {'gone'}
end
if redis.call('HGET', KEYS[1], 'status') == 'disabled' then
  return {'disabled'}
end

local ttl = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)

local reply = {'ok'}
local cap = tonumber(ARGV[4])
if cap > 0 then
  local over = redis.call('ZCARD', KEYS[2]) - cap + 1
  if over > 0 then
    local old = redis.call('ZPOPMIN', KEYS[2], over)
    for j = 1, #old, 2 do
      reply[#reply + 1] = old[j]
    end
  end
end

redis.call('ZADD', KEYS[2], now + ttl * 1000, ARGV[3])
if redis.call('PTTL', KEYS[2]) < ttl then
  redis.call('PEXPIRE', KEYS[2], ttl)
end
return reply
