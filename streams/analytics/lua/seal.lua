-- Seal a shard's windows up to ARGV[1] (epoch ms): from now on the ledger scripts count no
-- event into a window that starts before it (count() in streams/ledger/lua/lib.lua).
-- KEYS: the shard's metrics state. Returns the sealed mark now in force.
local mark = tonumber(ARGV[1])
local cur = tonumber(redis.call('HGET', KEYS[1], 'sealed') or '0')
if mark > cur then
  redis.call('HSET', KEYS[1], 'sealed', ARGV[1])
  return ARGV[1]
end
return string.format('%d', cur)
