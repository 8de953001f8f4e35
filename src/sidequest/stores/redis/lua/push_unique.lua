-- Push unique: take a unique job's lock and push the job, or do neither. SET NX PX and the push run in
-- one script, so no other client can see the lock without the job (or the job without the lock), and
-- two racing pushes of the same job are ordered by Redis: exactly one finds the key free.
--
-- KEYS[1]   sq|unique|<digest>            STRING, the lock: the jid holding it, expiring by itself
-- KEYS[2]   queues                        SET of queue names (Sidekiq's)
-- KEYS[3]   queue:<queue> | schedule      LIST the job is pushed to (left), or ZSET it is scheduled in
-- ARGV[1]   the job's jid (the lock's value: only this job may release it)
-- ARGV[2]   the lock's time to live in milliseconds (an integer >= 1)
-- ARGV[3]   the job's JSON text
-- ARGV[4]   the queue's name (for the queues SET)
-- ARGV[5]   the due time as float seconds for a scheduled job, '' to enqueue it now
-- Returns 1 when the job was pushed, 0 (nothing written) when a live lock holds the key, SQWRONGTYPE
-- (nothing written) when a key holds another type.

local err = key_types_error({KEYS[1], 'string', KEYS[2], 'set', KEYS[3], ARGV[5] == '' and 'list' or 'zset'})
if err then return err end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
if ARGV[5] == '' then
  -- SADD first, as the plain push does: a job is never in a queue Sidekiq's UI does not list.
  redis.call('SADD', KEYS[2], ARGV[4])
  redis.call('LPUSH', KEYS[3], ARGV[3])
else
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[3])
end
return 1
