"""The Redis key layout of the ledger: the ONE place that names every key.

Every key of a shard carries the hash tag ``{s<shard>}`` (shard = Kafka partition of the
customer, :func:`streams.partitioning.partition_for`), so one script can touch a customer's
record, its shard's timer index, names and outbox atomically, and Redis Cluster keeps them in
one slot. ``P`` below is the configured key prefix (it must not contain ``{`` or ``}``).

=================================  ======  ====================================================
key                                type    what it holds; lifetime
=================================  ======  ====================================================
``P{s7}:c:<customer_id>``          HASH    the customer's whole record (fields below); kept for
                                           as long as the customer is known (stats never expire)
``P{s7}:t``                        ZSET    timer index: member = customer id, score = epoch ms of
                                           its earliest pending action (activation, warning due,
                                           burn, order-record expiry); one entry per customer
                                           with something pending, removed when nothing is
``P{s7}:x``                        STREAM  outbox: fields ``t`` (entry type) and ``d`` (compact
                                           JSON, times as epoch ms, integers as strings); read by
                                           the relay, trimmed after delivery
``P{s7}:n``                        HASH    interned names: ``=<name>`` -> code, ``#<code>`` ->
                                           name, ``#`` -> last code; names are ``r:<rule_id>``,
                                           ``c:<campaign_id>``, leads ``d:<duration>`` and lot
                                           shapes ``s:...`` (below, with ``~<code>`` ->
                                           validity); kept forever (tiny: a few per rule)
``P{s7}:i:<kind>:<event_id>``      STRING  idempotency record ``<digest>\\x1e<outcome>`` of one
                                           input event, with a TTL (default 8 days, real time)
``P{s7}:k:<b>``                    HASH    bucket ``b`` (decimal, 0 to ``INDEX_BUCKETS`` - 1)
                                           of the shard's index of known customers: field =
                                           customer id, value = the service time its record was
                                           created (t36); ``b`` = :func:`index_bucket` of the
                                           id; written by the script that creates the record,
                                           kept as long as the record
``P{s7}:g``                        HASH    campaign fan-outs pending in this shard: field =
                                           campaign id, value = ``bucket,granted,scanned`` (the
                                           next index bucket to walk and the counts so far);
                                           the field is deleted when the shard is done
``P:g:<campaign_id>``              HASH    campaign registry (no hash tag: always used alone):
                                           ``e`` event id, ``d`` payload digest, ``k`` terms
                                           digest, ``p`` launch JSON, ``at`` recording time (ms),
                                           ``n`` shard count, ``s<shard>`` = ``granted,scanned``
                                           once that shard is done, ``done`` = total granted;
                                           kept forever (a few hundred bytes per campaign)
=================================  ======  ====================================================

Fields of the customer hash. Numbers in packed values are base 36 (``b36``); times and
durations (``t36``) are base-36 SECONDS when whole, else base-36 ms followed by ``.``: exact
either way, ms precision kept where an input has it. Empty packed fields mean the default
named, and trailing empty fields are dropped.

* ``v`` version (grows by 1 per balance-visible change; plain decimal, read on its own).
* ``S`` = ``n,t,p,s``: purchases (b36), total amount (exact decimal text), last purchase (t36),
  latest ``now`` applied (t36).
* ``T`` = ``ta,tr,tb,tc``: points accrued / redeemed / burned / clawed back ever (b36, empty 0).
* ``L<lot_id>`` a lot: ``shape,orig,iss,oref,exp-iss,left,act-iss,k,warned,clawed`` where
  ``shape`` is an interned code (below), ``orig`` the points granted, ``iss`` issued_at (t36),
  ``oref`` the ref of the order that made it (empty: none), ``exp-iss`` (t36; empty: the
  shape's validity), ``left`` the points left (empty: = orig), ``act-iss`` (t36; empty: 0),
  ``k`` its place among its order's lots (empty: 0), ``warned`` the lead codes already warned
  joined by ``.``, ``clawed`` the points clawed back (empty: 0). A fresh purchase lot is about
  ``Lhrfdeq3fhtmmwxeg`` = ``4,d,tpd4y0,0``. The lot id is stored only here.
  A lot is OUTSTANDING while ``left`` > 0. With nothing left (spent, clawed back or burned) it
  is RETAINED (``left`` = 0) only while its order record lives (a later refund still reports
  it) or while it counts toward its rule's cap; otherwise it is deleted.
* ``O<order_id>`` an order that made lots, for refunds: ``ref\x1eamount\x1erefunded``
  (decimal text, refunded empty for 0). ``ref`` is the smallest b36 number none of the
  customer's other orders uses; the order's lots are the lots whose ``oref`` is ``ref``, in
  ``k`` order. The record is dropped at its deadline = its latest lot deadline + the order
  retention (computed, not stored; a refund after that finds no order and changes nothing),
  and its retained lots with it unless a cap still counts them.
* ``U<code>`` once-per-customer marker of a rule (``1``) or campaign (``<tag>\x1e<digest>``,
  tag = the first 16 hex digits of the SHA-1 of the launch's event_id, so it stays short).
* ``W`` = ``day,sent``: the ExpiryWarnings sent (b36) on the calendar day (rules' time zone)
  starting at ``day`` (t36), the latest day the customer got one; for ``max_warnings_per_day``
  (another day's count is 0). Absent until the first warning.
* Cap grants have no field of their own: a capped rule's grants are its lots whose shape says
  capped, outstanding or retained (``orig`` points at ``iss``). Each new grant of the rule
  unflags its lots issued more than two cap windows back (a retained lot nothing else needs is
  then deleted), so events up to one cap window late still see every grant that can count.

Lot shapes: what the lots of one rule share is interned in the names hash as
``s:<origin code>,<c if capped>,<coalesce_until - expires_at>,<plans>`` with plans
``<lead code>:<expires_at - due>`` joined by ``;`` (t36; every warning plan of a lot shares
coalesce_until), plus ``~<shape code>`` = the validity (expires_at - issued_at, t36) of the
first lot packed with that shape. So a lot stores one short code for its origin, cap flag and
warning plans, and no validity when it has the usual one (every lot of a rule without
``round_up_to``). Due times and deadlines are stored as exact deltas, never rounded: a shard
holds a few shapes per rule (more only where daylight-saving time shifts a lead).

Memory: ``deploy/measure_lot_memory.py`` (5 purchases per customer, each its own order, a
capped rule with two warnings, 12 shards; MEMORY USAGE of every kept key) measures per
outstanding lot at 100,000 lots: records 91 (lot ~34, order ~29, per-customer fields and key
~29), timer index 24, customer index 14, names ~0: 129 in all (the allocator frees 133 when
the state is deleted). At 1,000,000 lots: 124 (timer index 26, customer index 7; allocator:
134). With the customer index a skiplist ZSET it was 139 at 100,000 and 144 at
1,000,000; before any customer index, 115 and 118.

A skiplist ZSET entry costs about 120 bytes per customer (member, score, skiplist node, dict
entry): the timer index costs as much as ~1.3 lots' fields, 24-26 bytes per lot at 5 lots per
customer. The customer index is instead ``INDEX_BUCKETS`` listpack hashes per shard: ~20
bytes per customer plus ~70 per bucket key, so its cost per customer falls as shards fill
(measured: ~70 per customer, 14 per lot, at 1,700 customers a shard; 33, 7 per lot, at
16,700; about 20 at 90,000, where the fullest buckets hold ~120 of the 128 listpack entries
Redis allows by default). A bucket past that limit (shards beyond ~90,000 customers; ~450,000
with the production setting below) becomes a real hash, still correct but several times
dearer per customer: raise ``INDEX_BUCKETS`` (rebuilding the index) before shards grow that
large.

Every field and value stays under 64 bytes with ids of ordinary length (the measurement's
longest: 24), so a customer hash is listpack-encoded under the Redis default
``hash-max-listpack-value`` (64) while it has at most ``hash-max-listpack-entries`` fields
(default 128: about 60 outstanding purchase lots, each a lot and an order field).
Production redis config (a hash past either limit still works, at about four times the
memory)::

    hash-max-listpack-entries 512   # customers with up to ~250 outstanding lots stay compact
    hash-max-listpack-value 256     # order ids (and lot ids, if made elsewhere) up to 128
                                    # ASCII characters: field "O<order_id>" is up to 129 bytes

Cold tier: a customer record that holds more than ``HOT_LOTS`` lots (sent with every request)
moves whole UNITS into keys of its own until half of that is left, the units that wake last
first. A unit is an order with all its lots (unit id ``O<order_id>``) or a lot of no order
(``L<lot_id>``); it may go only if none of its lots counts toward a cap and nothing of it
(an activation, an unwarned warning, a burn, the order's expiry) is due within 15 minutes.
Every script brings back, before anything else, every unit whose action is due and up to 256
of those waking within the next 15 minutes (the rest keep the customer's timer due, so the
timer loop takes them next); a redemption brings back the lots it takes, in redemption order;
a refund the order it is for; a warning group the cold lots it covers. So a script reads the
record (at most about ``HOT_LOTS`` lots, plus what is due within 15 minutes) and only the cold
units it needs, and every outcome is the one the whole record would give
(``tests/integration/test_ledger_properties.py`` runs the reference model with a limit of 2).

=================================  ======  ====================================================
``P{s7}:cu:<customer_id>``         HASH    cold units: ``O<order_id>`` -> ``amount RS
                                           refunded`` then, per lot in order, ``US <lot_id> RS
                                           <packed lot, without ref>``; ``L<lot_id>`` -> ``US
                                           <lot_id> RS <packed lot>``; ``l<lot_id>`` -> its unit
                                           id; ``e<deadline t36>`` -> points of the active cold
                                           lots with that deadline (decimal)
``P{s7}:cw:<customer_id>``         ZSET    unit id, score = when it comes back (15 min before
                                           its next action)
``P{s7}:ce:<customer_id>``         ZSET    active outstanding cold lots: member = issued_at (b36
                                           ms, 9 digits) + lot id, score = expires_at: the
                                           redemption order
``P{s7}:cp:<customer_id>``         ZSET    pending outstanding cold lots, the same way
=================================  ======  ====================================================

Record fields of the cold tier: ``C`` = ``units,points,pending`` (b36; absent: no cold tier),
and ``Y<lead code>`` = ``<t36>``: no cold lot unwarned for that lead expires by then (a cache of
the check that decides whether a warning held back by ``max_warnings_per_day`` must go out;
moving out a lot that voids it drops it). The scripts derive the cold keys' names from the
record's key (same hash tag). A cold lot costs more memory than a hot one (its unit field, its
``l`` field and a skiplist ZSET entry or two: about 250-300 bytes), paid only by customers past
``HOT_LOTS`` lots.

Limits: a script reads the customer's record (``HGETALL``) and walks its lots, so the record's
size bounds the Redis time of one event of that customer (``deploy/measure_bounds.py``). The
cold tier keeps records near ``HOT_LOTS`` lots; what cannot go cold (lots counting toward a cap,
or with an action within 15 minutes) stays, so ``accrue.lua`` still refuses an accrual whose
lots (plus an order field) would take the record past ``MAX_RECORD_FIELDS``
(``BONUS_MAX_RECORD_FIELDS``): reply ``lot_limit``, given before any write and without an
idempotency record, so the worker dead-letters the event whole and a replay applies it once the
record has shrunk. Grants, redemptions, refunds and timer firings are never refused.

Metrics (``bonus.metrics``, :mod:`streams.analytics`): the scripts count each event they append
to the outbox into counters of the shard's current window, ``W`` = ``<start_ms>:<length_ms>``
(start = floor(now / length) * length, service time). The scripts derive these names from the
outbox key's hash tag (same slot): which window an event counts in is decided inside the script.

=================================  ======  ====================================================
``P{s7}:ms``                       HASH    the shard's metrics state: ``len`` window length (ms;
                                           written by each worker at start from
                                           ``BONUS_METRICS_WINDOW``; absent: 1 h), ``sealed``
                                           epoch ms up to which windows are closed; kept forever
``P{s7}:mw``                       ZSET    the shard's open windows: member ``W``, score its end
``P{s7}:m:<W>``                    HASH    counters ``<dimension>\x1f<measure>`` -> n (measure
                                           codes in ``streams.analytics.counters``); deleted
                                           when the window is closed
``P{s7}:ma:<W>``                   SET     ``<dimension>\x1f<customer_id>``: who was active in
                                           the window (``ac`` counts them); deleted with it
``P{m}:q``                         HASH    closed windows computed but not yet published:
                                           ``W`` -> the JSON MetricsWindow events
``P{m}:d``                         ZSET    windows published: member ``W``, score end; pruned
                                           after 8 days of service time
``P{m}:l``                         STRING  the closer's lease (a worker's token, PX expiry)
=================================  ======  ====================================================

The active-customer SETs cost about 70-90 bytes per customer and dimension active in an OPEN
window and are freed when it closes; nothing is added to a customer's record, whose compact
layout (above) every customer pays for forever.

Redis Cluster (README "Redis Cluster"): a script or a MULTI may only touch keys of one hash
slot, so keys used together share a hash tag: a shard's keys ``{s<shard>}`` (including the
metrics keys its scripts derive from the outbox key), the metrics closer's ``{m}``, the
notifier's ``{<consumer group>}`` (``streams/notify/store.py``). The campaign registry
``P:g:<campaign_id>`` has no tag: the launch script gets it as its only key and every other
command on it is a single-key command, so it may live in any slot. A pipeline may mix slots (the
cluster client sends one per master); scripts in a pipeline go through
``streams.redis_clients.run_scripts``. A new key follows the same rule, and a script is given
every key it touches in KEYS or derives names only within the tag of one of them.

Idempotency uses one key per event with a TTL rather than a pruned per-shard set: Redis expires
them by itself, nothing has to be pruned inside scripts, and a key costs about as much as a
ZSET+HASH entry would. The TTL runs on Redis' real clock, so it is at least 7 days of service
time whenever the service clock runs at real speed or faster.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

IDEMPOTENCY_TTL_SECONDS = 8 * 86_400

# The most lots a customer record holds before the scripts move units into its cold tier (see
# "Cold tier"); they move units until half of it is left. Sent with every request.
HOT_LOTS = 128

# MAX_RECORD_FIELDS (streams/limits.py): see "Limits" in the module docstring.

# Buckets of each shard's customer index. A bucket stays a listpack while it has at most
# hash-max-listpack-entries (default 128) customers: 1024 buckets keep ~90,000 customers per
# shard compact (~88 a bucket on average, the fullest of them ~120), ~450,000 under the
# production setting (512). Changing it moves customers between buckets: only with the index
# rebuilt.
INDEX_BUCKETS = 1024


def index_bucket(customer_id: str) -> int:
    """The customer's bucket of its shard's index: CRC-32 of the id (UTF-8), modulo the count."""
    return zlib.crc32(customer_id.encode("utf-8")) % INDEX_BUCKETS


@dataclass(frozen=True, slots=True)
class ShardKeys:
    """The keys of one shard under one prefix."""

    prefix: str
    shard: int

    @property
    def tag(self) -> str:
        """The key prefix with the shard's hash tag."""
        return f"{self.prefix}{{s{self.shard}}}"

    @property
    def timers(self) -> str:
        """The shard's timer index."""
        return f"{self.tag}:t"

    @property
    def outbox(self) -> str:
        """The shard's outbox stream."""
        return f"{self.tag}:x"

    @property
    def names(self) -> str:
        """The shard's interned names."""
        return f"{self.tag}:n"

    def index(self, bucket: int) -> str:
        """One bucket of the shard's index of known customers (HASH id -> created, t36)."""
        return f"{self.tag}:k:{bucket}"

    def index_of(self, customer_id: str) -> str:
        """The index bucket that holds (or will hold) a customer."""
        return self.index(index_bucket(customer_id))

    @property
    def fanouts(self) -> str:
        """The shard's pending campaign fan-outs (HASH campaign id -> progress)."""
        return f"{self.tag}:g"

    def customer(self, customer_id: str) -> str:
        """A customer's record."""
        return f"{self.tag}:c:{customer_id}"

    def cold_units(self, customer_id: str) -> str:
        """A customer's cold units (see "Cold tier"; the scripts derive the name)."""
        return f"{self.tag}:cu:{customer_id}"

    def cold_wake(self, customer_id: str) -> str:
        """When each of a customer's cold units comes back into its record."""
        return f"{self.tag}:cw:{customer_id}"

    def cold_expiry(self, customer_id: str) -> str:
        """A customer's active outstanding cold lots by deadline."""
        return f"{self.tag}:ce:{customer_id}"

    def cold_pending(self, customer_id: str) -> str:
        """A customer's pending outstanding cold lots by deadline."""
        return f"{self.tag}:cp:{customer_id}"

    def idempotency(self, kind: str, event_id: str) -> str:
        """The idempotency record of one input event."""
        return f"{self.tag}:i:{kind}:{event_id}"

    def customer_pattern(self) -> str:
        """A SCAN MATCH pattern of every customer record of this shard."""
        return _glob_escape(self.tag) + ":c:*"

    def customer_id_of(self, key: str) -> str:
        """The customer id of a customer record key."""
        return key[len(self.tag) + 3 :]


