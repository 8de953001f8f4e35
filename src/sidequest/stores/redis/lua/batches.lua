-- Batches (Sidekiq Pro's layout, sidequest's fields): adding jobs to batches, and recording their
-- outcomes, each with every transition it causes and every callback push, in one script.
--
-- b-<bid>           HASH  parent, desc, created_at, linger, tail (the status's static JSON end),
--                         callbacks (JSON [[event, jid, queue, template], ...]), total,
--                         fired:<event> (the time it fired)
-- b-<bid>-pending   SET   members not yet succeeded (a jid, or b-<child bid>)
-- b-<bid>-unrun     SET   members that never ran
-- b-<bid>-failed    SET   members that failed and have not succeeded since
-- batches           ZSET  bid, score created_at
--
-- KEYS      every key the Python side knows will be written, for the type check before any write
-- ARGV[1]   'add' or 'record'
-- ARGV[2]   now as float seconds text (also the callbacks' created_at/enqueued_at)
-- ARGV[3]   seconds an unfinished batch is kept
-- ARGV[4]   the JSON kinds of KEYS, in order ('hash', 'set', 'list', 'zset')
-- ARGV[5]   add: JSON [{bid, new: {parent, desc, created_at, linger, tail, callbacks} (optional),
--                       jids: [...], queued: [[queue, text], ...], scheduled: [[score, text], ...]}]
--           record: JSON [[bid, jid, kind], ...], kind 'success' | 'failure' | 'death'
-- Returns add: {'ok'} or {'missing', bid} (nothing written); record: the number of callbacks pushed.

local kinds = cjson.decode(ARGV[4])
local pairs_ = {}
for i, key in ipairs(KEYS) do
  pairs_[#pairs_ + 1] = key
  pairs_[#pairs_ + 1] = kinds[i]
end
local err = key_types_error(pairs_)
if err then return err end

local now_text = ARGV[2]
local now = tonumber(now_text)
local ttl = tonumber(ARGV[3])
local EVENTS = {'death', 'complete', 'success'}
local SUFFIXES = {'', '-pending', '-unrun', '-failed'}

local function bkey(bid) return 'b-' .. bid end

local function push_queue(queue, text)
  redis.call('SADD', 'queues', queue)
  redis.call('LPUSH', 'queue:' .. queue, text)
end

local function add_members(bid, members)
  local k = bkey(bid)
  local added = 0
  for _, m in ipairs(members) do
    if redis.call('SADD', k .. '-pending', m) == 1 then
      redis.call('SADD', k .. '-unrun', m)
      added = added + 1
    end
  end
  if added > 0 then redis.call('HINCRBY', k, 'total', added) end
end

-- Sets created after their hash got its TTL get the hash's remaining time.
local function touch(bid)
  local k = bkey(bid)
  local left = redis.call('PTTL', k)
  if left > 0 then
    for _, suffix in ipairs(SUFFIXES) do redis.call('PEXPIRE', k .. suffix, left) end
  end
end

local function expire_all(bid, seconds)
  local k = bkey(bid)
  local ms = math.max(1, math.floor(seconds * 1000))
  for _, suffix in ipairs(SUFFIXES) do redis.call('PEXPIRE', k .. suffix, ms) end
end

local function mark_success(bid, member)
  local k = bkey(bid)
  if redis.call('SREM', k .. '-pending', member) == 1 then
    redis.call('SREM', k .. '-unrun', member)
    redis.call('SREM', k .. '-failed', member)
    return 1
  end
  return 0
end

local function mark_failure(bid, member)
  local k = bkey(bid)
  if redis.call('SISMEMBER', k .. '-pending', member) == 1 then
    redis.call('SREM', k .. '-unrun', member)
    redis.call('SADD', k .. '-failed', member)
    return 1
  end
  return 0
end

local function replace_plain(text, mark, value, once)
  local out, start = {}, 1
  while true do
    local i, j = string.find(text, mark, start, true)
    if not i then break end
    out[#out + 1] = string.sub(text, start, i - 1)
    out[#out + 1] = value
    start = j + 1
    if once then break end
  end
  out[#out + 1] = string.sub(text, start)
  return table.concat(out)
end

local settle

local function tell_parent(parent, bid, fired, failures, count)
  local pk = bkey(parent)
  if redis.call('EXISTS', pk) == 0 then return count end
  local member = 'b-' .. bid
  local died = false
  if fired['death'] and redis.call('SISMEMBER', pk .. '-pending', member) == 1 then died = true end
  if fired['success'] then
    mark_success(parent, member)
  elseif fired['complete'] and failures > 0 then
    mark_failure(parent, member)
  end
  count = settle(parent, died, count)
  touch(parent)
  return count
end

settle = function(bid, died, count)
  local k = bkey(bid)
  if redis.call('EXISTS', k) == 0 then return count end
  local unrun = redis.call('SCARD', k .. '-unrun')
  local pending = redis.call('SCARD', k .. '-pending')
  local fired, any = {}, false
  if died and redis.call('HEXISTS', k, 'fired:death') == 0 then fired['death'] = true; any = true end
  if unrun == 0 and redis.call('HEXISTS', k, 'fired:complete') == 0 then fired['complete'] = true; any = true end
  if pending == 0 and redis.call('HEXISTS', k, 'fired:success') == 0 then fired['success'] = true; any = true end
  if not any then return count end
  local failed = redis.call('SMEMBERS', k .. '-failed')
  table.sort(failed)
  local failures = #failed
  local shown = {}
  for i = 1, math.min(failures, 1000) do shown[i] = failed[i] end
  local failed_json = failures == 0 and '[]' or cjson.encode(shown)
  local meta = redis.call('HMGET', k, 'total', 'tail', 'parent', 'callbacks', 'linger')
  -- A hash edited by hand still settles (never an error that would hold every outcome back).
  meta[2] = meta[2] or ('"bid":' .. cjson.encode(bid) .. '}')
  meta[4] = meta[4] or '[]'
  meta[5] = tonumber(meta[5]) or 86400
  local status = '{"total":' .. (tonumber(meta[1]) or 0) .. ',"pending":' .. pending .. ',"failures":' .. failures ..
    ',"failed_jids":' .. failed_json .. ',' .. meta[2]
  local parent = meta[3]
  if parent == '' then parent = false end
  for _, event in ipairs(EVENTS) do
    if fired[event] then redis.call('HSET', k, 'fired:' .. event, now_text) end
  end
  local callbacks = {}
  for _, cb in ipairs(cjson.decode(meta[4])) do callbacks[cb[1]] = cb end
  for _, event in ipairs(EVENTS) do
    local cb = callbacks[event]
    if fired[event] and cb then
      -- A child's callback is a member of its parent: the parent finishes after it ran.
      if parent and redis.call('EXISTS', bkey(parent)) == 1 then add_members(parent, {cb[2]}) end
      -- As fill_template in batch_records.py: the status mark once (the args come before any
      -- option text), then every time mark.
      local text = replace_plain(cb[4], '"__sidequest_batch_status__"', status, true)
      text = replace_plain(text, '"__sidequest_batch_now__"', now_text, false)
      push_queue(cb[3], text)
      count = count + 1
    end
  end
  if fired['success'] then
    expire_all(bid, meta[5])
  else
    touch(bid)
  end
  if parent then count = tell_parent(parent, bid, fired, failures, count) end
  return count
end

-- Before the first write: every key a settle of batch bid (and of its ancestors) may write holds its
-- type, or nothing. Returns the error reply of the first that does not, else nil.
local function check_tree(bid)
  local seen = 0
  while bid and bid ~= '' and seen < 100 do
    seen = seen + 1
    local k = bkey(bid)
    local problem = key_types_error({k, 'hash', k .. '-pending', 'set', k .. '-unrun', 'set', k .. '-failed', 'set'})
    if problem then return problem end
    if redis.call('EXISTS', k) == 0 then return nil end
    local meta = redis.call('HMGET', k, 'callbacks', 'parent')
    local ok, callbacks = pcall(cjson.decode, meta[1] or '[]')
    if ok and type(callbacks) == 'table' then
      for _, cb in ipairs(callbacks) do
        if type(cb) == 'table' and type(cb[3]) == 'string' then
          problem = key_types_error({'queues', 'set', 'queue:' .. cb[3], 'list'})
          if problem then return problem end
        end
      end
    end
    bid = meta[2]
  end
  return nil
end

local ops = cjson.decode(ARGV[5])

if ARGV[1] == 'record' then
  local order, by_bid = {}, {}
  for _, item in ipairs(ops) do
    local bid = item[1]
    if not by_bid[bid] then by_bid[bid] = {}; order[#order + 1] = bid end
    table.insert(by_bid[bid], item)
  end
  for _, bid in ipairs(order) do
    local problem = check_tree(bid)
    if problem then return problem end
  end
  local count = 0
  for _, bid in ipairs(order) do
    if redis.call('EXISTS', bkey(bid)) == 1 then
      local died = false
      for _, item in ipairs(by_bid[bid]) do
        if item[3] == 'success' then
          mark_success(bid, item[2])
        elseif mark_failure(bid, item[2]) == 1 and item[3] == 'death' then
          died = true
        end
      end
      count = settle(bid, died, count)
      touch(bid)
    end
  end
  return count
end

-- add: check every batch exists (or is created earlier in this call) before the first write.
local known = {}
for _, op in ipairs(ops) do
  if op['new'] then
    local parent = op['new']['parent']
    if parent and parent ~= cjson.null and not known[parent] then
      if redis.call('EXISTS', bkey(parent)) == 0 then return {'missing', parent} end
      local problem = check_tree(parent)
      if problem then return problem end
    end
    known[op['bid']] = true
  elseif not known[op['bid']] then
    local problem = check_tree(op['bid'])
    if problem then return problem end
    local k = bkey(op['bid'])
    if redis.call('EXISTS', k) == 0 or redis.call('HEXISTS', k, 'fired:success') == 1 then
      return {'missing', op['bid']}
    end
  end
end
redis.call('ZREMRANGEBYSCORE', 'batches', '-inf', '(' .. tostring(now - ttl))
local created = {}
for _, op in ipairs(ops) do
  local bid = op['bid']
  local k = bkey(bid)
  local new = op['new']
  -- A batch created already (a client that retried after a lost reply) is added to, not reset.
  if new and redis.call('EXISTS', k) == 1 then new = nil end
  if new then
    local parent = new['parent']
    if parent == cjson.null then parent = '' end
    redis.call('HSET', k, 'parent', parent, 'desc', new['desc'], 'created_at', new['created_at'],
      'linger', new['linger'], 'tail', new['tail'], 'callbacks', new['callbacks'], 'total', 0)
    redis.call('ZADD', 'batches', new['created_at'], bid)
    if parent ~= '' then
      add_members(parent, {'b-' .. bid})
      redis.call('EXPIRE', bkey(parent), ttl)
      touch(parent)
    end
    created[#created + 1] = bid
  end
  add_members(bid, op['jids'])
  for _, job in ipairs(op['queued']) do push_queue(job[1], job[2]) end
  for _, job in ipairs(op['scheduled']) do redis.call('ZADD', 'schedule', job[1], job[2]) end
  redis.call('EXPIRE', k, ttl)
  touch(bid)
end
for i = #created, 1, -1 do settle(created[i], false, 0) end
return {'ok'}
