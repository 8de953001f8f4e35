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

-- The top-level members needed to set enqueued_at (rewritten on every push to a queue, as Sidekiq's
-- Client#push does) and read queue, scanning no further than needed: a full scan costs ~10 us a job.
-- Scheduled jobs have no enqueued_at anywhere (one plain find proves it): stop at "queue". Retries
-- have one: stop once both are seen, unless the text holds a later "enqueued_at" (a duplicate key,
-- or one nested in a later field), where only a full scan finds the member parsers will read.
local function payload_members(job)
  if not string.find(job, '"enqueued_at"', 1, true) then return json_members(job, {queue = true}) end
  local members, close = json_members(job, {queue = true, enqueued_at = true})
  if members and not close then
    local seen = json_find(members, 'enqueued_at')
    if string.find(job, '"enqueued_at"', seen[4] + 1, true) then return json_members(job) end
  end
  return members, close
end

local now, limit = ARGV[1], tonumber(ARGV[2])
-- Soonest first across both sets (a tie goes to the retry set, which Sidekiq's poller reads first):
-- jobs due earlier land in their queue earlier, so they also run earlier.
local retry = redis.call('ZRANGE', KEYS[2], '-inf', now, 'BYSCORE', 'LIMIT', 0, limit, 'WITHSCORES')
local scheduled = redis.call('ZRANGE', KEYS[3], '-inf', now, 'BYSCORE', 'LIMIT', 0, limit, 'WITHSCORES')
local r, s = 1, 1
local moved, buried, by_queue, order = 0, 0, {}, {}
for _ = 1, limit do
  local job
  if r <= #retry and (s > #scheduled or tonumber(retry[r + 1]) <= tonumber(scheduled[s + 1])) then
    job, r = retry[r], r + 2
  elseif s <= #scheduled then
    job, s = scheduled[s], s + 2
  else
    break
  end
  local members, close = payload_members(job)
  local edited = members and json_set(job, {'enqueued_at'}, {now}, members, close)
  if edited then
    local queue = json_string(job, json_find(members, 'queue'))
    if not queue or queue == '' then queue = 'default' end
    if not by_queue[queue] then
      by_queue[queue] = {}
      order[#order + 1] = queue
    end
    table.insert(by_queue[queue], edited)
    moved = moved + 1
  else
    redis.call('ZADD', KEYS[4], now, job)
    buried = buried + 1
  end
end
for _, queue in ipairs(order) do
  local jobs = by_queue[queue]
  redis.call('SADD', KEYS[1], queue)
  for first = 1, #jobs, 1000 do  -- LPUSH a b = LPUSH a, LPUSH b: the order is kept
    redis.call('LPUSH', 'queue:' .. queue, unpack(jobs, first, math.min(first + 999, #jobs)))
  end
end
-- The jobs taken are exactly the first ranks of each set (read above, in this same atomic call).
if r > 1 then redis.call('ZREMRANGEBYRANK', KEYS[2], 0, (r - 1) / 2 - 1) end
if s > 1 then redis.call('ZREMRANGEBYRANK', KEYS[3], 0, (s - 1) / 2 - 1) end
if buried > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[3])
  redis.call('ZREMRANGEBYRANK', KEYS[4], 0, -(tonumber(ARGV[4]) + 1))
end
return {moved, buried}