def campaign_key(prefix: str, campaign_id: str) -> str:
    """The registry record of one campaign (not in any shard's slot)."""
    return f"{prefix}g:{campaign_id}"


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


def check_prefix(prefix: str) -> str:
    """Refuse a prefix that would move the hash tag (braces) ."""
    if "{" in prefix or "}" in prefix:
        raise ValueError("a ledger key prefix must not contain braces: they select the hash slot")
    return prefix


@dataclass(frozen=True, slots=True)
class MetricsKeys(ShardKeys):
    """The metrics keys of one shard (window counters), in the shard's hash slot."""

    @property
    def state(self) -> str:
        """The shard's metrics state (window length, sealed up to)."""
        return f"{self.tag}:ms"

    @property
    def windows(self) -> str:
        """The shard's open windows."""
        return f"{self.tag}:mw"

    def counters(self, window: str) -> str:
        """The shard's counters of window ``<start_ms>:<length_ms>``."""
        return f"{self.tag}:m:{window}"

    def active(self, window: str) -> str:
        """The shard's active customers of one window."""
        return f"{self.tag}:ma:{window}"


@dataclass(frozen=True, slots=True)
class CloserKeys:
    """The keys of the metrics closer (one hash tag of their own, not a shard's)."""

    prefix: str

    @property
    def pending(self) -> str:
        """Closed windows computed, not yet published."""
        return f"{self.prefix}{{m}}:q"

    @property
    def done(self) -> str:
        """Windows published."""
        return f"{self.prefix}{{m}}:d"

    @property
    def lease(self) -> str:
        """The closer's lease."""
        return f"{self.prefix}{{m}}:l"
