-- Promote: move due jobs from the retry and schedule sets to the back (left) of their queues, setting
-- enqueued_at, as Sidekiq's poller does, but atomically and many jobs per call (Sidekiq OSS moves one
-- job per call and loses it if the process dies between its ZREM and its LPUSH).
--
-- KEYS[1]   queues     SET of queue names
-- KEYS[2]   retry      ZSET (score = due time, float seconds)
-- KEYS[3]   schedule   ZSET (score = due time, float seconds)
-- KEYS[4]   dead       ZSET; receives entries that are not a JSON object (nothing could run them)
-- also      queue:<q>  LIST, for each job's "queue" field (names are only known once the job is read;
--                      Sidekiq's data model does not support Redis Cluster anyway)
-- ARGV[1]   now: float seconds as JSON text; the due limit and the new enqueued_at
-- ARGV[2]   limit: the most jobs to move in this call
-- ARGV[3]   cutoff: dead-set trim (now - 180 days)
-- ARGV[4]   keep: the most jobs the dead set holds
-- Returns {jobs moved to queues, entries buried in the dead set}.

local now, limit = ARGV[1], tonumber(ARGV[2])
-- Soonest first across both sets (a tie goes to the retry set, which Sidekiq's poller reads first):
-- jobs due earlier land in their queue earlier, so they also run earlier.
local retry = redis.call('ZRANGE', KEYS[2], '-inf', now, 'BYSCORE', 'LIMIT', 0, limit, 'WITHSCORES')
local scheduled = redis.call('ZRANGE', KEYS[3], '-inf', now, 'BYSCORE', 'LIMIT', 0, limit, 'WITHSCORES')
local r, s = 1, 1
local moved, buried = 0, 0
for _ = 1, limit do
  local set, job
  if r <= #retry and (s > #scheduled or tonumber(retry[r + 1]) <= tonumber(scheduled[s + 1])) then
    set, job, r = KEYS[2], retry[r], r + 2
  elseif s <= #scheduled then
    set, job, s = KEYS[3], scheduled[s], s + 2
  else
    break
  end
  redis.call('ZREM', set, job)
  local members, close = json_members(job)
  if members and close then
    local queue = json_string(job, json_find(members, 'queue'))
    if not queue or queue == '' then queue = 'default' end
    -- enqueued_at is rewritten on every push to a queue, as Sidekiq's Client#push does.
    local edited = json_set(job, {'enqueued_at'}, {now}, members, close)
    redis.call('SADD', KEYS[1], queue)
    redis.call('LPUSH', 'queue:' .. queue, edited)
    moved = moved + 1
  else
    redis.call('ZADD', KEYS[4], now, job)
    buried = buried + 1
  end
end
if buried > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[3])
  redis.call('ZREMRANGEBYRANK', KEYS[4], 0, -(tonumber(ARGV[4]) + 1))
end
return {moved, buried}
