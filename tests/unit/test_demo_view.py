"""The demo's live view: counting outputs, the status line, the summary, the lag arithmetic."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from schemas import (
    BalanceSnapshot,
    BonusAccrued,
    BonusBurned,
    BonusClawedBack,
    DeadLetter,
    Duration,
    ErrorInfo,
    ExpiryWarning,
    LotPoints,
    RedemptionResult,
    WarnedLot,
    to_json_bytes,
)
from streams.demo.lag import lag_of
from streams.demo.tally import Tally
from streams.demo.view import LiveView, RunFacts, Snapshot, status_line, summary

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
MSK = ZoneInfo("Europe/Moscow")


def outputs(customer: str) -> list[BaseModel]:
    return [
        BonusAccrued(
            event_id=f"{customer}-a1",
            customer_id=customer,
            lot_id="l1",
            points=120,
            rule_id="cashback-5",
            source_event_id="p1",
            issued_at=T0,
            activates_at=T0,
            expires_at=T0 + timedelta(days=14),
        ),
        RedemptionResult(
            event_id=f"{customer}-r1",
            customer_id=customer,
            request_event_id="r1",
            order_id="o1",
            status="accepted",
            points_requested=50,
            points_redeemed=50,
            lots=(LotPoints(lot_id="l1", points=50),),
            balance_after=70,
        ),
        RedemptionResult(
            event_id=f"{customer}-r2",
            customer_id=customer,
            request_event_id="r2",
            order_id="o2",
            status="rejected",
            points_requested=500,
            points_redeemed=0,
            reason="insufficient_balance",
            balance_after=70,
        ),
        ExpiryWarning(
            event_id=f"{customer}-w1",
            customer_id=customer,
            lead=Duration(days=3),
            points_expiring=60,
            expires_at=T0,
            lots=(WarnedLot(lot_id="l1", points=60, expires_at=T0),),
            balance=70,
        ),
        BonusClawedBack(
            event_id=f"{customer}-c1",
            customer_id=customer,
            lot_id="l1",
            points=10,
            points_unrecovered=4,
            source_event_id="f1",
        ),
        BonusBurned(
            event_id=f"{customer}-b1",
            customer_id=customer,
            lot_id="l1",
            points=60,
            expired_at=T0,
            rule_id="cashback-5",
        ),
        BalanceSnapshot(
            event_id=f"{customer}-s2",
            customer_id=customer,
            balance=300,
            pending=20,
            next_expiry=None,
            updated_at=T0,
            version=2,
        ),
        BalanceSnapshot(
            event_id=f"{customer}-s1",
            customer_id=customer,
            balance=5,
            pending=0,
            next_expiry=None,
            updated_at=T0,
            version=1,
        ),
        DeadLetter(
            event_id=f"{customer}-d1",
            source_topic="bonus.purchases",
            partition=0,
            offset=3,
            key=customer,
            error=ErrorInfo(code="not_json", message="payload is not JSON"),
            payload="{oops",
            failed_at=T0,
        ),
    ]


def test_the_tally_counts_our_guests_only() -> None:
    tally = Tally(customers={"vip-1"})
    for customer in ("vip-1", "someone-else"):
        for event in outputs(customer):
            tally.record(customer.encode(), to_json_bytes(event))
    assert tally.record(b"vip-1", b"not an output") is False
    assert (tally.accrued, tally.accrued_lots, tally.accrued_by_rule) == (
        120,
        1,
        {"cashback-5": 120},
    )
    assert (tally.redeemed, tally.accepted, tally.rejected) == (50, 1, 1)
    assert (tally.warnings, tally.warned_points) == (1, 60)
    assert (tally.clawed_back, tally.unrecovered) == (10, 4)
    assert (tally.burned, tally.burned_lots) == (60, 1)
    assert (tally.dead_letters, tally.dead_letter_codes) == (1, {"not_json": 1})
    assert tally.outputs == 9
    # Burns, warnings and balances go on with the clock; only answers to inputs mean progress.
    assert tally.answers == 5
    assert tally.unreadable == 1
    # The newest snapshot wins even when an older one arrives later (a relay repeat).
    richest = tally.richest()
    assert richest is not None
    assert (richest.customer_id, richest.balance, richest.version) == ("vip-1", 300, 2)


def snapshot(tally: Tally, lag: int | None = 0) -> Snapshot:
    return Snapshot(T0, published=12, planned=40, tally=tally, lag=lag)


def test_the_status_line_shows_the_simulated_local_date_and_the_totals() -> None:
    tally = Tally()
    for event in outputs("c1"):
        tally.record(b"c1", to_json_bytes(event))
    line = status_line(snapshot(tally, lag=1234), MSK)
    assert line.startswith("2026-12-01 13:00 MSK | in 12/40 | accrued 120 | redeemed 50")
    assert "warnings 1 | DLQ 1 | lag 1 234" in line
    assert "lag ?" in status_line(snapshot(tally, lag=None), MSK)


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_line_is_rewritten_in_place() -> None:
    out = FakeTerminal()
    view = LiveView(out, MSK)
    view.show(snapshot(Tally()))
    view.show(snapshot(Tally()))
    view.note("done")
    text = out.getvalue()
    assert text.count("\r") == 2
    assert text.endswith("\x1b[K\ndone\n")


def test_elsewhere_a_line_is_written_every_few_calls() -> None:
    out = io.StringIO()
    view = LiveView(out, MSK, every_lines=5)
    for _ in range(11):
        view.show(snapshot(Tally()))
    assert "\r" not in out.getvalue()
    assert out.getvalue().count("\n") == 3  # calls 1, 6 and 11


FACTS = RunFacts(
    started=T0,
    ended=T0 + timedelta(days=30),
    customers=200,
    published=2500,
    bad=6,
    repeats=2,
    failed=0,
    drained=True,
    interrupted=False,
    web_port=6066,
    topic_prefix="bonus.",
    example_customer="vip-x-0001",
)


def test_the_summary_says_where_to_look() -> None:
    tally = Tally()
    for event in outputs("vip-7"):
        tally.record(b"vip-7", to_json_bytes(event))
    text = "\n".join(summary(FACTS, tally, 0, MSK))
    assert "Demo finished: 2026-12-01 13:00 to 2026-12-31 13:00 MSK" in text
    assert "http://127.0.0.1:6066/metrics" in text
    assert "http://127.0.0.1:6066/customers/vip-7  (300 points active, 20 pending)" in text
    assert "bonus.purchases" in text
    assert "bonus.dlq" in text
    assert "(not_json 1)" in text
    assert "had not caught up" not in text


def test_without_any_balance_the_summary_still_names_a_guest() -> None:
    text = "\n".join(summary(replace(FACTS, drained=False, interrupted=True), Tally(), None, MSK))
    assert "Demo interrupted" in text
    assert "/customers/vip-x-0001" in text
    assert "had not caught up" in text


def test_lag_counts_uncommitted_partitions_from_their_low_mark() -> None:
    marks = {("in", 0): (0, 10), ("in", 1): (5, 8), ("in", 2): (0, 4)}
    assert lag_of(marks, {("in", 0): 7, ("in", 1): -1001}) == 3 + 3 + 4
    assert lag_of(marks, {("in", 0): 10, ("in", 1): 8, ("in", 2): 4}) == 0
