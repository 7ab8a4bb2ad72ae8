-- Claim held warnings that are due: move each one's score to the lease end, so that a notifier
-- that crashes mid-delivery leaves it to be claimed again when the lease runs out.
-- KEYS[1] held ZSET (event_id scored by release time, service ms)
-- KEYS[2] held HASH (event_id -> warning JSON)
-- ARGV[1] now (ms)   ARGV[2] lease end (ms)   ARGV[3] at most this many
-- Returns a flat list: event_id, payload (or false when the payload is gone), ...
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(due) do
  redis.call('ZADD', KEYS[1], 'XX', ARGV[2], id)
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGET', KEYS[2], id)
end
return out
