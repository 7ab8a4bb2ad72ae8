-- A staged window was delivered: remember it as published, forget its events, and forget
-- published windows that ended before ARGV[3] (epoch ms).
-- KEYS: closer pending (HASH), closer done (ZSET). ARGV: window id, its end (ms), prune mark.
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[3])
return 1
