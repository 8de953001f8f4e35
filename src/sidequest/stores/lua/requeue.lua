-- Requeue: give jobs the owner still holds back to the fetch (right) end of their queues, payloads
-- untouched, so they run next (shutdown: it spends no retry). Jobs the owner no longer holds are skipped.
--
-- KEYS[1]       queues                       SET of queue names (Sidekiq's)
-- KEYS[2i]      queue:sq|<owner>|<queue i>   LIST, the owner's in-flight list holding job i
-- KEYS[2i+1]    queue:<queue i>              LIST, the queue job i came from
-- ARGV[2i-1]    the exact raw JSON of job i
-- ARGV[2i]      the name of queue i (for the queues SET)
-- The caller passes the jobs newest first, so the oldest ends up rightmost and runs first again.
-- Returns how many jobs moved.

local moved = 0
for i = 1, #ARGV / 2 do
  local job = ARGV[2 * i - 1]
  if redis.call('LREM', KEYS[2 * i], -1, job) == 1 then
    redis.call('SADD', KEYS[1], ARGV[2 * i])
    redis.call('RPUSH', KEYS[2 * i + 1], job)
    moved = moved + 1
  end
end
return moved
