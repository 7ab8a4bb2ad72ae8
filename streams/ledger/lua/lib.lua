-- Shared helpers of the ledger scripts. streams/ledger/scripts.py prepends this file to every
-- script, so each script is still ONE atomic EVALSHA. Layout of keys and packed values:
-- streams/ledger/keys.py. Rules kept here:
--   * nothing before finish() writes, except interning names (idempotent, harmless if the
--     script later fails): a Lua error half-way is not rolled back;
--   * integers stay below 2^53 and are formatted with %d (tostring and cjson print 14 digits);
--   * the time is always `now` from the caller (the service clock), never redis TIME.

local RS, US = '\30', '\31'
local DIG = '0123456789abcdefghijklmnopqrstuvwxyz'

-- The cold tier (keys.py, "Cold tier"): a customer record holding more than HOT lots moves
-- whole units (an order with its lots, or a lot of no order) that nothing will concern for a
-- while into keys of their own, so that an event reads only the hot record and the cold lots
-- it needs. HOT comes with each request (nil: this call demotes nothing). A cold unit wakes
-- (comes back into the record) MARGIN before its next action; every call brings back all
-- units already due and up to EARLY of those waking ahead of time.
local HOT = nil
local MARGIN = 900000
local EARLY = 256
local PAD = 9 -- digits of issued_at (b36 ms) in a member of the cold expiry index
local promote -- function(st, unit id), defined with the cold tier below

local function I(n)
  return string.format('%d', n)
end

local function b36(n)
  if n == 0 then return '0' end
  local sign = ''
  if n < 0 then sign = '-'; n = -n end
  local parts = {}
  while n > 0 do
    local d = n % 36
    table.insert(parts, 1, string.sub(DIG, d + 1, d + 1))
    n = (n - d) / 36
  end
  return sign .. table.concat(parts)
end

local function d36(s)
  if string.sub(s, 1, 1) == '-' then return -tonumber(string.sub(s, 2), 36) end
  return tonumber(s, 36)
end

