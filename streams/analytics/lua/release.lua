-- Give the closer's lease back if this worker holds it. KEYS: the lease. ARGV: the token.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
