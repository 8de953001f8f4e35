-- Library (prepended to the scripts that edit payloads; touches no key).
--
-- Edits top-level fields of a job's JSON text in place, keeping every other byte as it was.
-- Why not cjson.decode + cjson.encode: cjson turns an empty array [] into {} (a Ruby or Python job
-- would then get a Hash/dict argument), prints floats with 14 significant digits (created_at loses
-- its sub-second part) and reorders keys. Editing the text avoids all three.
--
--   json_members(s [, stop])      -> list of {key, key_start, value_start, value_end}, index of the
--                                    closing '}' (nil when s is not a JSON object). With stop, a
--                                    set {key = true, ...}, it stops as soon as every key in stop has
--                                    been seen and returns no closing index (a faster partial scan).
--   json_set(s, names, values [, members, close])
--                                 -> s with each top-level names[i] set to the JSON text values[i]
--                                    (replaced where present, appended before '}' where absent),
--                                    or nil when s is not a JSON object. members/close: a
--                                    json_members(s) result, to avoid scanning twice; a partial one
--                                    (close = nil) is enough when it holds every name to replace.
--   json_find(members, key)       -> the member named key (the last one if it repeats), or nil.
--   json_string(s, member)        -> the decoded string value of a member, or nil if not a string.
--   json_number(s, member)        -> the numeric value of a member, or nil if not a number.

local sfind, ssub, sbyte = string.find, string.sub, string.byte

-- Index of the quote closing the JSON string that opens at i, skipping escaped characters.
local function json_string_end(s, i)
  local j = i + 1
  while true do
    local p = sfind(s, '["\\]', j)
    if not p then return nil end
    if sbyte(s, p) == 92 then j = p + 2 else return p end
  end
end

-- Index of the last character of the JSON value that starts at i.
local function json_value_end(s, i)
  local c = sbyte(s, i)
  if c == 34 then return json_string_end(s, i) end
  if c == 123 or c == 91 then
    local depth, j = 0, i
    while true do
      local p = sfind(s, '[%[%]{}"]', j)
      if not p then return nil end
      local b = sbyte(s, p)
      if b == 34 then
        p = json_string_end(s, p)
        if not p then return nil end
      elseif b == 123 or b == 91 then
        depth = depth + 1
      else
        depth = depth - 1
        if depth == 0 then return p end
      end
      j = p + 1
    end
  end
  local p = sfind(s, '[,}%]%s]', i)
  if not p or p == i then return nil end
  return p - 1
end

local function json_members(s, stop)
  local wanted = 0
  if stop then for _ in pairs(stop) do wanted = wanted + 1 end end
  local i = sfind(s, '%S')
  if not i or sbyte(s, i) ~= 123 then return nil end
  local out = {}
  i = sfind(s, '%S', i + 1)
  if not i then return nil end
  if sbyte(s, i) == 125 then return out, i end
  while true do
    if sbyte(s, i) ~= 34 then return nil end
    local key_end = json_string_end(s, i)
    if not key_end then return nil end
    local key = ssub(s, i + 1, key_end - 1)
    local colon = sfind(s, '%S', key_end + 1)
    if not colon or sbyte(s, colon) ~= 58 then return nil end
    local vs = sfind(s, '%S', colon + 1)
    if not vs then return nil end
    local ve = json_value_end(s, vs)
    if not ve then return nil end
    out[#out + 1] = {key, i, vs, ve}
    if stop and stop[key] then
      stop[key] = nil
      wanted = wanted - 1
      if wanted == 0 then return out, nil end
    end
    local n = sfind(s, '%S', ve + 1)
    if not n then return nil end
    local b = sbyte(s, n)
    if b == 125 then return out, n end
    if b ~= 44 then return nil end
    i = sfind(s, '%S', n + 1)
    if not i then return nil end
  end
end

-- The member named key (the last one when a key repeats: JSON parsers keep the last), or nil.
local function json_find(members, key)
  local found = nil
  for idx = 1, #members do
    if members[idx][1] == key then found = members[idx] end
  end
  return found
end

local function json_set(s, names, values, members, close)
  if not members then members, close = json_members(s) end
  if not members then return nil end
  local replace, append = {}, {}
  for k = 1, #names do
    local m = json_find(members, names[k])
    if m then
      replace[#replace + 1] = {m[3], m[4], values[k]}
    else
      append[#append + 1] = '"' .. names[k] .. '":' .. values[k]
    end
  end
  if #append > 0 and not close then
    -- After a partial scan: the object's closing brace is its last non-blank character.
    close = #s
    while close > 0 and sbyte(s, close) <= 32 do close = close - 1 end
    if close == 0 or sbyte(s, close) ~= 125 then return nil end
  end
  if #replace == 0 then  -- the common case (a job promoted from the schedule): one concatenation
    return ssub(s, 1, close - 1) .. (#members > 0 and ',' or '') .. table.concat(append, ',') .. ssub(s, close)
  end
  table.sort(replace, function(a, b) return a[1] < b[1] end)
  local parts, cur = {}, 1
  for k = 1, #replace do
    parts[#parts + 1] = ssub(s, cur, replace[k][1] - 1)
    parts[#parts + 1] = replace[k][3]
    cur = replace[k][2] + 1
  end
  if #append == 0 then
    parts[#parts + 1] = ssub(s, cur)
    return table.concat(parts)
  end
  parts[#parts + 1] = ssub(s, cur, close - 1)
  if #members > 0 then parts[#parts + 1] = ',' end
  parts[#parts + 1] = table.concat(append, ',')
  parts[#parts + 1] = ssub(s, close)
  return table.concat(parts)
end

local function json_string(s, member)
  if not member or sbyte(s, member[3]) ~= 34 then return nil end
  local raw = ssub(s, member[3], member[4])
  if not sfind(raw, '\\', 1, true) then return ssub(raw, 2, -2) end
  -- Decoding a lone string is safe with cjson; only arrays, objects and floats are at risk.
  local ok, value = pcall(cjson.decode, raw)
  if ok and type(value) == 'string' then return value end
  return nil
end

local function json_number(s, member)
  if not member then return nil end
  return tonumber(ssub(s, member[3], member[4]))
end
