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
-- ARGV[2]   limit: the most entries to look at in this call
-- ARGV[3]   cutoff: dead-set trim (now - 180 days)
-- ARGV[4]   keep: the most jobs the dead set holds
-- ARGV[5]   how many due retry entries to pass over (skipped by this caller's earlier calls)
-- ARGV[6]   the same for the schedule set
-- Returns {jobs moved to queues, entries buried in the dead set, retry entries skipped, scheduled
-- entries skipped, {key, actual type, expected type, ...}}. An entry whose destination (its queue, or
-- dead) another application turned into another type is skipped: it stays where it is, the key is
-- reported, and every other due job still moves. A source set of the wrong type is reported and not
-- read. SQWRONGTYPE (nothing written) when `queues` itself holds another type.

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

local err = key_type_error(KEYS[1], 'set')
if err then return err end
local now, limit = ARGV[1], tonumber(ARGV[2])
local skip_r, skip_s = tonumber(ARGV[5] or '0'), tonumber(ARGV[6] or '0')
local report, bad = {}, {}
local function usable(key, kind)
  if bad[key] == nil then bad[key] = bad_key(report, key, kind) end
  return not bad[key]
end
-- Soonest first across both sets (a tie goes to the retry set, which Sidekiq's poller reads first):
-- jobs due earlier land in their queue earlier, so they also run earlier.
local retry, scheduled = {}, {}
if usable(KEYS[2], 'zset') then
  retry = redis.call('ZRANGE', KEYS[2], '-inf', now, 'BYSCORE', 'LIMIT', skip_r, limit, 'WITHSCORES')
end
if usable(KEYS[3], 'zset') then
  scheduled = redis.call('ZRANGE', KEYS[3], '-inf', now, 'BYSCORE', 'LIMIT', skip_s, limit, 'WITHSCORES')
end
local r, s = 1, 1
local moved, buried, by_queue, order, to_dead = 0, 0, {}, {}, {}
-- What leaves each set, and how many entries of each were passed over (their destination is bad).
local taken = {[KEYS[2]] = {}, [KEYS[3]] = {}}
local passed = {[KEYS[2]] = 0, [KEYS[3]] = 0}
for _ = 1, limit do
  local job, from
  if r <= #retry and (s > #scheduled or tonumber(retry[r + 1]) <= tonumber(scheduled[s + 1])) then
    job, r, from = retry[r], r + 2, KEYS[2]
  elseif s <= #scheduled then
    job, s, from = scheduled[s], s + 2, KEYS[3]
  else
    break
  end
  local members, close = payload_members(job)
  local edited = members and json_set(job, {'enqueued_at'}, {now}, members, close)
  if edited then
    local queue = json_string(job, json_find(members, 'queue'))
    if not queue or queue == '' then queue = 'default' end
    if usable('queue:' .. queue, 'list') then
      if not by_queue[queue] then
        by_queue[queue] = {}
        order[#order + 1] = queue
      end
      table.insert(by_queue[queue], edited)
      table.insert(taken[from], job)
      moved = moved + 1
    else
      passed[from] = passed[from] + 1
    end
  elseif usable(KEYS[4], 'zset') then
    to_dead[#to_dead + 1] = job
    table.insert(taken[from], job)
    buried = buried + 1
  else
    passed[from] = passed[from] + 1
  end
end
-- Every key written below was checked above: nothing fails half way.
for _, queue in ipairs(order) do
  local jobs = by_queue[queue]
  redis.call('SADD', KEYS[1], queue)
  for first = 1, #jobs, 1000 do  -- LPUSH a b = LPUSH a, LPUSH b: the order is kept
    redis.call('LPUSH', 'queue:' .. queue, unpack(jobs, first, math.min(first + 999, #jobs)))
  end
end
for _, job in ipairs(to_dead) do redis.call('ZADD', KEYS[4], now, job) end
for set, offset in pairs({[KEYS[2]] = skip_r, [KEYS[3]] = skip_s}) do
  local jobs = taken[set]
  if passed[set] == 0 then
    -- The jobs taken are exactly the ranks read (in this same atomic call): one cheap range delete.
    if #jobs > 0 then redis.call('ZREMRANGEBYRANK', set, offset, offset + #jobs - 1) end
  else
    for first = 1, #jobs, 1000 do
      redis.call('ZREM', set, unpack(jobs, first, math.min(first + 999, #jobs)))
    end
  end
end
if buried > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[3])
  redis.call('ZREMRANGEBYRANK', KEYS[4], 0, -(tonumber(ARGV[4]) + 1))
end
return {moved, buried, passed[KEYS[2]], passed[KEYS[3]], report}
