-- Release unique: delete unique jobs' locks, each only while the jid that took it still holds it. A
-- lock that expired and was taken by a later job carries that job's jid and is left alone. A lock key
-- another application turned into another type holds no jid of ours: skipped and reported.
--
-- KEYS[i]   sq|unique|<digest>   STRING, a lock
-- ARGV[i]   the jid that took lock i
-- Returns {how many locks were deleted, {key, actual type, expected type, ...} of skipped keys}.

local released, report = 0, {}
for i = 1, #KEYS do
  if not bad_key(report, KEYS[i], 'string') and redis.call('GET', KEYS[i]) == ARGV[i] then
    released = released + redis.call('DEL', KEYS[i])
  end
end
return {released, report}
