-- Stage a closed window's events for publication, unless it was staged or published before:
-- the first computation of a window is the only one ever published.
-- KEYS: closer pending (HASH), closer done (ZSET). ARGV: window id, events (JSON). Returns 1 if
-- staged now, 0 if it already was (or was published).
if redis.call('ZSCORE', KEYS[2], ARGV[1]) or redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
