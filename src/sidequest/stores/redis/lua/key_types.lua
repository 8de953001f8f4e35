-- Library (prepended to every script that writes keys; touches only the keys it is given, read-only).
--
-- Redis does not roll back a script that fails half way: a job taken out of one key is lost when the
-- write to the next key fails (another application ran SET dead x). So every script checks the type of
-- every key it will write, with TYPE (O(1)), before its first destructive command.
--
--   key_type_error(key, kind)   -> nil when key is missing or holds `kind` ('list', 'set', 'zset',
--                                  'hash', 'string', or 'integer': a string holding an integer), else
--                                  the error reply 'SQWRONGTYPE <actual> <expected> <key>' (the Python
--                                  side names the key and what to do; actual 'text' = a non-integer string)
--   key_types_error(pairs)      -> the first such error of {key1, kind1, key2, kind2, ...}, or nil
--   bad_key(report, key, kind)  -> true (and appends {key, actual, expected} to report) when key is of
--                                  the wrong type: for scripts that skip that key and go on with others

local function key_problem(key, kind)
  local actual = redis.call('TYPE', key)['ok']
  if actual == 'none' then return nil end
  if kind == 'integer' then
    if actual ~= 'string' then return actual, 'string' end
    local value = tonumber(redis.call('GET', key))
    if value == nil or value ~= math.floor(value) then return 'text', 'string' end
    return nil
  end
  if actual ~= kind then return actual, kind end
  return nil
end

local function key_type_error(key, kind)
  local actual, expected = key_problem(key, kind)
  if actual then return redis.error_reply('SQWRONGTYPE ' .. actual .. ' ' .. expected .. ' ' .. key) end
  return nil
end

local function key_types_error(pairs)
  for i = 1, #pairs, 2 do
    local err = key_type_error(pairs[i], pairs[i + 1])
    if err then return err end
  end
  return nil
end

local function bad_key(report, key, kind)
  local actual, expected = key_problem(key, kind)
  if not actual then return false end
  report[#report + 1] = key
  report[#report + 1] = actual
  report[#report + 1] = expected
  return true
end
