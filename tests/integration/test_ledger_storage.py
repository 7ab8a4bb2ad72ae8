"""The compact customer record on a real Redis: each fact stored once, exact times, listpack
encoding, and spent lots kept only while an order or a cap needs them (layout: keys.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from schemas.outputs import BonusAccrued, BonusBurned, ExpiryWarning
from streams.ledger import Accrued, Redeemed
from tests.integration.ledger_harness import DAY, T0, Harness, open_harness, purchase, redemption

MS = timedelta(milliseconds=1)


@pytest.fixture
def h(redis_url: str, key_prefix: str) -> Iterator[Harness]:
    with open_harness(redis_url, key_prefix) as harness:
        yield harness


def record(h: Harness, customer: str) -> dict[bytes, bytes]:
    key = h.ledger.keys(h.ledger.shard_of(customer)).customer(customer)
    fields = h.run(h.client.hgetall(key))
    return {
        k.encode() if isinstance(k, str) else k: v.encode() if isinstance(v, str) else v
        for k, v in fields.items()
    }


def encoding(h: Harness, customer: str) -> bytes:
    key = h.ledger.keys(h.ledger.shard_of(customer)).customer(customer)
    value: bytes = h.run(h.client.object("encoding", key))
    return value


def fire(h: Harness, customer: str, at: datetime) -> None:
    h.run(h.ledger.fire_due(h.ledger.shard_of(customer), at))


def test_a_purchase_stores_each_fact_once(h: Harness) -> None:
    outcome = h.run(h.ledger.apply(purchase("p1", "ann", "1500", order="o1"), T0))
    assert isinstance(outcome, Accrued)
    lot_ids = [lot_id for lot_id, _ in outcome.lots]
    assert len(lot_ids) == 2
    assert all(len(lot_id) == 16 for lot_id in lot_ids)
    fields = record(h, "ann")
    assert set(fields) == {b"v", b"S", b"T", b"Oo1"} | {b"L" + i.encode() for i in lot_ids}
    stored = b"|".join(k + b"=" + v for k, v in fields.items())
    for lot_id in lot_ids:
        assert stored.count(lot_id.encode()) == 1  # no second copy in the order record
    assert max(len(x) for pair in fields.items() for x in pair) <= 64
    assert encoding(h, "ann") == b"listpack"


def test_times_keep_millisecond_precision(h: Harness) -> None:
    at = T0 + timedelta(seconds=1, milliseconds=234)
    h.run(h.ledger.apply(purchase("p1", "bea", "100", at), at))
    (accrued,) = h.outputs("bea", "accrued")
    assert isinstance(accrued, BonusAccrued)
    expires = at + 14 * DAY
    assert (accrued.issued_at, accrued.expires_at) == (at, expires)
    view = h.run(h.ledger.customer_view("bea", at))
    assert view is not None
    assert [(x.issued_at, x.activates_at, x.expires_at) for x in view.lots] == [(at, at, expires)]
    # Warnings and the burn come exactly on time, not a millisecond early.
    fire(h, "bea", expires - 3 * DAY - MS)
    assert h.outputs("bea", "warning") == []
    fire(h, "bea", expires - 3 * DAY)
    (warning,) = h.outputs("bea", "warning")
    assert isinstance(warning, ExpiryWarning)
    assert warning.expires_at == expires
    fire(h, "bea", expires - MS)
    assert h.outputs("bea", "burned") == []
    fire(h, "bea", expires)
    (burned,) = h.outputs("bea", "burned")
    assert isinstance(burned, BonusBurned)
    assert burned.expired_at == expires


def test_a_busy_customer_stays_listpack_encoded(h: Harness) -> None:
    for i in range(25):  # 3 lots and an order each
        at = T0 + i * timedelta(hours=7, seconds=1, milliseconds=i)
        h.run(h.ledger.apply(purchase(f"p{i}", "cid", 1500 + i, at, channel="web"), at))
        if i % 3 == 0:
            h.run(h.ledger.apply(redemption(f"r{i}", "cid", 70, at), at))
    fields = record(h, "cid")
    assert len(fields) < 128  # Redis' default hash-max-listpack-entries
    assert max(len(x) for pair in fields.items() for x in pair) <= 64  # and -value
    assert encoding(h, "cid") == b"listpack"


def test_spent_lots_are_kept_only_while_an_order_or_a_cap_needs_them(h: Harness) -> None:
    # cashback (capped) 150 and big-order 50, both spent at once.
    outcome = h.run(h.ledger.apply(purchase("p1", "dan", "1500", order="o1"), T0))
    assert isinstance(outcome, Accrued)
    cashback, big = (f"L{lot_id}".encode() for lot_id, _ in outcome.lots)
    redeemed = h.run(h.ledger.apply(redemption("r1", "dan", 200), T0))
    assert isinstance(redeemed, Redeemed)
    assert redeemed.status == "accepted"
    assert {cashback, big, b"Oo1"} <= set(record(h, "dan"))  # a refund still reports them
    # The order record goes 30 days after the last lot deadline; the capped lot still counts.
    fire(h, "dan", T0 + 44 * DAY - MS)
    assert {cashback, big, b"Oo1"} <= set(record(h, "dan"))
    fire(h, "dan", T0 + 44 * DAY)
    assert {f for f in record(h, "dan") if f[:1] in b"LO"} == {cashback}
    # A grant more than two cap windows later releases it.
    later = T0 + 100 * DAY
    outcome = h.run(h.ledger.apply(purchase("p2", "dan", "100", later), later))
    assert isinstance(outcome, Accrued)
    (new,) = (f"L{lot_id}".encode() for lot_id, _ in outcome.lots)
    assert {f for f in record(h, "dan") if f[:1] == b"L"} == {new}
