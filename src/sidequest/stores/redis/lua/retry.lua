-- Retry: take one job from the owner's in-flight list and schedule its failed payload for a retry.
-- Writes nothing when the owner no longer holds the job.
--
-- KEYS[1]   queue:sq|<owner>|<queue>   LIST, the owner's in-flight list
-- KEYS[2]   retry                      ZSET, Sidekiq's retry set (score = due time, float seconds)
-- ARGV[1]   the exact raw JSON of the job, as claimed
-- ARGV[2]   the payload with its failure fields, as stored in the retry set
-- ARGV[3]   the due time (float seconds)
-- Returns 1 when the job moved, 0 when the owner did not hold it, SQWRONGTYPE (nothing written) when a
-- key holds another type.

local err = key_types_error({KEYS[1], 'list', KEYS[2], 'zset'})
if err then return err end
if redis.call('LREM', KEYS[1], -1, ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
return 1
