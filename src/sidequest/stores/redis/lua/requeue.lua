-- Requeue: give jobs the owner still holds back to the fetch (right) end of their queues, payloads
-- untouched, so they run next (shutdown: it spends no retry). Jobs the owner no longer holds are skipped,
-- and so are jobs whose queue or in-flight list another application turned into another type: they stay
-- in the in-flight list (rescued once the key is fixed), and the key is reported.
--
-- KEYS[1]       queues                       SET of queue names (Sidekiq's)
-- KEYS[2i]      queue:sq|<owner>|<queue i>   LIST, the owner's in-flight list holding job i
-- KEYS[2i+1]    queue:<queue i>              LIST, the queue job i came from
-- ARGV[2i-1]    the exact raw JSON of job i
-- ARGV[2i]      the name of queue i (for the queues SET)
-- The caller passes the jobs newest first, so the oldest ends up rightmost and runs first again.
-- Returns {how many jobs moved, {key, actual type, expected type, ...} of skipped keys}, or SQWRONGTYPE
-- (nothing written) when `queues` holds another type.

local err = key_type_error(KEYS[1], 'set')
if err then return err end
local moved, report, bad = 0, {}, {}
for i = 1, #ARGV / 2 do
  local job, from, to = ARGV[2 * i - 1], KEYS[2 * i], KEYS[2 * i + 1]
  if bad[from] == nil then bad[from] = bad_key(report, from, 'list') end
  if bad[to] == nil then bad[to] = bad_key(report, to, 'list') end
  if not bad[from] and not bad[to] and redis.call('LREM', from, -1, job) == 1 then
    redis.call('SADD', KEYS[1], ARGV[2 * i])
    redis.call('RPUSH', to, job)
    moved = moved + 1
  end
end
return {moved, report}
