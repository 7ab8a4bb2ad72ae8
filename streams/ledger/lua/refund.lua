-- Claw back: a Refund takes back, from every lot of the order, up to the cumulative target
-- Python computed (exact decimal share, floored) minus what was already clawed back. What the
-- lot no longer holds (spent or burned) is reported as points_unrecovered.
-- KEYS: customer hash, shard timers, shard outbox, shard names, idempotency key.
-- ARGV[1]: JSON {digest, ttl, ret, customer, expect, now, event, order, refunded,
--   targets = {lot: n}, seen (the caller found the order), hot? (HOT)}.
--   and wday = [max warnings per day, start of now's day, of the next] (warning_cap).
local ckey, tkey, xkey, ikey = KEYS[1], KEYS[2], KEYS[3], KEYS[5]
NAMES = KEYS[4]
local req = cjson.decode(ARGV[1])

local dup = seen_before(ikey, req.digest)
if dup then return dup end
local stale = version_moved(ckey, req.expect)
if stale then return stale end
local now = request_now(req)
need_int(req.ttl, 'ttl')
need_str(req.event, 'event id')
need_str(req.order, 'order id')
need_str(req.refunded, 'refunded amount')

local st = load(ckey, req.ret, now)
st.customer = req.customer
local moved = order_moved(st, req.order, req.seen)
if moved then return moved end
-- advance() only changes memory; finish() writes. So checking after it is still before writes.
advance(st, now)
local order = st.orders[req.order]
if order then
  for _, lot in ipairs(order.lots) do
    local target = need_int(req.targets[lot.id], 'clawback target of ' .. lot.id)
    if target < lot.clawed or target > lot.orig then
      error('ledger: clawback target out of range')
    end
  end
end
local status = 'unknown_order'
if order then
  status = 'applied'
  for _, lot in ipairs(order.lots) do
    local due = req.targets[lot.id] - lot.clawed
    if due > 0 then
      -- A retained lot (spent or burned) has rem 0: nothing to take back.
      local take = math.min(due, lot.rem)
      lot.rem = lot.rem - take
      lot.clawed = lot.clawed + due
      if lot.rem == 0 then retire(st, lot) else save_lot(lot, st) end
      add_total(st, 'tc', take)
      emit(st, 'clawed_back', origin(lot, {lot = lot.id, pts = I(due), unrec = I(due - take),
                                           src = req.event}))
    end
  end
  order.refunded = req.refunded
  put_order(st, req.order, order)
  st.changed = true
end
local v = finish(st, now, tkey, xkey)
remember(ikey, req.digest, status, req.ttl)
return cjson.encode({status = status, version = I(v)})
