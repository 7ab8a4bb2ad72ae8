"""Output payloads: exact field names, consistency checks, stable bytes, UTC ``Z`` times."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from schemas import (
    DEAD_LETTER_PAYLOAD_LIMIT,
    BalanceSnapshot,
    BonusAccrued,
    BonusBurned,
    BonusClawedBack,
    DeadLetter,
    Duration,
    ErrorCode,
    ErrorInfo,
    ExpiryWarning,
    InvalidEvent,
    LotPoints,
    MetricsWindow,
    NextExpiry,
    RedemptionResult,
    WarnedLot,
    cloudevent_headers,
    decode_output,
    payload_text,
    to_json_bytes,
)

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
MSK = timezone(timedelta(hours=3))


def accrued(**changes: Any) -> BonusAccrued:
    fields: dict[str, Any] = {
        "event_id": "out-1",
        "customer_id": "c1",
        "lot_id": "lot-1",
        "points": 62,
        "rule_id": "cashback-5",
        "source_event_id": "evt-1",
        "issued_at": T0,
        "activates_at": T0,
        "expires_at": T0 + timedelta(days=14),
    }
    return BonusAccrued.model_validate({**fields, **changes})


def examples() -> list[BaseModel]:
    lots = (
        WarnedLot(lot_id="l1", points=10, expires_at=T0),
        WarnedLot(lot_id="l2", points=5, expires_at=T0 + timedelta(hours=5)),
    )
    return [
        accrued(),
        accrued(rule_id=None, campaign_id="xmas"),
        BonusClawedBack(
            event_id="o2",
            customer_id="c1",
            lot_id="l1",
            points=10,
            points_unrecovered=4,
            source_event_id="refund-1",
        ),
        RedemptionResult(
            event_id="o3",
            customer_id="c1",
            request_event_id="r1",
            order_id="o",
            status="accepted",
            points_requested=15,
            points_redeemed=15,
            lots=(LotPoints(lot_id="l1", points=10), LotPoints(lot_id="l2", points=5)),
            balance_after=0,
        ),
        RedemptionResult(
            event_id="o4",
            customer_id="c1",
            request_event_id="r2",
            order_id="o",
            status="rejected",
            points_requested=15,
            points_redeemed=0,
            reason="insufficient_balance",
            balance_after=3,
        ),
        ExpiryWarning(
            event_id="o5",
            customer_id="c1",
            lead=Duration(days=3),
            points_expiring=15,
            expires_at=T0,
            lots=lots,
            balance=15,
        ),
        BonusBurned(
            event_id="o6",
            customer_id="c1",
            lot_id="l1",
            points=10,
            expired_at=T0,
            campaign_id="xmas",
        ),
        BalanceSnapshot(
            event_id="o7",
            customer_id="c1",
            balance=5,
            pending=0,
            next_expiry=NextExpiry(points=5, at=T0),
            updated_at=T0,
            version=3,
        ),
        BalanceSnapshot(
            event_id="o8",
            customer_id="c1",
            balance=0,
            pending=0,
            next_expiry=None,
            updated_at=T0,
            version=4,
        ),
        MetricsWindow(
            event_id="o9",
            window_start=T0,
            window_end=T0 + timedelta(hours=1),
            dimension="rule:cashback-5",
            accrued_points=1,
            accrued_lots=1,
            redeemed_points=0,
            burned_points=0,
            clawed_back_points=0,
            warnings=0,
            warned_points=0,
            redeemed_after_warning_points=0,
            active_customers=1,
        ),
        DeadLetter(
            event_id="o10",
            source_topic="bonus.purchases",
            partition=3,
            offset=42,
            key="c1",
            error=ErrorInfo(
                code=ErrorCode.DUPLICATE_CONFLICT, message="event_id evt-1 seen with other payload"
            ),
            payload='{"event_id":"evt-1"}',
            failed_at=T0,
        ),
    ]


@pytest.mark.parametrize("event", examples(), ids=lambda e: type(e).__name__)
def test_bytes_are_stable_and_decode_back(event: BaseModel) -> None:
    data = to_json_bytes(event)
    assert data == to_json_bytes(type(event).model_validate_json(data))
    assert decode_output(data) == event
    text = data.decode()
    assert ": " not in text
    assert list(json.loads(data)) == sorted(json.loads(data))


def test_field_names_are_the_contracts() -> None:
    assert set(json.loads(to_json_bytes(accrued()))) == {
        "event_id",
        "type",
        "customer_id",
        "lot_id",
        "points",
        "rule_id",
        "campaign_id",
        "source_event_id",
        "issued_at",
        "activates_at",
        "expires_at",
    }
    snapshot = json.loads(to_json_bytes(examples()[7]))
    assert snapshot["next_expiry"] == {"points": 5, "at": "2026-12-01T10:00:00Z"}
    assert {"balance", "pending", "updated_at", "version"} <= set(snapshot)
    warning = json.loads(to_json_bytes(examples()[5]))
    assert warning["lead"] == "P3D"
    assert warning["lots"][0] == {
        "lot_id": "l1",
        "points": 10,
        "expires_at": "2026-12-01T10:00:00Z",
    }


def test_types() -> None:
    assert [json.loads(to_json_bytes(e))["type"] for e in examples()] == [
        "bonus.accrued",
        "bonus.accrued",
        "bonus.clawed_back",
        "bonus.redemption",
        "bonus.redemption",
        "bonus.expiry_warning",
        "bonus.burned",
        "bonus.balance",
        "bonus.balance",
        "bonus.metrics",
        "bonus.dead_letter",
    ]


def test_times_serialise_in_utc_with_z() -> None:
    event = accrued(issued_at=datetime(2026, 12, 1, 13, 0, 0, 500, tzinfo=MSK))
    assert json.loads(to_json_bytes(event))["issued_at"] == "2026-12-01T10:00:00.000500Z"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValidationError, match="naive_time"):
        accrued(issued_at=datetime(2026, 12, 1, 10, 0))  # noqa: DTZ001 - the point of the test


@pytest.mark.parametrize(
    "changes",
    [
        {"rule_id": None},
        {"campaign_id": "xmas"},
        {"points": 0},
        {"activates_at": T0 + timedelta(days=14)},
        {"expires_at": T0},
        {"surprise": 1},
    ],
)
def test_accrual_consistency(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        accrued(**changes)


def test_redemption_consistency() -> None:
    base: dict[str, Any] = {
        "event_id": "o",
        "customer_id": "c",
        "request_event_id": "r",
        "order_id": "o",
        "points_requested": 5,
        "balance_after": 0,
    }
    bad = [
        {"status": "accepted", "points_redeemed": 4, "lots": [{"lot_id": "l", "points": 4}]},
        {"status": "accepted", "points_redeemed": 5, "lots": [{"lot_id": "l", "points": 4}]},
        {
            "status": "accepted",
            "points_redeemed": 5,
            "reason": "x",
            "lots": [{"lot_id": "l", "points": 5}],
        },
        {"status": "rejected", "points_redeemed": 0},
        {"status": "rejected", "points_redeemed": 0, "reason": "Not Enough"},
        {"status": "maybe", "points_redeemed": 0, "reason": "x"},
    ]
    for changes in bad:
        with pytest.raises(ValidationError):
            RedemptionResult.model_validate({**base, **changes})


def test_warning_consistency() -> None:
    lot = {"lot_id": "l", "points": 5, "expires_at": T0}
    base: dict[str, Any] = {"event_id": "o", "customer_id": "c", "lead": "P1D", "balance": 5}
    for changes in [
        {"points_expiring": 6, "expires_at": T0, "lots": [lot]},
        {"points_expiring": 5, "expires_at": T0 + timedelta(1), "lots": [lot]},
        {"points_expiring": 5, "expires_at": T0, "lots": []},
    ]:
        with pytest.raises(ValidationError):
            ExpiryWarning.model_validate({**base, **changes})


def test_clawback_and_metrics_consistency() -> None:
    with pytest.raises(ValidationError, match="points_unrecovered"):
        BonusClawedBack(
            event_id="o",
            customer_id="c",
            lot_id="l",
            points=1,
            points_unrecovered=2,
            source_event_id="s",
        )
    with pytest.raises(ValidationError):
        MetricsWindow.model_validate({**examples()[9].model_dump(), "dimension": "customer:c1"})
    with pytest.raises(ValidationError, match="window_end"):
        MetricsWindow.model_validate({**examples()[9].model_dump(), "window_end": T0})


def test_dead_letter_payload_is_cut_at_64_kib() -> None:
    text, cut = payload_text(b"{}")
    assert (text, cut) == ("{}", False)
    text, cut = payload_text("ж".encode() * DEAD_LETTER_PAYLOAD_LIMIT)
    assert cut
    assert len(text.encode()) <= DEAD_LETTER_PAYLOAD_LIMIT
    assert set(text) == {"ж"}
    text, cut = payload_text(b"\xff" * DEAD_LETTER_PAYLOAD_LIMIT)
    assert cut
    assert len(text.encode()) <= DEAD_LETTER_PAYLOAD_LIMIT
    letter = examples()[10]
    with pytest.raises(ValidationError, match="64 KiB"):
        DeadLetter.model_validate({**letter.model_dump(), "payload": "x" * 65537})


def test_dead_letter_carries_any_snake_case_code() -> None:
    letter = examples()[10]
    assert isinstance(letter, DeadLetter)
    assert letter.error.code == "duplicate_conflict"
    assert ErrorCode.DUPLICATE_CONFLICT.value == "duplicate_conflict"


def test_decode_output_errors() -> None:
    with pytest.raises(InvalidEvent) as caught:
        decode_output(b'{"type": "bonus.unknown", "event_id": "x"}')
    assert caught.value.code is ErrorCode.INVALID_VALUE
    with pytest.raises(InvalidEvent) as caught:
        decode_output(to_json_bytes(accrued())[:-1] + b',"points":0}')
    assert caught.value.code is ErrorCode.NOT_JSON  # duplicate key


def test_cloudevent_headers() -> None:
    headers = dict(cloudevent_headers("out-1", "bonus.accrued", source="bonus/worker", time=T0))
    assert headers == {
        "ce_specversion": b"1.0",
        "ce_id": b"out-1",
        "ce_type": b"bonus.accrued",
        "ce_source": b"bonus/worker",
        "ce_time": b"2026-12-01T10:00:00Z",
        "content-type": b"application/json",
    }
