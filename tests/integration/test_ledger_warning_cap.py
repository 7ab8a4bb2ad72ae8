"""max_warnings_per_day on a real Redis: at most N warnings per customer and calendar day of
the rules' time zone, the excess folded into the next allowed one (the same firing's last, or
the next day's first), and a lot that would burn before the next day warned anyway."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from streams.ledger.codec import from_ms, text, to_ms
from streams.ledger.view import b36, t36
from streams.rules.loader import parse_rules
from tests.integration.ledger_harness import T0, Harness, open_harness, purchase

HOUR, DAY = timedelta(hours=1), timedelta(days=1)
RULES = """
timezone: Europe/Moscow        # UTC+3: a day runs from 21:00 UTC to 21:00 UTC
warning_coalesce: PT1H         # narrow: lots two hours apart get warnings of their own
max_warnings_per_day: {cap}
rules:
  - id: week
    event: purchase
    points: {{fixed: 100}}
    valid_for: P7D
    warn_before: [P2D, P1D]
    when: {{channels: [pos]}}
  - id: short
    event: purchase
    points: {{fixed: 10}}
    valid_for: PT12H
    warn_before: [PT6H]
    when: {{channels: [web]}}
"""
DEC6 = datetime(2026, 12, 6, tzinfo=UTC)
MIDNIGHT_DEC7 = datetime(2026, 12, 6, 21, tzinfo=UTC)  # 00:00 on 7 December in Moscow


def harness(redis_url: str, key_prefix: str, cap: int) -> Iterator[Harness]:
    with open_harness(redis_url, key_prefix, rules_file=parse_rules(RULES.format(cap=cap))) as h:
        yield h


@pytest.fixture
def two(redis_url: str, key_prefix: str) -> Iterator[Harness]:
    yield from harness(redis_url, key_prefix, 2)


@pytest.fixture
def one(redis_url: str, key_prefix: str) -> Iterator[Harness]:
    yield from harness(redis_url, key_prefix, 1)


def fire(h: Harness, customer: str, at: datetime) -> None:
    h.run(h.ledger.fire_due(h.ledger.shard_of(customer), at))


def warnings(h: Harness, customer: str) -> list[tuple[datetime, str, list[str]]]:
    """(sent at, lead, lots) of each warning, in order."""
    return [
        (from_ms(int(e.data["at"])), e.data["lead"], [x["lot"] for x in e.data["lots"]])
        for e in h.outbox(customer)
        if e.type == "warning"
    ]


def lots(h: Harness, customer: str) -> list[str]:
    return [e.data["lot"] for e in h.outbox(customer) if e.type == "accrued"]


def timer(h: Harness, customer: str) -> datetime | None:
    keys = h.ledger.keys(h.ledger.shard_of(customer))
    score = h.run(h.client.zscore(keys.timers, customer))
    return None if score is None else from_ms(int(score))


def test_at_most_n_a_day_and_the_excess_folds_into_the_next_days(two: Harness) -> None:
    h = two
    for n in range(5):  # expire on 8 December at 10, 12, 14, 16, 18 UTC; P2D due on the 6th
        h.run(h.ledger.apply(purchase(f"p{n}", "ann", "10", T0 + 2 * n * HOUR), T0))
    l1, l2, l3, l4, l5 = lots(h, "ann")
    for hour in (10, 12, 14, 16, 18):
        fire(h, "ann", DEC6 + hour * HOUR)
    # Two on 6 December (Moscow); the other three wait for the 7th.
    assert warnings(h, "ann") == [(DEC6 + 10 * HOUR, "P2D", [l1]), (DEC6 + 12 * HOUR, "P2D", [l2])]
    assert timer(h, "ann") == MIDNIGHT_DEC7
    fire(h, "ann", MIDNIGHT_DEC7 - timedelta(milliseconds=1))  # still the 6th: nothing
    assert len(warnings(h, "ann")) == 2
    fire(h, "ann", MIDNIGHT_DEC7)
    # The 7th allows two: l3's goes out as it is, l4's and l5's fold into the second.
    assert warnings(h, "ann")[2:] == [
        (MIDNIGHT_DEC7, "P2D", [l3]),
        (MIDNIGHT_DEC7, "P2D", [l4, l5]),
    ]
    fire(h, "ann", MIDNIGHT_DEC7)  # a repeated firing sends nothing again
    assert len(warnings(h, "ann")) == 4
    # The 7th is used up: every P1D (due on the 7th at 10..18 UTC) waits for the 8th.
    # (The timer still wakes at each due time: whether a lot must be warned anyway is decided
    # then.)
    for hour in (10, 12, 14, 16, 18):
        fire(h, "ann", DEC6 + DAY + hour * HOUR)
    assert len(warnings(h, "ann")) == 4
    assert timer(h, "ann") == MIDNIGHT_DEC7 + DAY
    fire(h, "ann", MIDNIGHT_DEC7 + DAY)
    assert warnings(h, "ann")[4:] == [
        (MIDNIGHT_DEC7 + DAY, "P1D", [l1]),
        (MIDNIGHT_DEC7 + DAY, "P1D", [l2, l3, l4, l5]),
    ]
    # Each lot got each of its leads exactly once; only the burns are left.
    assert timer(h, "ann") == DEC6 + 2 * DAY + 10 * HOUR


def test_several_due_at_once_fold_into_the_last_allowed(one: Harness) -> None:
    h = one
    for n in range(3):
        h.run(h.ledger.apply(purchase(f"p{n}", "bob", "10", T0 + 2 * n * HOUR), T0))
    fire(h, "bob", DEC6 + 15 * HOUR)  # a late timer: the three P2D are due at once
    (sent,) = warnings(h, "bob")
    assert sent == (DEC6 + 15 * HOUR, "P2D", lots(h, "bob"))
    assert timer(h, "bob") == DEC6 + DAY + 10 * HOUR  # the P1D warnings wait for their time


def test_a_lot_that_would_burn_before_the_next_day_is_warned_anyway(one: Harness) -> None:
    h = one
    h.run(h.ledger.apply(purchase("p", "cy", "10", T0), T0))  # P2D due 6 Dec 10:00 UTC
    fire(h, "cy", DEC6 + 10 * HOUR)
    (week,) = lots(h, "cy")
    # Two short lots: one expires at 20:00 UTC, before the 7th starts (21:00 UTC); the other
    # at 01:00 UTC on the 7th.
    h.run(
        h.ledger.apply(purchase("s1", "cy", "1", DEC6 + 8 * HOUR, channel="web"), DEC6 + 11 * HOUR)
    )
    h.run(
        h.ledger.apply(purchase("s2", "cy", "1", DEC6 + 13 * HOUR, channel="web"), DEC6 + 13 * HOUR)
    )
    _, early, late = lots(h, "cy")
    assert timer(h, "cy") == DEC6 + 14 * HOUR  # s1's PT6H
    fire(h, "cy", DEC6 + 14 * HOUR)
    fire(h, "cy", DEC6 + 19 * HOUR)  # s2's PT6H: the cap holds it, the 7th is early enough
    assert timer(h, "cy") == DEC6 + 20 * HOUR  # s1 burns
    fire(h, "cy", DEC6 + 20 * HOUR)
    fire(h, "cy", MIDNIGHT_DEC7)
    assert warnings(h, "cy") == [
        (DEC6 + 10 * HOUR, "P2D", [week]),
        (DEC6 + 14 * HOUR, "PT6H", [early]),  # past the cap: points never burn unannounced
        (MIDNIGHT_DEC7, "PT6H", [late]),
    ]
    assert [e.data["lot"] for e in h.outbox("cy") if e.type == "burned"] == [early]


def test_the_count_is_kept_per_calendar_day_in_the_record(one: Harness) -> None:
    h = one
    h.run(h.ledger.apply(purchase("p", "dee", "10", T0), T0))
    fire(h, "dee", DEC6 + 10 * HOUR)
    keys = h.ledger.keys(h.ledger.shard_of("dee"))
    raw = h.run(h.client.hget(keys.customer("dee"), "W"))
    assert raw is not None
    day, sent = text(raw).split(",")
    # The day: 6 December in Moscow, which starts at 21:00 UTC on the 5th; one warning sent.
    assert (t36(day), b36(sent)) == (to_ms(datetime(2026, 12, 5, 21, tzinfo=UTC)), 1)
