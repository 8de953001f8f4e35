-- Checked: MULTI/EXEC with preconditions. MULTI does not roll back either (a command that fails inside
-- it leaves the others applied: the stats of a beat counted while its SADD failed), so the commands
-- that write several keys (push, beat, unregister, signal, clear) run here: every key's type is checked
-- first, and only then is anything written.
--
-- KEYS[i]          a key the commands write
-- ARGV[i]          its expected type ('list', 'set', 'zset', 'hash', 'string', 'integer'), i <= #KEYS
-- ARGV[#KEYS+1..]  the commands, each as its argument count followed by the command and its arguments
--                  (the caller keeps each command under a few thousand arguments: Lua's unpack limit)
-- Returns every command's reply in order, as EXEC does, or SQWRONGTYPE (nothing written).

for i = 1, #KEYS do
  local err = key_type_error(KEYS[i], ARGV[i])
  if err then return err end
end
local out, i = {}, #KEYS + 1
while i <= #ARGV do
  local argc = tonumber(ARGV[i])
  out[#out + 1] = redis.call(unpack(ARGV, i + 1, i + argc))
  i = i + argc + 1
end
return out
