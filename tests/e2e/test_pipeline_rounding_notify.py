"""Two lines of the contract end to end through a real worker, and what a customer then hears:

* ``round_up_to: day`` moves a lot's deadline to the end of the local day of the rules' time
  zone, and the burn fires at that instant;
* the reference notification consumer (``bonus notify``, a real process) turns the warning the
  pipeline published into exactly one message, with the deadline in the customer's time.

A clock at 3600x: one real second is one service hour, so a local day passes in 24 seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from schemas import Topic, parse_time
from tests.e2e.harness import Pipeline, purchase, started
from tests.integration.notify_process import NotifierProcess

SPEED = 3600.0
MOSCOW = ZoneInfo("Europe/Moscow")
RULES = """
timezone: Europe/Moscow
warning_coalesce: PT1H
max_warnings_per_day: 5
rules:
  - id: till-midnight
    event: purchase
    points: {fixed: 70}
    valid_for: PT2H
    round_up_to: day
    warn_before: [PT1H]
"""


@pytest.fixture(scope="module")
def pipeline(
    kafka_bootstrap: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    """A running worker."""
    workdir = tmp_path_factory.mktemp("rounding")
    yield from started(Pipeline(kafka_bootstrap, redis_url, RULES, workdir, SPEED))


def end_of_local_day(moment: datetime) -> datetime:
    """The first instant of the next Moscow day after ``moment`` (itself if it is one)."""
    local = moment.astimezone(MOSCOW)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if midnight == local:
        return moment
    return (midnight + timedelta(days=1)).astimezone(moment.tzinfo)


def test_a_lot_rounded_to_the_day_burns_at_local_midnight_after_one_message(
    pipeline: Pipeline,
) -> None:
    notifier = NotifierProcess(
        ["--channel", "log", "--group", "e2e-notify-rounding"], pipeline.env(0)
    )
    try:
        at = pipeline.now()
        customer = "round-1"
        pipeline.send(Topic.PURCHASES, customer, purchase("round-p1", customer, "300", at))

        accrued = pipeline.watcher.count(Topic.ACCRUALS, 1, 20, customer)[0].value
        deadline = end_of_local_day(at + timedelta(hours=2))
        assert parse_time(accrued["expires_at"]) == deadline
        assert accrued["points"] == 70

        # The burn comes at the deadline (at most a day of service time = 24 s from now).
        burned = pipeline.watcher.count(Topic.BURNS, 1, 40, customer)[0]
        assert parse_time(burned.value["expired_at"]) == deadline
        assert burned.value["points"] == 70
        warning = pipeline.watcher.count(Topic.EXPIRY_WARNINGS, 1, 5, customer)[0].value
        assert parse_time(warning["expires_at"]) == deadline

        notifier.wait_for(1, 30)
    finally:
        code = notifier.stop()
    said = notifier.said
    assert code == 0, notifier.log()
    assert [message["event_id"] for message in said] == [warning["event_id"]], notifier.log()
    local_deadline = deadline.astimezone(MOSCOW)
    assert said[0]["message"] == (
        f"Use your 70 bonus points before {local_deadline:%H:%M on %A %d %B} — they expire then."
    )
