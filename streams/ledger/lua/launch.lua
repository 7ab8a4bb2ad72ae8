-- Record a campaign launch in the campaign registry, once. The same event again is a duplicate;
-- the same event_id with another payload, or another launch of the campaign with other terms
-- (segment, points, deadline, leads), is a conflict; another launch with the same terms is a
-- relaunch, which changes nothing (the first launch's fan-out stands).
-- KEYS: the campaign's registry hash.
-- ARGV[1]: JSON {event, digest, terms, payload, at, shards}.
local key = KEYS[1]
local req = cjson.decode(ARGV[1])
need_str(req.event, 'event id')
need_str(req.digest, 'digest')
need_str(req.terms, 'terms digest')
need_str(req.payload, 'payload')
need_int(req.at, 'recording time')
need_int(req.shards, 'shards')
local old = redis.call('HMGET', key, 'e', 'd', 'k')
if old[1] then
  if old[1] == req.event then
    if old[2] == req.digest then return cjson.encode({status = 'duplicate'}) end
    return cjson.encode({status = 'conflict'})
  end
  if old[3] == req.terms then return cjson.encode({status = 'relaunch', event = old[1]}) end
  return cjson.encode({status = 'conflict'})
end
redis.call('HSET', key, 'e', req.event, 'd', req.digest, 'k', req.terms, 'p', req.payload,
           'at', I(req.at), 'n', I(req.shards))
return cjson.encode({status = 'recorded'})
