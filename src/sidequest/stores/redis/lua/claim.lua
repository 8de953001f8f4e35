-- Claim: move up to `limit` jobs from the fetch (right) end of each queue, in the order given, to the
-- head of the owner's in-flight list for that queue. Atomic: a job is always in exactly one list, so a
-- kill -9 of the caller at any instant loses nothing (the rescuer finds the in-flight list). A queue
-- whose list or in-flight list another application turned into another type is skipped (its jobs stay
-- where they are) and reported, so the other queues are still served. A paused queue (its name is in
-- Sidekiq Pro's `paused` SET) is not taken from; its jobs wait for a resume.
--
-- KEYS[1]          sq|inflight            SET of in-flight list keys (the rescuers' registry)
-- KEYS[2]          paused                 SET of paused queue names (Sidekiq Pro's Queue#pause!)
-- KEYS[2k+1]       queue:<name k>         LIST, Sidekiq's queue (LPUSH by clients, next job at the right)
-- KEYS[2k+2]       queue:sq|<owner>|<name k>  LIST, the owner's in-flight jobs from that queue
-- ARGV[1]          limit                  the most jobs to move in this call
-- ARGV[k+1]        name k                 the queue's name, as listed in `paused`
-- Returns one array per queue, in KEYS order, of the raw jobs moved (oldest first), then one array
-- {key, actual type, expected type, ...} of the keys skipped, then the names of the paused queues
-- asked for. SQWRONGTYPE when sq|inflight is wrong. A `paused` key of another type is reported and
-- read as "nothing paused": a broken pause flag must not stop every queue.

local err = key_type_error(KEYS[1], 'set')
if err then return err end
local want = tonumber(ARGV[1])
local out, report, paused = {}, {}, {}
local pause_readable = not bad_key(report, KEYS[2], 'set')
for k = 3, #KEYS, 2 do
  local moved = {}
  local name = ARGV[(k - 1) / 2 + 1]
  local is_paused = pause_readable and redis.call('SISMEMBER', KEYS[2], name) == 1
  if is_paused then paused[#paused + 1] = name end
  if want > 0 and not is_paused
      and not bad_key(report, KEYS[k], 'list') and not bad_key(report, KEYS[k + 1], 'list') then
    local jobs = redis.call('RPOP', KEYS[k], want)
    if jobs then
      -- Register before the jobs land, so no job sits in a list the rescuers cannot find.
      redis.call('SADD', KEYS[1], KEYS[k + 1])
      for first = 1, #jobs, 1000 do
        redis.call('LPUSH', KEYS[k + 1], unpack(jobs, first, math.min(first + 999, #jobs)))
      end
      want = want - #jobs
      moved = jobs
    end
  end
  out[#out + 1] = moved
end
out[#out + 1] = report
out[#out + 1] = paused
return out
