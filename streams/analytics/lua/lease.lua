-- Take or keep the closer's lease. KEYS: the lease. ARGV: this worker's token, ttl (real ms).
-- Returns 1 while this worker holds it, 0 when another does.
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
