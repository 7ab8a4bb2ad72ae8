-- Redeem: all or nothing against ACTIVE points at `now`, earliest expires_at first, then
-- issued_at, then lot_id. Too few points: a rejected RedemptionResult and no lot changes.
-- KEYS: customer hash, shard timers, shard outbox, shard names, idempotency key.
-- ARGV[1]: JSON {digest, ttl, ret, customer, event, order, points, now, hot? (HOT)}.
--   and wday = [max warnings per day, start of now's day, of the next] (warning_cap).
local ckey, tkey, xkey, ikey = KEYS[1], KEYS[2], KEYS[3], KEYS[5]
NAMES = KEYS[4]
local req = cjson.decode(ARGV[1])

local dup = seen_before(ikey, req.digest)
if dup then return dup end
local now = request_now(req)
local want = need_int(req.points, 'points')
if want <= 0 then error('ledger: points must be > 0') end
need_int(req.ttl, 'ttl')
need_str(req.event, 'event id')
need_str(req.order, 'order id')

local st = load(ckey, req.ret, now)
st.customer = req.customer
advance(st, now)
local balance = has_cold(st) and cold_of(st).points or 0
for _, lot in ipairs(live(st, now)) do
  if lot.act <= now then balance = balance + lot.rem end
end
-- Enough points: bring back the cold lots the redemption takes (earliest deadlines first).
if balance >= want then pull_cold(st, now, want) end
local active = {}
for _, lot in ipairs(live(st, now)) do
  if lot.act <= now then active[#active + 1] = lot end
end
local result = {req = req.event, order = req.order, want = I(want)}
local status = 'rejected'
if balance < want then
  result.status, result.got, result.reason, result.bal = status, '0', 'insufficient_balance', I(balance)
  result.lots = {}
else
  status = 'accepted'
  table.sort(active, by_deadline)
  local left, taken = want, {}
  for _, lot in ipairs(active) do
    if left == 0 then break end
    local take = math.min(left, lot.rem)
    lot.rem = lot.rem - take
    left = left - take
    taken[#taken + 1] = origin(lot, {lot = lot.id, pts = I(take), warned = next(lot.warned) ~= nil})
    if lot.rem == 0 then retire(st, lot) else save_lot(lot, st) end
  end
  add_total(st, 'tr', want)
  st.changed = true
  result.status, result.got, result.bal, result.lots = status, I(want), I(balance - want), taken
end
emit(st, 'redemption', result)
local v = finish(st, now, tkey, xkey)
remember(ikey, req.digest, status, req.ttl)
return cjson.encode({status = status, version = I(v), balance = result.bal})
