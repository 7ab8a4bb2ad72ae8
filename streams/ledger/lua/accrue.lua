-- Accrue: a Purchase or AppInstall becomes lots (caps and once-per-customer decided HERE, so
-- they hold under duplicates and overlapping workers); a Purchase also updates the customer's
-- statistics and its order record (for refunds).
-- KEYS: customer hash, shard timers, shard outbox, shard names, idempotency key, the
-- customer's bucket of the shard's customer index.
-- ARGV[1]: JSON {digest, ttl, ret, customer, expect, now, src, stats?, order? = {id, amount,
--   seen (the caller found the order)}, lots = [plan...], maxf? (the record's field cap, see
--   over_limit), hot? (HOT)}
--   and wday = [max warnings per day, start of now's day, of the next] (warning_cap).
local ckey, tkey, xkey, ikey = KEYS[1], KEYS[2], KEYS[3], KEYS[5]
NAMES = KEYS[4]
INDEX = KEYS[6]
local req = cjson.decode(ARGV[1])

local dup = seen_before(ikey, req.digest)
if dup then return dup end
local stale = version_moved(ckey, req.expect)
if stale then return stale end
local full = over_limit(ckey, #req.lots, req.maxf)
if full then return full end

local now = request_now(req)
need_int(req.ttl, 'ttl')
need_str(req.src, 'source event id')
for _, p in ipairs(req.lots) do check_plan(p) end
if req.stats then
  need_int(req.stats.n, 'purchases')
  need_str(req.stats.t, 'total amount')
  need_int(req.stats.p, 'last purchase')
end
if req.order then
  need_str(req.order.id, 'order id')
  need_str(req.order.amount, 'order amount')
end

local st = load(ckey, req.ret, now)
st.customer = req.customer
if req.order then
  local moved = order_moved(st, req.order.id, req.order.seen)
  if moved then return moved end
end
local made, skipped = {}, {}
for _, p in ipairs(req.lots) do
  local lot, why = make_lot(st, p, req.src)
  if lot then made[#made + 1] = lot else skipped[#skipped + 1] = {p.id, why} end
end
if req.stats then
  set_meta(st, 'n', I(req.stats.n))
  set_meta(st, 't', req.stats.t)
  set_meta(st, 'p', I(req.stats.p))
  st.changed = true
end
if req.order then
  local order = st.orders[req.order.id]
  if order or #made > 0 then
    order = order or new_order(st)
    order.amount = req.order.amount
    for _, lot in ipairs(made) do
      lot.oref, lot.k = order.ref, #order.lots
      table.insert(order.lots, lot)
      if lot.exp + st.ret > order.deadline then order.deadline = lot.exp + st.ret end
    end
    put_order(st, req.order.id, order)
    st.changed = true
  end
end
advance(st, now)
local v = finish(st, now, tkey, xkey)
local lots = {}
for _, lot in ipairs(made) do lots[#lots + 1] = {lot.id, I(lot.orig)} end
remember(ikey, req.digest, 'applied', req.ttl)
return cjson.encode({status = 'applied', version = I(v), lots = lots, skipped = skipped})
