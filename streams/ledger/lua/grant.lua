-- Campaign grant: one lot per campaign and customer. The customer's "U<code>" marker holds
-- "<event tag>\30<digest>" of the launch that granted it (the tag: 16 hex digits of the
-- event_id's SHA-1, so the marker stays short whatever the id): the same launch again is a
-- duplicate, the same event_id with another payload a conflict, another launch of the campaign
-- a no-op.
-- KEYS: customer hash, shard timers, shard outbox, shard names, the customer's index bucket.
-- ARGV[1]: JSON {digest, ret, event, customer, expect, now, lot = plan, hot? (HOT)}.
--   and wday = [max warnings per day, start of now's day, of the next] (warning_cap).
local ckey, tkey, xkey = KEYS[1], KEYS[2], KEYS[3]
NAMES = KEYS[4]
INDEX = KEYS[5]
local req = cjson.decode(ARGV[1])
local p = req.lot
need_str(req.event, 'event id')
local tag = string.sub(redis.sha1hex(req.event), 1, 16)

local code = redis.call('HGET', NAMES, '=' .. p.origin)
if code then
  local marker = redis.call('HGET', ckey, 'U' .. code)
  if marker then
    local i = string.find(marker, RS, 1, true)
    if i and string.sub(marker, 1, i - 1) == tag then
      if string.sub(marker, i + 1) == req.digest then
        return cjson.encode({status = 'duplicate', original = 'applied'})
      end
      return cjson.encode({status = 'conflict'})
    end
    return cjson.encode({status = 'already_granted'})
  end
end
local stale = version_moved(ckey, req.expect)
if stale then return stale end
local now = request_now(req)
need_str(req.event, 'event id')
need_str(req.digest, 'digest')
check_plan(p)
if string.sub(p.origin, 1, 2) ~= 'c:' then error('ledger: a grant is a campaign lot') end

local st = load(ckey, req.ret, now)
st.customer = req.customer
p.once = true
p.marker = tag .. RS .. req.digest
local lot = make_lot(st, p, req.event)
advance(st, now)
local v = finish(st, now, tkey, xkey)
local lots = {}
if lot then lots[1] = {lot.id, I(lot.orig)} end
return cjson.encode({status = 'applied', version = I(v), lots = lots, skipped = {}})
