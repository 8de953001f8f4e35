-- Cron enqueue: push a periodic entry's job for one tick, unless that tick was already enqueued or the
-- entry is paused. SET NX on the tick's key and the push run in one script, so of any number of
-- processes offering the same tick, Redis lets exactly one find the key free and push the job.
--
-- KEYS[1]   sq|cron|<entry>           HASH: last_tick, last_jid, enqueued_at, paused ('1' when paused)
-- KEYS[2]   sq|cron|<entry>|<tick>    STRING: the jid pushed for this tick, expiring by itself
-- KEYS[3]   queues                    SET of queue names (Sidekiq's)
-- KEYS[4]   queue:<queue>             LIST the job is pushed to (left, as Sidekiq's client does)
-- ARGV[1]   the tick (integer epoch seconds)
-- ARGV[2]   the job's jid
-- ARGV[3]   the job's JSON text
-- ARGV[4]   the queue's name (for the queues SET)
-- ARGV[5]   how long the tick's key lives, in seconds
-- ARGV[6]   the push time (float epoch seconds)
-- Returns 1 when the job was pushed, 0 (nothing written) when paused, the tick was taken, or the tick is
-- older than the entry's latest by ARGV[5] seconds or more; SQWRONGTYPE (nothing written) when a key
-- holds another type.

local err = key_types_error({KEYS[1], 'hash', KEYS[2], 'string', KEYS[3], 'set', KEYS[4], 'list'})
if err then return err end
local entry = redis.call('HMGET', KEYS[1], 'paused', 'last_tick')
if entry[1] == '1' then return 0 end
local last = tonumber(entry[2])
-- A tick older than the latest by more than the keys live may have been forgotten: refusing it keeps
-- "exactly once" even for a process whose clock runs far behind the others'.
if last ~= nil and tonumber(ARGV[1]) <= last - tonumber(ARGV[5]) then return 0 end
if not redis.call('SET', KEYS[2], ARGV[2], 'NX', 'EX', ARGV[5]) then return 0 end
-- SADD first, as the plain push does: a job is never in a queue Sidekiq's UI does not list.
redis.call('SADD', KEYS[3], ARGV[4])
redis.call('LPUSH', KEYS[4], ARGV[3])
-- A late, older tick (a process catching up) never hides a later one as "the latest".
if last == nil or tonumber(ARGV[1]) > last then
  redis.call('HSET', KEYS[1], 'last_tick', ARGV[1], 'last_jid', ARGV[2], 'enqueued_at', ARGV[6])
end
return 1
