-- Cancel remove: take one waiting job out of its queue or set by its exact text, and forget its
-- record (it will never run), atomically. Nothing is written when the job moved since it was read.
--
-- KEYS[1]   queue:<name> (LIST) or schedule / retry (ZSET): where the job was read
-- KEYS[2]   it-<jid>     HASH, the job's record
-- ARGV[1]   'list' or 'zset': KEYS[1]'s type
-- ARGV[2]   the job's exact text
-- Returns 1 when the job was removed, 0 when it was no longer there, or SQWRONGTYPE.

local err = key_types_error({KEYS[1], ARGV[1], KEYS[2], 'hash'})
if err then return err end
local removed
if ARGV[1] == 'list' then
  removed = redis.call('LREM', KEYS[1], 1, ARGV[2])
else
  removed = redis.call('ZREM', KEYS[1], ARGV[2])
end
if removed > 0 then
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
