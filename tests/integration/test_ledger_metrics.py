"""The metrics counters the ledger scripts keep, on a real Redis: every kind of effect counted
once in the window of its service time, exact repeats not at all, counting unaffected by a
script reload, sealed windows closed to late events, active customers once per window."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from streams.analytics.counters import Totals, Window, sum_shards
from streams.analytics.store import MetricsStore
from streams.ledger.codec import to_ms
from tests.integration.ledger_harness import (
    DAY,
    T0,
    Harness,
    campaign,
    install,
    open_harness,
    purchase,
    redemption,
    refund,
)
from tests.metrics_reference import reference_totals, without_active

HOUR = timedelta(hours=1)


@pytest.fixture
def h(redis_url: str, key_prefix: str) -> Iterator[Harness]:
    with open_harness(redis_url, key_prefix) as harness:
        yield harness


def store(h: Harness) -> MetricsStore:
    return MetricsStore(h.client, h.ledger.prefix, h.ledger.partitions)


def windows(h: Harness) -> list[Window]:
    return h.run(store(h).closed_windows(2**52))


def totals(h: Harness, window: Window | None = None) -> Totals:
    """The counters of one window, or summed over every open window."""
    chosen = windows(h) if window is None else [window]
    return sum_shards([c for w in chosen for c in h.run(store(h).read(w))])


def events(h: Harness) -> list[dict[str, object]]:
    """Every output event of every shard, in outbox order, as contract JSON."""
    found = []
    for shard in range(h.ledger.partitions):
        for entry in h.run(h.ledger.read_outbox(shard, 100_000)):
            found.append(render_json(entry))
    return found


def render_json(entry: object) -> dict[str, object]:
    from streams.ledger import render  # noqa: PLC0415 - keeps the imports above short

    return render(entry)[2].model_dump(mode="json")  # type: ignore[arg-type]


def fire(h: Harness, customer: str, at: object) -> None:
    h.run(h.ledger.fire_due(h.ledger.shard_of(customer), at))  # type: ignore[arg-type]


def test_every_kind_of_effect_is_counted_once(h: Harness) -> None:
    h.run(h.ledger.apply(purchase("p1", "ann", "1500", order="o1"), T0))  # 150 + 50
    h.run(h.ledger.apply(install("i1", "ann"), T0))  # bot 300, warned at T0 + 5 days
    fire(h, "ann", T0 + 5 * DAY)  # bot warned (P2D)
    h.run(h.ledger.apply(redemption("x1", "ann", 100), T0 + 5 * DAY + HOUR))  # from bot (warned)
    h.run(h.ledger.apply(redemption("x2", "ann", 10_000), T0 + 5 * DAY + HOUR))  # rejected
    fire(h, "ann", T0 + 7 * DAY)  # bot burns 200
    fire(h, "ann", T0 + 11 * DAY)  # big-order burned, cashback warned (P3D)
    h.run(h.ledger.apply(refund("f1", "ann", "o1"), T0 + 11 * DAY + HOUR))  # 150 back, 50 not
    got = totals(h)
    assert without_active(got) == reference_totals(events(h))
    assert got["all"] == {
        "accrued_points": 500,
        "accrued_lots": 3,
        "redeemed_points": 100,
        "burned_points": 250,
        "clawed_back_points": 150,
        "warnings": 2,
        "warned_points": 450,  # bot 300, cashback 150
        "redeemed_after_warning_points": 100,
        "active_customers": 6,  # one per window with an event: T0, +5d, +5d1h, +7d, +11d, +11d1h
    }
    assert got["rule:bot"]["redeemed_after_warning_points"] == 100
    assert got["rule:big-order"]["burned_points"] == 50
    assert got["rule:big-order"]["clawed_back_points"] == 0
    assert got["rule:cashback"]["clawed_back_points"] == 150
    assert got["rule:cashback"]["warnings"] == 1


def test_windows_follow_the_service_clock(h: Harness) -> None:
    h.run(store(h).configure(int(DAY.total_seconds() * 1000)))
    h.run(h.ledger.apply(purchase("p1", "bob", "100"), T0))
    h.run(h.ledger.apply(purchase("p2", "bob", "200"), T0 + HOUR))
    h.run(h.ledger.apply(purchase("p3", "bob", "300"), T0 + DAY))
    day = int(DAY.total_seconds() * 1000)
    first, second = windows(h)
    assert first == Window.of(to_ms(T0), day)
    assert second.start_ms == first.end_ms
    assert totals(h, first)["rule:cashback"]["accrued_points"] == 30
    assert totals(h, first)["rule:cashback"]["active_customers"] == 1  # once per window
    assert totals(h, second)["all"]["accrued_points"] == 30


def test_exact_repeats_and_repeated_timers_count_nothing(h: Harness) -> None:
    h.run(h.ledger.apply(purchase("p1", "cid", "1500"), T0))
    h.run(h.ledger.apply(redemption("x1", "cid", 10), T0))
    once = totals(h)
    h.run(h.ledger.apply(purchase("p1", "cid", "1500"), T0 + HOUR))
    h.run(h.ledger.apply(redemption("x1", "cid", 10), T0 + HOUR))
    assert totals(h) == once
    fire(h, "cid", T0 + 10 * DAY)
    fired = totals(h)
    assert fired["all"]["burned_points"] == 40  # big-order's 50 less the 10 redeemed
    fire(h, "cid", T0 + 10 * DAY)
    fire(h, "cid", T0 + 10 * DAY + HOUR)
    assert totals(h) == fired


def test_counting_survives_a_script_reload(h: Harness) -> None:
    h.run(h.ledger.apply(purchase("p1", "dan", "100"), T0))
    h.run(h.client.script_flush())
    h.run(h.ledger.apply(purchase("p1", "dan", "100"), T0))  # reloaded, still a repeat
    h.run(h.ledger.apply(purchase("p2", "dan", "200"), T0))
    assert totals(h)["rule:cashback"]["accrued_points"] == 30
    assert without_active(totals(h)) == reference_totals(events(h))


def test_a_sealed_window_takes_no_late_events(h: Harness) -> None:
    h.run(h.ledger.apply(purchase("p1", "eve", "100"), T0))
    (window,) = windows(h)
    h.run(store(h).seal(window.end_ms))
    h.run(h.ledger.apply(purchase("p2", "eve", "200"), T0 + timedelta(minutes=1)))  # late
    assert totals(h, window)["all"]["accrued_points"] == 10
    later = Window(window.end_ms, window.length_ms)
    assert windows(h) == [window, later]
    assert totals(h, later)["all"]["accrued_points"] == 20


def test_campaign_lots_count_for_their_campaign(h: Harness) -> None:
    h.run(h.ledger.apply(purchase("p1", "fay", "100"), T0))
    h.run(h.ledger.apply(purchase("p2", "fay", "100"), T0))
    h.run(h.ledger.grant_campaign(campaign("c1", "winter", 70, "regular"), "fay", T0))
    h.run(h.ledger.apply(redemption("x1", "fay", 75), T0 + HOUR))  # 70 campaign (P10D) + 5
    got = totals(h)
    assert got["campaign:winter"]["accrued_points"] == 70
    assert got["campaign:winter"]["redeemed_points"] == 70
    assert got["all"]["active_customers"] == 2  # two windows
    assert without_active(got) == reference_totals(events(h))


def test_active_customers_per_dimension(h: Harness) -> None:
    h.run(h.ledger.apply(purchase("p1", "gil", "1500"), T0))
    h.run(h.ledger.apply(purchase("p2", "gil", "100"), T0))
    h.run(h.ledger.apply(purchase("p3", "hal", "100"), T0))
    got = totals(h)
    assert got["all"]["active_customers"] == 2
    assert got["rule:cashback"]["active_customers"] == 2
    assert got["rule:big-order"]["active_customers"] == 1
