-- Limiter release: end one holder's use of a concurrent limiter, freeing its slot.
--
-- KEYS[1]   sq|limiter|concurrent|<name>|uses   ZSET of holders (score = lock expiry)
-- ARGV[1]   the holder's token
-- ARGV[2]   now as float seconds, or '' for the server's clock (TIME)
-- Returns 1 when the token held a live slot, 0 when it had expired or was released already,
-- SQWRONGTYPE (nothing written) when the key holds another type.

local err = key_type_error(KEYS[1], 'zset')
if err then return err end
local now = tonumber(ARGV[2])
if now == nil then
  local clock = redis.call('TIME')
  now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
end
local expiry = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]))
if expiry == nil then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
if expiry > now then return 1 end
return 0
