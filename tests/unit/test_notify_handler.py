"""The notifier's handling without services: dedupe by event_id, holds, retries, bad input."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from schemas import Duration, ExpiryWarning, WarnedLot, to_json_bytes
from streams.notify.channels import Notification, NotifyDeliveryError
from streams.notify.handler import Handler, NotifyOptions
from streams.notify.quiet import QuietHours
from streams.notify.store import Held

EVENING = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
NIGHT = QuietHours.parse("22:00-08:00", UTC)


@dataclass
class FakeClock:
    at: datetime = EVENING

    def now(self) -> datetime:
        return self.at

    def now_ms(self) -> int:
        return int(self.at.timestamp() * 1000)

    def real_seconds(self, service_seconds: float) -> float:
        return service_seconds


@dataclass
class MemoryStore:
    sent: set[str] = field(default_factory=set)
    held: dict[str, tuple[int, bytes]] = field(default_factory=dict)

    def was_sent(self, event_id: str) -> bool:
        return event_id in self.sent

    def mark_sent(self, event_id: str) -> None:
        self.sent.add(event_id)
        self.held.pop(event_id, None)

    def hold(self, event_id: str, payload: bytes, release_ms: int) -> bool:
        if event_id in self.held:
            return False
        self.held[event_id] = (release_ms, payload)
        return True

    def reschedule(self, event_id: str, release_ms: int) -> None:
        self.held[event_id] = (release_ms, self.held[event_id][1])

    def claim_due(self, now_ms: int, lease_until_ms: int, limit: int = 100) -> list[Held]:
        due = [(k, v) for k, v in self.held.items() if v[0] <= now_ms][:limit]
        for event_id, (_, payload) in due:
            self.held[event_id] = (lease_until_ms, payload)
        return [Held(event_id, payload) for event_id, (_, payload) in due]

    def drop_held(self, event_id: str) -> None:
        self.held.pop(event_id, None)


@dataclass
class Recorder:
    name: str = "record"
    failures: int = 0
    delivered: list[Notification] = field(default_factory=list)

    def deliver(self, notification: Notification) -> None:
        if self.failures:
            self.failures -= 1
            raise NotifyDeliveryError("receiver down")
        self.delivered.append(notification)


def warning(event_id: str, expires_in: timedelta = timedelta(days=2)) -> bytes:
    deadline = EVENING + expires_in
    lot = WarnedLot(lot_id=f"lot-{event_id}", points=50, expires_at=deadline)
    return to_json_bytes(
        ExpiryWarning(
            event_id=event_id,
            customer_id="c-1",
            lead=Duration.parse("P2D"),
            points_expiring=50,
            expires_at=deadline,
            lots=(lot,),
            balance=50,
        )
    )


def handler(
    quiet: QuietHours | None = None, failures: int = 0
) -> tuple[Handler, Recorder, MemoryStore, FakeClock]:
    channel, store, clock = Recorder(failures=failures), MemoryStore(), FakeClock()
    options = NotifyOptions(template="{points_expiring} for {customer_id}", quiet=quiet, lease=30)
    return Handler(options, channel, store, clock), channel, store, clock


def test_a_repeated_event_id_is_delivered_once() -> None:
    subject, channel, store, _ = handler()
    assert all(subject.on_message(warning(e)) for e in ["w1", "w2", "w1", "w1", "w2"])
    assert [n.warning.event_id for n in channel.delivered] == ["w1", "w2"]
    assert [n.text for n in channel.delivered] == ["50 for c-1"] * 2
    assert store.sent == {"w1", "w2"}
    assert subject.counts == {"sent": 2, "duplicate": 3}


def test_a_failed_delivery_is_not_committed_and_not_recorded() -> None:
    subject, channel, store, _ = handler(failures=1)
    assert subject.on_message(warning("w1")) is False
    assert store.sent == set()
    assert subject.on_message(warning("w1")) is True
    assert len(channel.delivered) == 1


def test_garbage_and_other_outputs_are_committed_past() -> None:
    subject, channel, _, _ = handler()
    assert subject.on_message(b"not json") is True
    assert subject.on_message(b'{"type": "bonus.burned"}') is True
    assert channel.delivered == []
    assert subject.counts["invalid"] == 2


def test_a_warning_past_its_deadline_is_not_sent() -> None:
    subject, channel, _, _ = handler()
    assert subject.on_message(warning("w1", expires_in=timedelta(0))) is True
    assert channel.delivered == []
    assert subject.counts["skipped"] == 1


def test_quiet_hours_hold_then_release_once() -> None:
    subject, channel, store, clock = handler(quiet=NIGHT)
    clock.at = EVENING.replace(hour=23)
    assert subject.on_message(warning("w1")) is True
    assert subject.on_message(warning("w1")) is True  # a repeat while held stays held once
    assert channel.delivered == []
    morning = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    assert store.held["w1"][0] == int(morning.timestamp() * 1000)

    clock.at = morning - timedelta(seconds=1)
    assert subject.release_due() == 0
    clock.at = morning
    assert subject.release_due() == 1
    assert subject.release_due() == 0
    assert [n.warning.event_id for n in channel.delivered] == ["w1"]
    assert store.held == {}
    # A repeat after release is a duplicate.
    assert subject.on_message(warning("w1")) is True
    assert len(channel.delivered) == 1


def test_a_deadline_inside_quiet_hours_goes_at_once() -> None:
    subject, channel, store, clock = handler(quiet=NIGHT)
    clock.at = EVENING.replace(hour=23)
    assert subject.on_message(warning("w1", expires_in=timedelta(hours=10))) is True
    assert len(channel.delivered) == 1
    assert store.held == {}


def test_a_failed_release_is_retried_after_its_lease() -> None:
    subject, channel, store, clock = handler(quiet=NIGHT)
    clock.at = EVENING.replace(hour=23)
    subject.on_message(warning("w1"))
    channel.failures = 1
    clock.at = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    assert subject.release_due() == 0
    assert "w1" in store.held
    clock.at += timedelta(seconds=29)
    assert subject.release_due() == 0  # still leased
    clock.at += timedelta(seconds=1)
    assert subject.release_due() == 1
    assert store.sent == {"w1"}


def test_a_held_warning_whose_deadline_passed_is_dropped() -> None:
    subject, channel, store, clock = handler(quiet=NIGHT)
    clock.at = EVENING.replace(hour=23)
    subject.on_message(warning("w1", expires_in=timedelta(hours=15)))
    clock.at = EVENING + timedelta(days=1)  # the notifier was down all night and morning
    assert subject.release_due() == 0
    assert channel.delivered == []
    assert store.held == {}


def test_a_bad_template_fails_construction() -> None:
    with pytest.raises(ValueError, match="unknown field"):
        Handler(NotifyOptions(template="{nope}"), Recorder(), MemoryStore(), FakeClock())
