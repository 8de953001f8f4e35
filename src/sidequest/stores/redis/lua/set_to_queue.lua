-- Set to queue: move one entry of a sorted set (schedule, retry, dead) to the back (left) of its queue,
-- for "Retry Now" / "Add to queue". The entry is matched by its exact member text, so an entry someone
-- else has already moved or deleted is skipped.
--
-- KEYS[1]   schedule | retry | dead   ZSET the entry is in
-- KEYS[2]   queues                    SET of queue names
-- KEYS[3]   queue:<queue>             LIST the job goes to
-- ARGV[1]   the exact member text
-- ARGV[2]   the payload to push (enqueued_at set, retry_count lowered)
-- ARGV[3]   the queue's name
-- Returns 1 when the entry moved, 0 when it was gone, SQWRONGTYPE (nothing written) when a key holds
-- another type.

local err = key_types_error({KEYS[1], 'zset', KEYS[2], 'set', KEYS[3], 'list'})
if err then return err end
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('LPUSH', KEYS[3], ARGV[2])
return 1
