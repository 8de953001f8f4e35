-- Limiter acquire: decide and record one use of a rate limiter (sidequest.limits has the rules).
--
-- KEYS[1]   sq|limiter|<kind>|<name>        HASH: size, period, mark, level, allowed, refused, last_used
-- KEYS[2]   sq|limiter|<kind>|<name>|uses   ZSET: concurrent holders (score = lock expiry) or window
--                                           uses (score = time used)
-- KEYS[3]   sq|limiters                     SET of '<kind>|<name>': every limiter ever used
-- ARGV[1]   kind: 'concurrent', 'bucket', 'window' or 'leaky'
-- ARGV[2]   size (integer >= 1)
-- ARGV[3]   period in seconds (concurrent: the lock timeout)
-- ARGV[4]   the holder's token (concurrent) or the use's unique id (window)
-- ARGV[5]   now as float seconds, or '' for the server's clock (TIME)
-- ARGV[6]   '1' when a refusal counts in `refused` (the caller gives up after it), else '0'
-- ARGV[7]   '<kind>|<name>' (the member of KEYS[3])
-- Returns {1, '0', now} when allowed, {0, wait seconds, now} when refused (numbers as text), SQWRONGTYPE (nothing
-- written) when a key holds another type.

local err = key_types_error({KEYS[1], 'hash', KEYS[2], 'zset', KEYS[3], 'set'})
if err then return err end
local kind, size, period, token = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local now = tonumber(ARGV[5])
if now == nil then
  local clock = redis.call('TIME')
  now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
end
local function text(number) return string.format('%.17g', number) end
local state = redis.call('HMGET', KEYS[1], 'mark', 'level')
local mark, level = tonumber(state[1]) or 0, tonumber(state[2]) or 0
local allowed, wait = false, 0

if kind == 'concurrent' or kind == 'window' then
  local cutoff = kind == 'concurrent' and now or now - period
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', text(cutoff))
  if redis.call('ZCARD', KEYS[2]) < size then
    redis.call('ZADD', KEYS[2], text(kind == 'concurrent' and now + period or now), token)
    allowed = true
  else
    local oldest = tonumber(redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')[2])
    wait = kind == 'concurrent' and oldest - now or oldest + period - now
  end
elseif kind == 'bucket' then
  local start = math.floor(now / period) * period
  if text(mark) ~= text(start) then level = 0 end
  mark = start
  if level < size then
    level = level + 1
    allowed = true
  else
    wait = start + period - now
  end
else -- leaky
  local elapsed = now - mark
  if elapsed < 0 then elapsed = 0 end
  level = level - elapsed * size / period
  if level < 0 then level = 0 end
  mark = now
  if level + 1 <= size + 1e-9 then
    level = level + 1
    allowed = true
  else
    wait = (level + 1 - size) * period / size
  end
end

if wait < 0 then wait = 0 end
-- A refused poll (the caller tries again) records nothing; only expired uses were pruned.
if not allowed and ARGV[6] ~= '1' then return {0, text(wait), text(now)} end
redis.call('HSET', KEYS[1], 'size', ARGV[2], 'period', ARGV[3], 'mark', text(mark), 'level', text(level),
  'last_used', text(now))
if allowed then
  redis.call('HINCRBY', KEYS[1], 'allowed', 1)
elseif ARGV[6] == '1' then
  redis.call('HINCRBY', KEYS[1], 'refused', 1)
end
redis.call('SADD', KEYS[3], ARGV[7])
if allowed then return {1, '0', text(now)} end
return {0, text(wait), text(now)}