local function split(s, sep)
  local out, start = {}, 1
  if s == '' then return out end
  while true do
    local i = string.find(s, sep, start, true)
    if not i then out[#out + 1] = string.sub(s, start); return out end
    out[#out + 1] = string.sub(s, start, i - 1)
    start = i + 1
  end
end

-- Byte order (= code point order for UTF-8), like Python's str comparison; Lua's own `<`
-- uses strcoll, which depends on the server's locale.
local function bytes_lt(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

local function need_int(x, what)
  if type(x) ~= 'number' or x ~= math.floor(x) or x < -9007199254740991 or x > 9007199254740991 then
    error('ledger: ' .. what .. ' must be an integer below 2^53, got ' .. tostring(x))
  end
  return x
end

local function need_str(x, what)
  if type(x) ~= 'string' or x == '' then error('ledger: ' .. what .. ' must be a non-empty string') end
  return x
end

-- Times: epoch ms (or ms deltas) as base 36 of SECONDS when whole, else of ms with a '.'
-- suffix; exact either way ("mx4kxcg0." = ms, "tp3x9c" = s).
local function t36(ms)
  if ms % 1000 == 0 then return b36(ms / 1000) end
  return b36(ms) .. '.'
end

local function d36t(s)
  if string.sub(s, -1) == '.' then return d36(string.sub(s, 1, -2)) end
  return d36(s) * 1000
end

-- An optional number: '' stands for `default`.
local function opt(s, default, decode)
  if s == nil or s == '' then return default end
  return decode(s)
end

local function pack_opt(n, default, encode)
  if n == default then return '' end
  return encode(n)
end

-- Interned names: rule ids, campaign ids, leads and lot shapes are stored as short base-36
-- codes.
local NAMES = nil
local name_cache, code_cache = {}, {}
-- The customer's bucket of the shard's index of known customers (HASH id -> creation time,
-- t36): a script that can create a customer record sets it; finish() adds a customer whose
-- record it creates.
local INDEX = nil

local function intern(name)
  local code = code_cache[name]
  if code then return code end
  code = redis.call('HGET', NAMES, '=' .. name)
  if not code then
    code = b36(redis.call('HINCRBY', NAMES, '#', 1))
    redis.call('HSET', NAMES, '=' .. name, code, '#' .. code, name)
  end
  code_cache[name] = code
  name_cache[code] = name
  return code
end

local function name_of(code)
  local name = name_cache[code]
  if name then return name end
  name = redis.call('HGET', NAMES, '#' .. code)
  if not name then error('ledger: unknown name code ' .. code) end
  name_cache[code] = name
  return name
end

-- A lot's shape: what the lots of one rule share, interned once per shard as
-- "s:<origin code>,<c if it counts toward a cap>,<coalesce_until - expires_at>,<plans>" with
-- plans "<lead code>:<expires_at - due>" joined by ';' (times as t36). Names field
-- "~<shape code>" holds the validity (expires_at - issued_at, t36) of the first lot packed
-- with the shape: lots with that validity (all of them, for a rule without round_up_to) store
-- none.
local shape_cache = {}

local function shape_of(code)
  local shape = shape_cache[code]
  if shape then return shape end
  local f = split(string.sub(name_of(code), 3), ',')
  local validity = redis.call('HGET', NAMES, '~' .. code)
  shape = {code = f[1], capped = f[2] == 'c', coal = opt(f[3], 0, d36t), plans = {},
           validity = validity and d36t(validity) or nil}
  for _, spec in ipairs(split(f[4] or '', ';')) do
    local p = split(spec, ':')
    table.insert(shape.plans, {lead = p[1], before = d36t(p[2])})
  end
  shape_cache[code] = shape
  return shape
end

local function shape_code(lot)
  local plans, coal = {}, ''
  for _, w in ipairs(lot.w) do
    plans[#plans + 1] = w.lead .. ':' .. t36(lot.exp - w.due)
    coal = t36(w.coal - lot.exp)
  end
  return intern(table.concat({'s:' .. lot.code, lot.capped and 'c' or '', coal,
                              table.concat(plans, ';')}, ','))
end

-- A lot in memory: id, code (origin), capped (counts toward its rule's cap), orig, rem (0: a
-- retained lot, see retire), iss, act, exp, oref/k (its order's ref and its place in it),
-- clawed, warned = set of lead codes already warned (its own leads or others' that covered
-- it), w = its own warning plans {lead = code, due = ms, coal = ms}, kept after warning.
-- Packed: shape,orig,iss,oref,exp-iss,rem,act-iss,k,warned,clawed (trailing '' dropped;
-- oref '' = none, exp-iss '' = the shape's validity, rem '' = orig, act-iss '' = 0, k and
-- clawed '' = 0).
local function unpack_lot(id, packed)
  local f = split(packed, ',')
  local shape = shape_of(f[1])
  local orig, iss = d36(f[2]), d36t(f[3])
  local exp = iss + opt(f[5], shape.validity, d36t)
  local lot = {id = id, code = shape.code, capped = shape.capped, orig = orig,
               oref = opt(f[4], nil, tostring), rem = opt(f[6], orig, d36), iss = iss,
               act = iss + opt(f[7], 0, d36t), exp = exp, k = opt(f[8], 0, d36), warned = {},
               clawed = opt(f[10], 0, d36), w = {}}
  for _, lead in ipairs(split(f[9] or '', '.')) do lot.warned[lead] = true end
  for _, p in ipairs(shape.plans) do
    table.insert(lot.w, {lead = p.lead, due = exp - p.before, coal = exp + shape.coal})
  end
  return lot
end

local function pack_lot(lot)
  local warned = {}
  for lead in pairs(lot.warned) do warned[#warned + 1] = lead end
  table.sort(warned)
  local code = shape_code(lot)
  local shape = shape_of(code)
  if shape.validity == nil then
    shape.validity = lot.exp - lot.iss
    redis.call('HSETNX', NAMES, '~' .. code, t36(shape.validity))
  end
  local f = {code, b36(lot.orig), t36(lot.iss), lot.oref or '',
             pack_opt(lot.exp - lot.iss, shape.validity, t36), pack_opt(lot.rem, lot.orig, b36),
             pack_opt(lot.act - lot.iss, 0, t36), pack_opt(lot.k, 0, b36),
             table.concat(warned, '.'), pack_opt(lot.clawed, 0, b36)}
  while #f > 3 and f[#f] == '' do f[#f] = nil end
  return table.concat(f, ',')
end

-- An order that made lots: ref (short, unique among the customer's orders; its lots carry
-- it), amount and refunded (decimal text, Python does the math). Its lots (order.lots, by k)
-- are the customer's lots with that ref; its deadline, after which the record is dropped, is
-- its latest lot deadline + the order retention (computed, not stored).
local function unpack_order(packed)
  local f = split(packed, RS)
  return {ref = f[1], amount = f[2], refunded = (f[3] or '') ~= '' and f[3] or '0', lots = {}}
end

local function pack_order(order)
  return table.concat({order.ref, order.amount, order.refunded == '0' and '' or order.refunded},
                      RS)
end

-- Packed per-customer fields: "S" = n,t,p,s (purchases b36, total amount decimal text, last
-- purchase t36, latest now applied t36) and "T" = ta,tr,tb,tc (points accrued / redeemed /
-- burned / clawed back ever, b36, '' for 0, trailing '' dropped). In st.meta they are
-- separate decimal-text values; finish() packs the ones that changed.
local PACKED = {S = {'n', 't', 'p', 's'}, T = {'ta', 'tr', 'tb', 'tc'}}
local DECODE = {n = d36, t = nil, p = d36t, s = d36t, ta = d36, tr = d36, tb = d36, tc = d36}
local ENCODE = {n = b36, t = nil, p = t36, s = t36, ta = b36, tr = b36, tb = b36, tc = b36}

local function unpack_meta(st, field, packed)
  local f = split(packed, ',')
  for i, name in ipairs(PACKED[field]) do
    local x = f[i]
    if x ~= nil and x ~= '' then st.meta[name] = DECODE[name] and I(DECODE[name](x)) or x end
  end
end

local function pack_meta(st)
  for field, names in pairs(PACKED) do
    local dirty = false
    for _, name in ipairs(names) do
      if st.put[name] then dirty = true; st.put[name] = nil end
    end
    if dirty then
      local f = {}
      for i, name in ipairs(names) do
        local x = st.meta[name]
        f[i] = (x == nil or x == '') and '' or (ENCODE[name] and ENCODE[name](tonumber(x)) or x)
      end
      if field == 'T' then
        for i, x in ipairs(f) do if x == '0' then f[i] = '' end end
        while #f > 1 and f[#f] == '' do f[#f] = nil end
      end
      st.put[field] = table.concat(f, ',')
    end
  end
end

local function by_k(a, b) return a.k < b.k end

-- The cold keys of a customer record "P{s7}:c:<id>": units "P{s7}:cu:<id>", wake times
-- "P{s7}:cw:<id>", outstanding cold lots by expiry, active "P{s7}:ce:<id>" and pending
-- "P{s7}:cp:<id>" (same hash tag).
local function cold_keys(ckey)
  local i = string.find(ckey, '}', 1, true)
  local tag, id = string.sub(ckey, 1, i), string.sub(ckey, i + 4)
  return {u = tag .. ':cu:' .. id, w = tag .. ':cw:' .. id, e = tag .. ':ce:' .. id,
          p = tag .. ':cp:' .. id}
end

-- The customer's record (one HGETALL) plus the pending writes of this script; units of its cold
-- tier that are due come back here, the rest only when a script needs them.
local function load(ckey, ret, now)
  local st = {key = ckey, meta = {}, lots = {}, byid = {}, orders = {}, put = {}, del = {},
              out = {}, changed = false, touched = false, ret = need_int(ret, 'order retention')}
  local raw = redis.call('HGETALL', ckey)
  local byref = {}
  for i = 1, #raw, 2 do
    local f, v = raw[i], raw[i + 1]
    local kind = string.sub(f, 1, 1)
    if kind == 'L' then
      local lot = unpack_lot(string.sub(f, 2), v)
      st.lots[#st.lots + 1] = lot
      st.byid[lot.id] = lot
    elseif kind == 'O' then
      local order = unpack_order(v)
      st.orders[string.sub(f, 2)] = order
      byref[order.ref] = order
    elseif PACKED[f] then
      unpack_meta(st, f, v)
    else
      st.meta[f] = v
    end
  end
  for _, lot in ipairs(st.lots) do
    local order = lot.oref and byref[lot.oref]
    if order then order.lots[#order.lots + 1] = lot else lot.oref = nil end
  end
  for _, order in pairs(st.orders) do
    -- Most orders made one lot: sorting (and a comparator closure) per order would cost a big
    -- record more than its unpacking.
    if #order.lots > 1 then table.sort(order.lots, by_k) end
    order.deadline = 0
    for _, lot in ipairs(order.lots) do
      if lot.exp + st.ret > order.deadline then order.deadline = lot.exp + st.ret end
    end
  end
  st.exists = #raw > 0
  if st.meta.C then
    -- Units due (their action is at most `now`) all come back; of those waking ahead of
    -- time, up to EARLY (the rest keep the timer due: the next call takes more).
    local cold = cold_keys(ckey)
    for _, uid in ipairs(redis.call('ZRANGEBYSCORE', cold.w, '-inf', I(now - MARGIN))) do
      promote(st, uid)
    end
    for _, uid in ipairs(redis.call('ZRANGEBYSCORE', cold.w, '(' .. I(now - MARGIN), I(now),
                                    'LIMIT', 0, EARLY)) do
      promote(st, uid)
    end
  end
  return st
end

local function meta_int(st, field)
  return tonumber(st.meta[field] or '0')
end

local function set_meta(st, field, value)
  st.meta[field] = value
  st.put[field] = value
  st.del[field] = nil
  st.touched = true
end

local function add_total(st, field, points)
  set_meta(st, field, I(meta_int(st, field) + points))
end

local function save_lot(lot, st)
  lot.dirty = true
  st.touched = true
end

local function drop_lot(st, lot)
  lot.gone = true
  st.byid[lot.id] = nil
  st.touched = true
end

-- A lot with nothing left (spent, clawed back or burned) stays as a retained lot (rem 0) while
-- its order record lives (a refund still reports it) or while it counts toward a cap;
-- otherwise it is deleted.
local function retire(st, lot)
  if lot.oref or lot.capped then save_lot(lot, st) else drop_lot(st, lot) end
end

local function origin(lot, tbl)
  local name = name_of(lot.code)
  local kind = string.sub(name, 1, 1)
  if kind == 'r' then tbl.rule = string.sub(name, 3) else tbl.camp = string.sub(name, 3) end
  return tbl
end

local function emit(st, typ, tbl)
  tbl.c = st.customer
  st.out[#st.out + 1] = {typ, cjson.encode(tbl)}
end

local function live(st, now)
  local out = {}
  for _, lot in ipairs(st.lots) do
    if not lot.gone and not lot.demoted and lot.rem > 0 and lot.exp > now then
      out[#out + 1] = lot
    end
  end
  return out
end

-- The customer's cold tier as this call sees it: "C" = units,points,pending (b36: cold units,
-- points of their active and of their pending lots; a lot stays as it went, active or
-- pending, while cold, as it wakes before it activates), and what this call moved (written by
-- finish()). Members and sums of units brought back are removed; of units moved out, added.
local function cold_of(st)
  if st.cold then return st.cold end
  local f = split(st.meta.C or '', ',')
  local c = cold_keys(st.key)
  c.units, c.points, c.pend = opt(f[1], 0, d36), opt(f[2], 0, d36), opt(f[3], 0, d36)
  c.back, c.gone_l, c.gone_e, c.gone_p, c.esum, c.out = {}, {}, {}, {}, {}, {}
  c.dirty = false
  st.cold = c
  return c
end

-- Has the record a cold tier (before this call's writes)?
local function has_cold(st)
  return st.meta.C ~= nil or st.cold ~= nil
end

-- A lot's member of the cold expiry index: issued_at (b36 ms, PAD digits) then its id, so
-- that (score, member) order is the redemption order (expires_at, issued_at, lot id).
local function emember(lot)
  local iss = b36(lot.iss)
  return string.rep('0', PAD - #iss) .. iss .. lot.id
end

-- The earliest deadline of the outstanding cold lots and the points due at it, or nil.
local function cold_head(st)
  local c = cold_of(st)
  local pos = 0
  while c.points > 0 do
    local r = redis.call('ZRANGE', c.e, pos, pos + 63, 'WITHSCORES')
    if #r == 0 then return nil end
    for i = 1, #r, 2 do
      if not c.gone_e[r[i]] then
        local at = tonumber(r[i + 1])
        return at, tonumber(redis.call('HGET', c.u, 'e' .. t36(at)) or '0') + (c.esum[at] or 0)
      end
    end
    pos = pos + 64
  end
  return nil
end

-- Is lot `id` in the cold tier (and not brought back by this call)?
local function cold_has(st, id)
  if not has_cold(st) then return false end
  local c = cold_of(st)
  return not c.gone_l[id] and redis.call('HEXISTS', c.u, 'l' .. id) == 1
end

local function balances(st, now)
  local bal, pend, nx_at, nx_pts = 0, 0, nil, 0
  for _, lot in ipairs(live(st, now)) do
    if lot.act <= now then
      bal = bal + lot.rem
      if nx_at == nil or lot.exp < nx_at then nx_at, nx_pts = lot.exp, lot.rem
      elseif lot.exp == nx_at then nx_pts = nx_pts + lot.rem end
    else
      pend = pend + lot.rem
    end
  end
  if has_cold(st) then
    local c = cold_of(st)
    bal, pend = bal + c.points, pend + c.pend
    local at, pts = cold_head(st)
    if at and (nx_at == nil or at < nx_at) then nx_at, nx_pts = at, pts
    elseif at and at == nx_at then nx_pts = nx_pts + pts end
  end
  return bal, pend, nx_at, nx_pts
end

local function by_deadline(a, b)
  if a.exp ~= b.exp then return a.exp < b.exp end
  if a.iss ~= b.iss then return a.iss < b.iss end
  return bytes_lt(a.id, b.id)
end

local function by_expiry(a, b)
  if a.exp ~= b.exp then return a.exp < b.exp end
  return bytes_lt(a.id, b.id)
end

local function mark_warned(st, lot, lead)
  lot.warned[lead] = true
  save_lot(lot, st)
end

-- Of a live lot's own plans due at `now`, the latest (shortest lead) is the one to send; the
-- longer ones due too are marked warned silently: never "3 days left" after "1 day left".
local function lead_to_fire(st, lot, now)
  local latest = nil
  for _, w in ipairs(lot.w) do
    if w.due <= now and (latest == nil or w.due > latest.due) then latest = w end
  end
  if latest == nil then return nil end
  for _, w in ipairs(lot.w) do
    if w.due <= now and w ~= latest and not lot.warned[w.lead] then mark_warned(st, lot, w.lead) end
  end
  if lot.warned[latest.lead] then return nil end
  return latest
end

-- max_warnings_per_day, as the caller computed it for `now` (only Python knows the rules' time
-- zone): {cap, start of now's calendar day, start of the next day} (epoch ms). Every script
-- sets WCAP = warning_cap(...) before it changes anything.
local WCAP = nil

local function warning_cap(spec, now)
  if type(spec) ~= 'table' then error('ledger: the warning cap {n, day, next day} is missing') end
  local cap = {n = need_int(spec[1], 'max warnings per day'), d0 = need_int(spec[2], 'day start'),
               d1 = need_int(spec[3], 'next day start')}
  if cap.n < 1 or not (cap.d0 <= now and now < cap.d1) then
    error('ledger: need max warnings per day >= 1 and day start <= now < next day start')
  end
  return cap
end

-- Field "W" = "<day start t36>,<warnings sent that day b36>": the customer's count of the
-- latest day it got a warning on; another day's count is 0.
local function sent_today(st)
  local f = split(st.meta.W or '', ',')
  if f[1] == nil or d36t(f[1]) ~= WCAP.d0 then return 0 end
  return d36(f[2])
end

-- The cold lots a group of `lead` covering lots up to `upto` would cover: outstanding, expiring
-- by then, not yet warned for that lead. With `bring`, bring back their units (the group then
-- covers them); without, only say whether there is any (is the group urgent?). Reads the cold
-- units without bringing back the others. A "none" is kept in field "Y<lead>" = "<upto t36>":
-- it holds for any window up to `upto` until a lot unwarned for that lead and expiring by then
-- moves out (demote() drops the field); bringing units back or warning lots cannot void it.
local function cold_scan(st, lead, upto, bring)
  if not has_cold(st) then return false end
  local known = st.meta['Y' .. lead]
  if known and d36t(known) >= upto then return false end
  local c = cold_of(st)
  local units, found = {}, false
  for _, index in ipairs({{c.e, c.gone_e}, {c.p, c.gone_p}}) do
    for _, m in ipairs(redis.call('ZRANGEBYSCORE', index[1], '-inf', I(upto))) do
      if not index[2][m] then
        local id = string.sub(m, PAD + 1)
        local uid = redis.call('HGET', c.u, 'l' .. id)
        if not c.back[uid] then
          units[uid] = units[uid] or split(redis.call('HGET', c.u, uid), US)
          for i = 2, #units[uid] do
            local e = split(units[uid][i], RS)
            if e[1] == id and not unpack_lot(id, e[2]).warned[lead] then
              if not bring then return true end
              found = true
              promote(st, uid)
            end
          end
        end
      end
    end
  end
  set_meta(st, 'Y' .. lead, t36(upto))
  return found
end

-- Every warning due at `now`, uncapped (mirrors streams.core.warnings._due_groups): the
-- earliest due plan triggers ONE group for its lead covering every live lot not yet warned for
-- that lead whose expires_at <= the trigger's coalesce_until, whether or not its own rule lists
-- the lead; covered lots are marked warned. Groups come in the order they came due.
local function due_groups(st, now, cover_cold)
  local groups = {}
  while true do
    local tl, tw = nil, nil
    for _, lot in ipairs(live(st, now)) do
      local w = lead_to_fire(st, lot, now)
      if w and (tw == nil or w.due < tw.due or (w.due == tw.due and by_expiry(lot, tl))) then
        tl, tw = lot, w
      end
    end
    if tw == nil then return groups end
    -- The group covers cold lots too: bring back those it can cover (unless the caller only
    -- needs to know whether the groups are urgent: see cold_scan).
    if cover_cold then cold_scan(st, tw.lead, tw.coal, true) end
    local g = {lead = tw.lead, trig = tl, lots = {}, coal = tw.coal}
    for _, lot in ipairs(live(st, now)) do
      if lot.exp <= tw.coal and not lot.warned[tw.lead] then
        mark_warned(st, lot, tw.lead)
        g.lots[#g.lots + 1] = lot
      end
    end
    table.sort(g.lots, by_expiry)
    g.exp = g.lots[1].exp
    groups[#groups + 1] = g
  end
end

-- Groups first..last as ONE message (streams.core.warnings.fold): every lot of them, with the
-- lead and trigger of the group covering the earliest deadline (on ties the later one).
local function fold(groups, first, last)
  local head, seen, lots = groups[first], {}, {}
  for i = first, last do
    local g = groups[i]
    if g.exp <= head.exp then head = g end
    for _, lot in ipairs(g.lots) do
      if not seen[lot.id] then seen[lot.id] = true; lots[#lots + 1] = lot end
    end
  end
  table.sort(lots, by_expiry)
  return {lead = head.lead, trig = head.trig, lots = lots, exp = lots[1].exp}
end

-- The warnings the customer gets at `now` under max_warnings_per_day (see the docstring of
-- streams/core/warnings.py): what the day still allows goes out, the excess folded into its
-- last message; with none left, everything waits for the next day (next_timer) unless a lot
-- it covers would burn by then: then one folded message goes out anyway.
local function unmark(groups)
  for _, g in ipairs(groups) do
    for _, lot in ipairs(g.lots) do lot.warned[g.lead] = nil end
  end
end

local function fire_warnings(st, now)
  local sent = sent_today(st)
  local left = WCAP.n - sent
  local groups = due_groups(st, now, left > 0)
  if #groups == 0 then return end
  if left <= 0 then
    local urgent = false
    for _, g in ipairs(groups) do
      for _, lot in ipairs(g.lots) do
        if lot.exp <= WCAP.d1 then urgent = true end
      end
      if not urgent then urgent = cold_scan(st, g.lead, math.min(g.coal, WCAP.d1), false) end
    end
    if not urgent then
      -- Deferred: undo the group marks (superseded leads stay marked, as they would tomorrow).
      unmark(groups)
      return
    end
    if has_cold(st) then
      -- Sent after all: the same groups again, now covering the cold lots too.
      unmark(groups)
      groups = due_groups(st, now, true)
    end
    left = 1
  end
  local messages = {}
  for i = 1, math.min(left - 1, #groups) do messages[i] = groups[i] end
  if #groups >= left then messages[left] = fold(groups, left, #groups) end
  local bal = balances(st, now)
  for _, m in ipairs(messages) do
    local lots, points = {}, 0
    for _, lot in ipairs(m.lots) do
      lots[#lots + 1] = {lot = lot.id, pts = I(lot.rem), exp = I(lot.exp)}
      points = points + lot.rem
    end
    emit(st, 'warning', {lead = string.sub(name_of(m.lead), 3), trig = m.trig.id, pts = I(points),
                         exp = I(m.exp), bal = I(bal), at = I(now), lots = lots})
  end
  set_meta(st, 'W', t36(WCAP.d0) .. ',' .. b36(sent + #messages))
end

-- Bring the customer up to `now`: warnings, activations (balance changes), burns, order GC.
local function advance(st, now)
  fire_warnings(st, now)
  local seen = tonumber(st.meta.s or '0')
  for _, lot in ipairs(st.lots) do
    if not lot.gone and lot.rem > 0 then
      if lot.exp <= now then
        emit(st, 'burned', origin(lot, {lot = lot.id, pts = I(lot.rem), exp = I(lot.exp)}))
        add_total(st, 'tb', lot.rem)
        lot.rem = 0
        retire(st, lot)
        st.changed = true
      elseif lot.act <= now and lot.act > seen then
        st.changed = true
      end
    end
  end
  for oid, order in pairs(st.orders) do
    if order.deadline <= now then
      st.orders[oid] = nil
      st.put['O' .. oid] = nil
      st.del['O' .. oid] = true
      st.touched = true
      for _, lot in ipairs(order.lots) do
        if not lot.gone then
          lot.oref, lot.k = nil, 0
          if lot.rem == 0 and not lot.capped then drop_lot(st, lot) else save_lot(lot, st) end
        end
      end
    end
  end
end

-- A ref for a new order record (or one brought back from the cold tier): the smallest none
-- of the customer's orders uses, nor one given out earlier in this call.
local function fresh_ref(st)
  if not st.refs then
    st.refs, st.ref_n = {}, 0
    for _, order in pairs(st.orders) do st.refs[order.ref] = true end
  end
  while st.refs[b36(st.ref_n)] do st.ref_n = st.ref_n + 1 end
  local ref = b36(st.ref_n)
  st.refs[ref] = true
  return ref
end

local function new_order(st)
  return {ref = fresh_ref(st), refunded = '0', deadline = 0, lots = {}}
end

local function put_order(st, oid, order)
  st.orders[oid] = order
  st.put['O' .. oid] = pack_order(order)
  st.del['O' .. oid] = nil
  st.touched = true
end

-- Bring a cold unit back into the record (in memory; finish() writes): its lots, and for an
-- order its record under a fresh ref, its lots in their order. Cold units are packed as
-- "<amount RS refunded, or '' for a lot of no order>" then, per lot, US "<id> RS <packed lot>"
-- (without ref: the unit lists them in order).
promote = function(st, uid)
  local c = cold_of(st)
  if c.back[uid] then return end
  local raw = redis.call('HGET', c.u, uid)
  if not raw then error('ledger: the cold unit ' .. uid .. ' is missing') end
  c.back[uid], c.units, c.dirty = true, c.units - 1, true
  local parts = split(raw, US)
  local order = nil
  if string.sub(uid, 1, 1) == 'O' then
    local h = split(parts[1], RS)
    order = new_order(st)
    order.amount, order.refunded = h[1], (h[2] or '') ~= '' and h[2] or '0'
  end
  for i = 2, #parts do
    local e = split(parts[i], RS)
    local lot = unpack_lot(e[1], e[2])
    st.lots[#st.lots + 1] = lot
    st.byid[lot.id] = lot
    save_lot(lot, st)
    c.gone_l[lot.id] = true
    if lot.rem > 0 then
      local m = emember(lot)
      if redis.call('ZSCORE', c.p, m) then
        c.gone_p[m] = true
        c.pend = c.pend - lot.rem
      else
        c.gone_e[m] = true
        c.esum[lot.exp] = (c.esum[lot.exp] or 0) - lot.rem
        c.points = c.points - lot.rem
      end
    end
    if order then
      lot.oref, lot.k = order.ref, i - 2
      order.lots[#order.lots + 1] = lot
      if lot.exp + st.ret > order.deadline then order.deadline = lot.exp + st.ret end
    end
  end
  if order then put_order(st, string.sub(uid, 2), order) end
end

-- The order `oid`, brought back from the cold tier if it is there; nil if the customer has none.
local function find_order(st, oid)
  if not st.orders[oid] and has_cold(st) then
    local c = cold_of(st)
    if not c.back['O' .. oid] and redis.call('HEXISTS', c.u, 'O' .. oid) == 1 then
      promote(st, 'O' .. oid)
    end
  end
  return st.orders[oid]
end

-- The 'stale' reply when the caller's read of order `oid` (req.seen: found or not) disagrees
-- with what the script finds (the order moved between the record and its cold tier, or expired,
-- after the read), else nil.
local function order_moved(st, oid, seen)
  if (find_order(st, oid) ~= nil) == (seen == true) then return nil end
  return cjson.encode({status = 'stale', version = I(meta_int(st, 'v'))})
end

-- A redemption of `want` points takes lots in (expires_at, issued_at, lot id) order: bring
-- back cold lots in that order until the lots at or before the last one brought back hold
-- `want` active points (the cold expiry index is in that order; every hot lot is loaded).
local function pull_cold(st, now, want)
  if not has_cold(st) then return end
  local c = cold_of(st)
  local pos = 0
  while true do
    local r = redis.call('ZRANGE', c.e, pos, pos + 127, 'WITHSCORES')
    if #r == 0 then return end
    for i = 1, #r, 2 do
      if not c.gone_e[r[i]] then
        promote(st, redis.call('HGET', c.u, 'l' .. string.sub(r[i], PAD + 1)))
      end
    end
    local m = r[#r - 1]
    local last = {exp = tonumber(r[#r]), iss = d36(string.sub(m, 1, PAD)),
                  id = string.sub(m, PAD + 1)}
    local sum = 0
    for _, lot in ipairs(live(st, now)) do
      if lot.act <= now and not by_deadline(last, lot) then sum = sum + lot.rem end
    end
    if sum >= want then return end
    pos = pos + 128
  end
end

-- When a unit (an order's lots, or one lot of no order) may go cold: MARGIN before its next
-- action (an activation, a warning, a burn, the order's expiry), or nil if it must stay: a lot
-- that counts toward a cap, or something due within MARGIN.
local function unit_wake(lots, order, now)
  local t = order and order.deadline or nil
  for _, lot in ipairs(lots) do
    if lot.gone or lot.capped or lot.iss < 0 or lot.iss >= 36 ^ PAD then return nil end
    if lot.rem > 0 then
      if lot.exp <= now then return nil end
      if t == nil or lot.exp < t then t = lot.exp end
      if lot.act > now and lot.act < t then t = lot.act end
      for _, w in ipairs(lot.w) do
        if not lot.warned[w.lead] then
          local at = w.due <= now and WCAP.d1 or w.due
          if at < t then t = at end
        end
      end
    end
  end
  if t == nil or t - MARGIN <= now then return nil end
  return t - MARGIN
end

local function later_wake(a, b)
  if a.wake ~= b.wake then return a.wake > b.wake end
  return bytes_lt(a.uid, b.uid)
end

-- With more than HOT lots in the record, move the units that wake last into the cold tier
-- (in memory; finish() writes) until HOT / 2 lots are left, or no unit may go.
local function demote(st, now)
  if HOT == nil then return end
  local n = 0
  for _, lot in ipairs(st.lots) do if not lot.gone then n = n + 1 end end
  if n <= HOT then return end
  local units = {}
  for oid, order in pairs(st.orders) do
    local wake = unit_wake(order.lots, order, now)
    if wake then units[#units + 1] = {uid = 'O' .. oid, oid = oid, lots = order.lots, wake = wake} end
  end
  for _, lot in ipairs(st.lots) do
    if not lot.gone and not lot.oref then
      local wake = unit_wake({lot}, nil, now)
      if wake then units[#units + 1] = {uid = 'L' .. lot.id, lots = {lot}, wake = wake} end
    end
  end
  table.sort(units, later_wake)
  local c = cold_of(st)
  -- cold_scan's "none" for a lead is voided by a lot moved out unwarned for it by then.
  local cached = {}
  for f, v in pairs(st.meta) do
    if string.sub(f, 1, 1) == 'Y' then cached[#cached + 1] = {f, string.sub(f, 2), d36t(v)} end
  end
  for _, u in ipairs(units) do
    if n <= HOT / 2 then break end
    local head = ''
    if u.oid then
      local order = st.orders[u.oid]
      head = order.amount .. RS .. (order.refunded == '0' and '' or order.refunded)
      st.orders[u.oid] = nil
      st.put['O' .. u.oid] = nil
      st.del['O' .. u.oid] = true
    end
    local parts, fields, index = {head}, {}, {}
    for _, lot in ipairs(u.lots) do
      local oref = lot.oref
      lot.oref = nil
      parts[#parts + 1] = lot.id .. RS .. pack_lot(lot)
      lot.oref, lot.demoted = oref, true
      n = n - 1
      fields[#fields + 1] = 'l' .. lot.id
      fields[#fields + 1] = u.uid
      if lot.rem > 0 then
        local pending = lot.act > now
        index[#index + 1] = {pending and c.p or c.e, I(lot.exp), emember(lot)}
        if pending then
          c.pend = c.pend + lot.rem
        else
          c.esum[lot.exp] = (c.esum[lot.exp] or 0) + lot.rem
          c.points = c.points + lot.rem
        end
        for _, y in ipairs(cached) do
          if st.meta[y[1]] and lot.exp <= y[3] and not lot.warned[y[2]] then
            st.meta[y[1]], st.put[y[1]], st.del[y[1]] = nil, nil, true
          end
        end
      end
    end
    fields[#fields + 1] = u.uid
    fields[#fields + 1] = table.concat(parts, US)
    c.out[#c.out + 1] = {uid = u.uid, wake = u.wake, fields = fields, index = index}
    c.units, c.dirty, st.touched = c.units + 1, true, true
  end
end

-- Write what this call moved between the record and its cold tier: removals first (a unit
-- brought back and moved out again in one call is removed, then added).
local function write_cold(c)
  local del_u, del_w = {}, {}
  for uid in pairs(c.back) do
    del_u[#del_u + 1] = uid
    del_w[#del_w + 1] = uid
  end
  for id in pairs(c.gone_l) do del_u[#del_u + 1] = 'l' .. id end
  local del_e, del_p = {}, {}
  for m in pairs(c.gone_e) do del_e[#del_e + 1] = m end
  for m in pairs(c.gone_p) do del_p[#del_p + 1] = m end
  for _, d in ipairs({{'HDEL', c.u, del_u}, {'ZREM', c.w, del_w}, {'ZREM', c.e, del_e},
                      {'ZREM', c.p, del_p}}) do
    local list = d[3]
    for i = 1, #list, 200 do redis.call(d[1], d[2], unpack(list, i, math.min(i + 199, #list))) end
  end
  for _, u in ipairs(c.out) do
    for _, z in ipairs(u.index) do redis.call('ZADD', z[1], z[2], z[3]) end
    redis.call('HSET', c.u, unpack(u.fields))
    redis.call('ZADD', c.w, I(u.wake), u.uid)
  end
  for exp, delta in pairs(c.esum) do
    if delta ~= 0 then
      local field = 'e' .. t36(exp)
      if redis.call('HINCRBY', c.u, field, I(delta)) == 0 then redis.call('HDEL', c.u, field) end
    end
  end
end

local function next_timer(st, now)
  local t = nil
  for _, order in pairs(st.orders) do
    if t == nil or order.deadline < t then t = order.deadline end
  end
  for _, lot in ipairs(live(st, now)) do
    local cand = lot.exp
    if lot.act > now and lot.act < cand then cand = lot.act end
    for _, w in ipairs(lot.w) do
      -- Still unwarned though due: deferred by max_warnings_per_day to the next day.
      local at = w.due <= now and WCAP.d1 or w.due
      if at < cand and not lot.warned[w.lead] then cand = at end
    end
    if t == nil or cand < t then t = cand end
  end
  return t
end

-- Metrics (bonus.metrics, streams/analytics; keys in keys.py). finish() counts the entries it
-- appends to the outbox, in the same atomic call, into the counters of the shard's window: an
-- input is applied once (idempotency) and a timer effect happens once, so the counters are
-- exactly the ledger's events. tally() and metrics_window() only read (they may fail before any
-- write); count() writes after the outbox. The metrics keys share the outbox key's hash tag (same slot); their
-- names depend on the window, known only here once the shard's metrics state has been read.
local METRICS_DEFAULT_WINDOW = 3600000

local function metrics_dim(tbl)
  if tbl.rule then return 'rule:' .. tbl.rule end
  if tbl.camp then return 'campaign:' .. tbl.camp end
  error('ledger: an outbox entry without a rule or campaign')
end

-- {dimension = {measure code = n}} of this call's outbox entries; a dimension present (even
-- with zeros, e.g. a clawback of spent points) had an event of the customer.
local function tally(st)
  local rows, dims = {}, nil
  local function add(dim, m, n)
    local row = rows[dim]
    if not row then row = {}; rows[dim] = row end
    row[m] = (row[m] or 0) + n
  end
  local function both(dim, m, n) add('all', m, n); add(dim, m, n) end
  for _, entry in ipairs(st.out) do
    local typ = entry[1]
    if typ ~= 'balance' then
      local d = cjson.decode(entry[2])
      if typ == 'accrued' then
        both(metrics_dim(d), 'ap', tonumber(d.pts))
        both(metrics_dim(d), 'al', 1)
      elseif typ == 'burned' then
        both(metrics_dim(d), 'bp', tonumber(d.pts))
      elseif typ == 'clawed_back' then
        both(metrics_dim(d), 'cp', tonumber(d.pts) - tonumber(d.unrec))
      elseif typ == 'redemption' and d.status == 'accepted' then
        for _, lot in ipairs(d.lots) do
          both(metrics_dim(lot), 'rp', tonumber(lot.pts))
          both(metrics_dim(lot), 'rw', lot.warned and tonumber(lot.pts) or 0)
        end
      elseif typ == 'warning' then
        if not dims then
          dims = {}
          for _, lot in ipairs(st.lots) do dims[lot.id] = lot end
        end
        add('all', 'w', 1)
        add('all', 'wp', tonumber(d.pts))
        local seen = {}
        for _, w in ipairs(d.lots) do
          local lot = dims[w.lot]
          if not lot then error('ledger: a warned lot is unknown: ' .. w.lot) end
          local dim = metrics_dim(origin(lot, {}))
          if not seen[dim] then seen[dim] = true; add(dim, 'w', 1) end
          add(dim, 'wp', tonumber(w.pts))
        end
      end
    end
  end
  return rows
end

-- The counters of the window of `now` (floor(now / window), service time): a HASH
-- "<dimension>\31<measure>" -> n, a SET "<dimension>\31<customer>" for active customers (the
-- counter "ac" grows when the customer is new to it) and the shard's index of open windows
-- (score = window end). A window the closer has sealed takes no more counts: an event that
-- arrives after its seal (clock skew, a slow call) counts in the first window starting at or
-- after the seal. Only reads: finish() decides the window before its first write.
local function metrics_window(now, xkey)
  local tag = string.sub(xkey, 1, -3)
  local state = redis.call('HMGET', tag .. ':ms', 'len', 'sealed')
  local len = tonumber(state[1] or '') or METRICS_DEFAULT_WINDOW
  local sealed = tonumber(state[2] or '') or 0
  local start = now - now % len
  if start < sealed then
    local r = sealed % len
    start = r == 0 and sealed or sealed - r + len
  end
  local wid = I(start) .. ':' .. I(len)
  return {hkey = tag .. ':m:' .. wid, akey = tag .. ':ma:' .. wid, index = tag .. ':mw',
          score = start + len, wid = wid}
end

-- Add the rows to the counters of `window` (from metrics_window): writes only.
local function count(st, window, rows)
  for dim, row in pairs(rows) do
    for m, n in pairs(row) do
      if n ~= 0 then redis.call('HINCRBY', window.hkey, dim .. US .. m, n) end
    end
    if redis.call('SADD', window.akey, dim .. US .. st.customer) == 1 then
      redis.call('HINCRBY', window.hkey, dim .. US .. 'ac', 1)
    end
  end
  redis.call('ZADD', window.index, window.score, window.wid)
end

-- The failpoint of the fault suite (streams/failpoints.py, test-only): the request asks the
-- script to fail just before its first write. Nil in every real request.
local FAIL = nil

-- Write everything: version bump + BalanceSnapshot when balance-visible state changed, the
-- hash fields, the customer's timer entry, the outbox entries, the metrics counters. Returns
-- the version. Everything that can fail (tallies, packing, the next timer, the metrics window)
-- is computed first: a Lua error is not rolled back, so none may come between two writes.
local function finish(st, now, tkey, xkey)
  local counted = tally(st)
  local v = meta_int(st, 'v')
  if st.changed then
    v = v + 1
    set_meta(st, 'v', I(v))
    local bal, pend, nx_at, nx_pts = balances(st, now)
    local snap = {bal = I(bal), pend = I(pend), at = I(now), v = I(v)}
    if nx_at then snap.nx_at = I(nx_at); snap.nx_pts = I(nx_pts) end
    emit(st, 'balance', snap)
  end
  demote(st, now)
  local c = st.cold
  if c and c.dirty then
    if c.units > 0 then
      set_meta(st, 'C', b36(c.units) .. ',' .. b36(c.points) .. ',' .. b36(c.pend))
    else
      st.meta.C, st.put.C, st.del.C, st.touched = nil, nil, true, true
    end
  end
  local puts, dels = {}, {}
  if st.touched then
    if tonumber(st.meta.s or '0') < now then set_meta(st, 's', I(now)) end
    pack_meta(st)
    for _, lot in ipairs(st.lots) do
      if lot.gone or lot.demoted then st.del['L' .. lot.id] = true
      elseif lot.dirty then st.put['L' .. lot.id] = pack_lot(lot) end
    end
    for f, val in pairs(st.put) do
      puts[#puts + 1] = f
      puts[#puts + 1] = val
    end
    for f in pairs(st.del) do
      if st.put[f] == nil then dels[#dels + 1] = f end
    end
  end
  local t = next_timer(st, now)
  local window = next(counted) ~= nil and metrics_window(now, xkey) or nil
  if FAIL == 'lua.before_write' then error('ledger: failpoint lua.before_write') end

  for i = 1, #puts, 200 do
    redis.call('HSET', st.key, unpack(puts, i, math.min(i + 199, #puts)))
  end
  for i = 1, #dels, 200 do
    redis.call('HDEL', st.key, unpack(dels, i, math.min(i + 199, #dels)))
  end
  if st.touched and INDEX and not st.exists then
    redis.call('HSETNX', INDEX, st.customer, t36(now))
  end
  if c and c.dirty then write_cold(c) end
  if st.meta.C then
    local head = redis.call('ZRANGE', cold_of(st).w, 0, 0, 'WITHSCORES')
    if head[2] and (t == nil or tonumber(head[2]) < t) then t = tonumber(head[2]) end
  end
  if t then redis.call('ZADD', tkey, t, st.customer) else redis.call('ZREM', tkey, st.customer) end
  for _, entry in ipairs(st.out) do
    redis.call('XADD', xkey, '*', 't', entry[1], 'd', entry[2])
  end
  if window then count(st, window, counted) end
  return v
end

-- Idempotency: the key holds "<digest>\30<outcome>" for `ttl` seconds.
local function seen_before(ikey, digest)
  local old = redis.call('GET', ikey)
  if not old then return nil end
  local i = string.find(old, RS, 1, true)
  if string.sub(old, 1, i - 1) ~= digest then
    return cjson.encode({status = 'conflict'})
  end
  return cjson.encode({status = 'duplicate', original = string.sub(old, i + 1)})
end

-- The cap on a customer's record (streams/ledger/keys.py, "Limits"): every script reads the
-- record, so its field count bounds the Redis time one event of the customer costs. An
-- accrual that would add lots (and an order) past `maxf` fields gets the 'lot_limit' reply
-- before anything is written, not even its idempotency record: the worker dead-letters it with
-- that code, and a replay once lots have burned or been spent applies it. nil: within the cap.
local function over_limit(ckey, adding, maxf)
  if maxf == nil or adding == 0 then return nil end
  need_int(maxf, 'max record fields')
  local fields = redis.call('HLEN', ckey)
  if fields + adding + 1 > maxf then
    return cjson.encode({status = 'lot_limit', fields = I(fields), max = I(maxf)})
  end
  return nil
end

-- The 'stale' reply when the customer's version moved since Python read its statistics
-- (optimistic concurrency: the adapter re-reads and retries), else nil.
local function version_moved(ckey, expect)
  local version = tonumber(redis.call('HGET', ckey, 'v') or '0')
  if version ~= expect then
    return cjson.encode({status = 'stale', version = I(version)})
  end
  return nil
end

-- The request's service time, and the day's warning cap (WCAP) every script sets before it
-- changes anything.
local function request_now(req)
  local now = need_int(req.now, 'now')
  WCAP = warning_cap(req.wday, now)
  FAIL = req.fail
  if req.hot ~= nil then HOT = need_int(req.hot, 'hot lots') end
  return now
end

local function remember(ikey, digest, outcome, ttl)
  redis.call('SET', ikey, digest .. RS .. outcome, 'EX', ttl)
end

-- Plans (from the pure core, via Python) are checked before anything is written.
local function check_plan(p)
  need_str(p.id, 'lot id')
  need_str(p.origin, 'lot origin')
  local kind = string.sub(p.origin, 1, 2)
  if kind ~= 'r:' and kind ~= 'c:' then error('ledger: origin must be r:<rule> or c:<campaign>') end
  if need_int(p.pts, 'points') <= 0 then error('ledger: points must be > 0') end
  need_int(p.iss, 'issued_at')
  need_int(p.act, 'activates_at')
  need_int(p.exp, 'expires_at')
  if not (p.iss <= p.act and p.act < p.exp) then
    error('ledger: need issued_at <= activates_at < expires_at')
  end
  for _, w in ipairs(p.w or {}) do
    need_str(w[1], 'lead')
    if need_int(w[2], 'warning due') > p.exp or need_int(w[3], 'coalesce_until') < p.exp then
      error('ledger: need due <= expires_at <= coalesce_until')
    end
    if w[3] ~= p.w[1][3] then error('ledger: the warnings of a lot share coalesce_until') end
  end
  if p.cap then
    need_int(p.cap[1], 'cap max_points')
    need_int(p.cap[2], 'cap window_start')
  end
end

-- A capped rule's grants are its lots that count toward the cap (capped), outstanding or
-- retained: each gave `orig` points at `iss`. No separate record.
local function granted_since(st, code, since)
  local total = 0
  for _, lot in ipairs(st.lots) do
    if not lot.gone and lot.capped and lot.code == code and lot.iss >= since then
      total = total + lot.orig
    end
  end
  return total
end

-- Keep grants newer than one more window before this one: enough for events that arrive up to
-- one cap window late; older ones can no longer count and stop counting (a retained lot that
-- nothing else needs is deleted) to bound memory.
local function prune_grants(st, code, iss, window_start)
  local keep_from = window_start - (iss - window_start)
  for _, lot in ipairs(st.lots) do
    if not lot.gone and lot.capped and lot.code == code and lot.iss < keep_from then
      lot.capped = false
      if lot.rem == 0 and not lot.oref then drop_lot(st, lot) else save_lot(lot, st) end
    end
  end
end

-- Make one planned lot, applying once-per-customer and the cap. Returns the lot or nil, reason.
local function make_lot(st, p, src)
  if st.byid[p.id] or cold_has(st, p.id) then return nil, 'exists' end
  local code = intern(p.origin)
  if p.once and st.meta['U' .. code] then return nil, 'once_per_customer' end
  local pts = p.pts
  if p.cap then
    local left = p.cap[1] - granted_since(st, code, p.cap[2])
    if left <= 0 then return nil, 'cap' end
    if pts > left then pts = left end
    prune_grants(st, code, p.iss, p.cap[2])
  end
  if p.once then set_meta(st, 'U' .. code, p.marker or '1') end
  local lot = {id = p.id, code = code, capped = p.cap ~= nil, orig = pts, rem = pts,
               iss = p.iss, act = p.act, exp = p.exp, k = 0, clawed = 0, warned = {}, w = {}}
  for _, w in ipairs(p.w or {}) do
    table.insert(lot.w, {lead = intern(w[1]), due = w[2], coal = w[3]})
  end
  st.lots[#st.lots + 1] = lot
  st.byid[lot.id] = lot
  save_lot(lot, st)
  add_total(st, 'ta', pts)
  st.changed = true
  emit(st, 'accrued', origin(lot, {lot = lot.id, pts = I(pts), src = src, iss = I(lot.iss),
                                   act = I(lot.act), exp = I(lot.exp)}))
  return lot, nil
end
