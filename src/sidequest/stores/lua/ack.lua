-- Ack: forget finished jobs, but only those still in the owner's in-flight list. A job a rescuer has
-- already given back to its queue (the owner's lease lapsed) is left alone: removing it from the queue
-- would lose a job another process may now run.
--
-- KEYS[i]   queue:sq|<owner>|<queue of job i>   LIST, the owner's in-flight list holding job i
-- ARGV[i]   the exact raw JSON of job i, as claimed
-- Returns how many jobs were removed.

local removed = 0
for i = 1, #KEYS do
  -- From the tail (-1): the in-flight list is oldest-last and jobs mostly finish in claim order.
  removed = removed + redis.call('LREM', KEYS[i], -1, ARGV[i])
end
return removed
