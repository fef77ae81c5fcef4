-- admit.lua: the last step of an allowed Check, atomic in Redis.
--
-- KEYS[1] replay nonce    seen:{app}:NONCE        (used when ARGV[2] > 0)
-- KEYS[2] rate state      rl:{app}:API:rate       (used when ARGV[3] > 0)
-- KEYS[3] quota counter   rl:{app}:API:quota:DAY  (used when ARGV[5] > 0)
-- ARGV[1] now, unix microseconds (the engine's clock)
-- ARGV[2] nonce TTL in ms, 0 = no nonce
-- ARGV[3] GCRA emission interval in µs (period / count, rounded up), 0 = no rate
-- ARGV[4] burst (requests that may pass at once)
-- ARGV[5] daily quota, 0 = no quota
-- ARGV[6] quota counter TTL in ms (to the end of the day, plus grace)
--
-- Reply: {1} for a replay (nothing charged), otherwise
-- {status, rate_remaining, rate_reset_us, rate_retry_us, quota_used}
-- with status 0 = admitted (everything charged) or 2 = a limit is
-- exceeded (nothing charged; the nonce is recorded all the same).
--
-- The rate is GCRA: KEYS[2] holds the theoretical arrival time (TAT) of
-- the next request in µs. A request at `now` fits if, once charged, the TAT
-- is at most burst * interval ahead of now. All numbers are integers below
-- 2^53, exact in Lua's doubles.

local now = tonumber(ARGV[1])
local nonce_ttl = tonumber(ARGV[2])
local interval = tonumber(ARGV[3])
local burst = tonumber(ARGV[4])
local quota = tonumber(ARGV[5])
local quota_ttl = tonumber(ARGV[6])

if nonce_ttl > 0 and redis.call('EXISTS', KEYS[1]) == 1 then
  return {1}
end

local limited = false
local rate_remaining, rate_reset, rate_retry = 0, 0, 0
local new_tat = 0
if interval > 0 then
  local tat = tonumber(redis.call('GET', KEYS[2]) or '') or now
  if tat < now then
    tat = now
  end
  new_tat = tat + interval
  local allow_at = new_tat - burst * interval
  if allow_at > now then
    limited = true
    rate_retry = allow_at - now
    rate_reset = tat - now
  else
    rate_remaining = math.floor((now - allow_at) / interval)
    rate_reset = new_tat - now
  end
end

local used = 0
if quota > 0 then
  used = tonumber(redis.call('GET', KEYS[3]) or '') or 0
  if used >= quota then
    limited = true
  end
end

if nonce_ttl > 0 then
  redis.call('SET', KEYS[1], '1', 'PX', nonce_ttl)
end
if limited then
  return {2, rate_remaining, rate_reset, rate_retry, used}
end

if interval > 0 then
  -- The state is useless once the bucket is full again: let it expire then.
  local ttl = math.ceil((new_tat - now) / 1000)
  if ttl < 1 then
    ttl = 1
  end
  redis.call('SET', KEYS[2], string.format('%.0f', new_tat), 'PX', ttl)
end
if quota > 0 then
  used = redis.call('INCR', KEYS[3])
  if used == 1 then
    redis.call('PEXPIRE', KEYS[3], quota_ttl)
  end
end
return {0, rate_remaining, rate_reset, 0, used}
