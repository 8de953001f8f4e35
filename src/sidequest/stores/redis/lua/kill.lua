-- Kill: take one job from the owner's in-flight list and put it in the dead set, then trim the dead
-- set as Sidekiq does at every death (jobs older than the cutoff, then all but the newest `keep`).
-- Writes nothing when the owner no longer holds the job.
--
-- KEYS[1]   queue:sq|<owner>|<queue>   LIST, the owner's in-flight list
-- KEYS[2]   dead                       ZSET, Sidekiq's dead set (score = time of death, float seconds)
-- ARGV[1]   the exact raw JSON of the job, as claimed
-- ARGV[2]   the payload to store (with failure fields, or the raw JSON for a malformed job)
-- ARGV[3]   the time of death (float seconds)
-- ARGV[4]   cutoff: deaths at or before it are trimmed (time of death - 180 days)
-- ARGV[5]   keep: the most jobs the dead set holds (10,000)
-- Returns 1 when the job moved, 0 when the owner did not hold it, SQWRONGTYPE (nothing written) when a
-- key holds another type.

local err = key_types_error({KEYS[1], 'list', KEYS[2], 'zset'})
if err then return err end
if redis.call('LREM', KEYS[1], -1, ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[5]) + 1))
return 1
