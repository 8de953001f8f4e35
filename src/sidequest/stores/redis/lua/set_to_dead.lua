-- Set to dead: move one entry of the schedule or retry set to the dead set unchanged ("Kill"), then
-- trim the dead set as every death does. The entry is matched by its exact member text.
--
-- KEYS[1]   schedule | retry   ZSET the entry is in
-- KEYS[2]   dead               ZSET (score = time of death, float seconds)
-- ARGV[1]   the exact member text
-- ARGV[2]   the time of death
-- ARGV[3]   cutoff: deaths at or before it are trimmed (time of death - 180 days)
-- ARGV[4]   keep: the most jobs the dead set holds
-- Returns 1 when the entry moved, 0 when it was gone, SQWRONGTYPE (nothing written) when a key holds
-- another type.

local err = key_types_error({KEYS[1], 'zset', KEYS[2], 'zset'})
if err then return err end
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[4]) + 1))
return 1
