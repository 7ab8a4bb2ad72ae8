-- Fire one customer's due timers at `now` (the service clock, from the caller): warnings
-- (coalesced, once per lead), activations, burns, order-record expiry; then reschedule the
-- customer's single entry in the shard's timer index. Naturally idempotent: state, not
-- events, decides what is due.
-- KEYS: customer hash, shard timers, shard outbox, shard names.
-- ARGV: customer id, now (ms), order retention (ms), max warnings per day, start of now's day
-- and of the next day (ms, in the rules' time zone), and optionally the hot lots limit (HOT).
local ckey, tkey, xkey = KEYS[1], KEYS[2], KEYS[3]
NAMES = KEYS[4]
local customer = ARGV[1]
local now = need_int(tonumber(ARGV[2]), 'now')
WCAP = warning_cap({tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])}, now)
if ARGV[7] then HOT = need_int(tonumber(ARGV[7]), 'hot lots') end
if redis.call('EXISTS', ckey) == 0 then
  redis.call('ZREM', tkey, customer)
  return cjson.encode({status = 'gone'})
end
local st = load(ckey, tonumber(ARGV[3]), now)
st.customer = customer
advance(st, now)
local v = finish(st, now, tkey, xkey)
return cjson.encode({status = 'fired', version = I(v), events = #st.out})
