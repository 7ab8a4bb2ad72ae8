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
                                           ``c:<campaign_id>`` and leads ``d:<duration>``;
                                           kept forever (tiny)
``P{s7}:i:<kind>:<event_id>``      STRING  idempotency record ``<digest>\\x1e<outcome>`` of one
                                           input event, with a TTL (default 8 days, real time)
=================================  ======  ====================================================

Fields of the customer hash (numbers in base 36 inside packed values, decimal text elsewhere):

* ``v`` version (grows by 1 per balance-visible change), ``s`` latest ``now`` applied (ms);
  ``n`` purchases, ``t`` total amount (exact decimal text), ``p`` last purchase (ms);
  ``ta`` / ``tr`` / ``tb`` / ``tc`` points accrued / redeemed / burned / clawed back, ever;
  ``og`` earliest order-record deadline (ms).
* ``L<lot_id>`` an outstanding lot (points left > 0; deleted when spent, clawed back or burned):
  ``code,orig,left,issued,act-issued,exp-issued,warned,coalesce_until-exp,warnings`` where
  ``code`` is the interned origin, ``warned`` the lead codes already warned joined by ``.`` and
  ``warnings`` the lot's own plans ``lead:exp-due`` joined by ``;`` (they share coalesce_until).
* ``O<order_id>`` an order that made lots, for refunds: ``amount\\x1erefunded\\x1edeadline``
  then per lot ``\\x1elot_id\\x1forig\\x1fclawed\\x1fcode``; dropped at ``deadline`` = latest lot
  deadline + order retention (a refund after that finds no order and changes nothing).
* ``U<code>`` once-per-customer marker of a rule (``1``) or campaign (``<event_id>\\x1e<digest>``).
* ``G<code>:<issued>`` points a capped rule gave with that issued_at (one small field per
  grant, so the hash stays listpack-encoded), pruned to two cap windows back.

Memory: lots and orders are small strings in one hash per customer, which stays
listpack-encoded while it has at most ``hash-max-listpack-entries`` fields (Redis default 128,
production config 512) and every field and value is at most ``hash-max-listpack-value`` bytes
(default 64; production config 128 because order records and long ids exceed 64).
``deploy/measure_lot_memory.py`` measures the bytes per outstanding lot.

Idempotency uses one key per event with a TTL rather than a pruned per-shard set: Redis expires
them by itself, nothing has to be pruned inside scripts, and a key costs about as much as a
ZSET+HASH entry would. The TTL runs on Redis' real clock, so it is at least 7 days of service
time whenever the service clock runs at real speed or faster.
"""

from __future__ import annotations

from dataclasses import dataclass

IDEMPOTENCY_TTL_SECONDS = 8 * 86_400


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

    def customer(self, customer_id: str) -> str:
        """A customer's record."""
        return f"{self.tag}:c:{customer_id}"

    def idempotency(self, kind: str, event_id: str) -> str:
        """The idempotency record of one input event."""
        return f"{self.tag}:i:{kind}:{event_id}"

    def customer_pattern(self) -> str:
        """A SCAN MATCH pattern of every customer record of this shard."""
        return _glob_escape(self.tag) + ":c:*"

    def customer_id_of(self, key: str) -> str:
        """The customer id of a customer record key."""
        return key[len(self.tag) + 3 :]


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


def check_prefix(prefix: str) -> str:
    """Refuse a prefix that would move the hash tag (braces) ."""
    if "{" in prefix or "}" in prefix:
        raise ValueError("a ledger key prefix must not contain braces: they select the hash slot")
    return prefix
