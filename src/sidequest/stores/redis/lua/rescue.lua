-- Rescue: when an owner's lease is gone, give the jobs in one of its in-flight lists back to the
-- fetch (right) end of their queue with orphan_count + 1; a job orphaned more than max_orphaned times
-- (it keeps killing its process: a poison pill) goes to the dead set instead, or is dropped when it
-- says "dead": false (as Sidekiq Pro's super_fetch does). Every process may run this at once: the
-- script is atomic, so each job is moved by exactly one of them.
--
-- KEYS[1]   sq|inflight                SET, the registry of in-flight lists
-- KEYS[2]   <owner>                    HASH, the owner's heartbeat; its existence is the lease
-- KEYS[3]   queue:sq|<owner>|<queue>   LIST, the in-flight list to empty
-- KEYS[4]   queue:<queue>              LIST, where its jobs go back
-- KEYS[5]   queues                     SET of queue names
-- KEYS[6]   dead                       ZSET, for poison pills
-- ARGV[1]   now (float seconds): the time of death of poison pills
-- ARGV[2]   max_orphaned
-- ARGV[3]   the queue's name
-- ARGV[4]   cutoff: dead-set trim (now - 180 days)
-- ARGV[5]   keep: the most jobs the dead set holds
-- ARGV[6]   batch: the most jobs to move in this call (bounds the time Redis is busy)
-- Returns {requeued, killed, jobs still in the list, {key, actual type, expected type, ...}}
-- ({0, 0, -1, {}} when the owner is alive). When a key it would write (the queue, queues, or dead for a
-- poison pill) or the in-flight list itself holds another type (another application wrote it), it
-- stops before that job, which stays in the in-flight list, reports the key and returns 0 as "jobs
-- still in the list" so the caller goes on with the other lists. SQWRONGTYPE when sq|inflight is wrong.

local err = key_type_error(KEYS[1], 'set')
if err then return err end
if redis.call('EXISTS', KEYS[2]) == 1 then return {0, 0, -1, {}} end

local report = {}
if bad_key(report, KEYS[3], 'list') or bad_key(report, KEYS[4], 'list') or bad_key(report, KEYS[5], 'set') then
  return {0, 0, 0, report}
end
local dead_ok = nil
local max_orphaned, requeued, killed = tonumber(ARGV[2]), 0, 0
for _ = 1, tonumber(ARGV[6]) do
  -- Newest first: each RPUSH lands right of the previous one, so the oldest job runs first again.
  local job = redis.call('LINDEX', KEYS[3], 0)
  if not job then break end
  local members, close = json_members(job)
  local count = members and close and (json_number(job, json_find(members, 'orphan_count')) or 0) + 1
  if count and count > max_orphaned then
    -- A poison pill goes to the dead set: check that key first, and stop here (the job stays) if it
    -- is of the wrong type.
    if dead_ok == nil then dead_ok = not bad_key(report, KEYS[6], 'zset') end
    if not dead_ok then return {requeued, killed, 0, report} end
  end
  redis.call('LPOP', KEYS[3])
  if not members or not close then
    -- Not a JSON object: it cannot have crashed anyone. Back it goes, unchanged; the next claimer
    -- sends it to the dead set as malformed.
    redis.call('SADD', KEYS[5], ARGV[3])
    redis.call('RPUSH', KEYS[4], job)
    requeued = requeued + 1
  else
    local count_text = string.format('%d', count)
    if count <= max_orphaned then
      redis.call('SADD', KEYS[5], ARGV[3])
      redis.call('RPUSH', KEYS[4], json_set(job, {'orphan_count'}, {count_text}, members, close))
      requeued = requeued + 1
    else
      local dead_flag = json_find(members, 'dead')
      if not (dead_flag and string.sub(job, dead_flag[3], dead_flag[4]) == 'false') then
        local message = string.format(
          '"the processes running this job died %d times before it finished (killed, out of memory or '
            .. 'crashed); more than max_orphaned=%d, so it was not run again"', count, max_orphaned)
        -- The failure fields Sidekiq's JobRetry writes, so "Retry Now" from the dead set counts right.
        local names = {'orphan_count', 'error_class', 'error_message', 'retry_count'}
        local values = {count_text, '"OrphanedJobError"', message}
        local retries = json_number(job, json_find(members, 'retry_count'))
        if retries then
          values[4] = string.format('%d', retries + 1)
          names[5], values[5] = 'retried_at', ARGV[1]
        else
          values[4] = '0'
          names[5], values[5] = 'failed_at', ARGV[1]
        end
        local edited = json_set(job, names, values, members, close)
        redis.call('ZADD', KEYS[6], ARGV[1], edited)
        redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', ARGV[4])
        redis.call('ZREMRANGEBYRANK', KEYS[6], 0, -(tonumber(ARGV[5]) + 1))
      end
      killed = killed + 1
    end
  end
end
local left = redis.call('LLEN', KEYS[3])
if left == 0 then redis.call('SREM', KEYS[1], KEYS[3]) end
return {requeued, killed, left, report}
