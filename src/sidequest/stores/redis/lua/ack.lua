-- Ack: forget finished jobs, but only those still in the owner's in-flight list. A job a rescuer has
-- already given back to its queue (the owner's lease lapsed) is left alone: removing it from the queue
-- would lose a job another process may now run. An in-flight key that another application turned into
-- something else than a list holds none of our jobs: it is skipped and reported, the others are acked.
--
-- KEYS[i]   queue:sq|<owner>|<queue of job i>   LIST, the owner's in-flight list holding job i
-- ARGV[i]   the exact raw JSON of job i, as claimed
-- Returns {how many jobs were removed, {key, actual type, expected type, ...} of skipped keys}.

local removed, report, bad = 0, {}, {}
for i = 1, #KEYS do
  if bad[KEYS[i]] == nil then bad[KEYS[i]] = bad_key(report, KEYS[i], 'list') end
  if not bad[KEYS[i]] then
    -- From the tail (-1): the in-flight list is oldest-last and jobs mostly finish in claim order.
    removed = removed + redis.call('LREM', KEYS[i], -1, ARGV[i])
  end
end
return {removed, report}
