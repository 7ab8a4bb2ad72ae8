"""Campaign fan-out through TWO real workers on a 4-partition topic set: customers on every
partition, ``bonus segment count`` before the launch, ``bonus campaign launch`` publishing and
waiting, then exactly one BonusAccrued of the campaign per customer of the segment and none
outside it, each worker granting the shards it owns."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest

from schemas import Topic
from streams.campaigns.cli import campaign_main, segment_main
from streams.partitioning import partition_for
from tests.e2e.harness import Output, Pipeline, iso, purchase, started

SPEED = 60.0
RULES = """
timezone: UTC
segments:
  regular: {min_purchases: 2}
rules:
  - id: visit
    event: purchase
    points: {fixed: 1}
    valid_for: P30D
"""
CUSTOMERS = [f"fan-{n}" for n in range(24)]
REGULARS = CUSTOMERS[::2]


@pytest.fixture(scope="module")
def pipeline(
    kafka_bootstrap: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    """Two running workers sharing the 4 partitions."""
    workdir = tmp_path_factory.mktemp("campaigns")
    yield from started(Pipeline(kafka_bootstrap, redis_url, RULES, workdir, SPEED), count=2)


def campaign_lots(found: list[Output], campaign_id: str) -> dict[str, int]:
    """BonusAccrued of one campaign per customer: how many each got."""
    counts: dict[str, int] = {}
    for m in found:
        if m.value["type"] == "bonus.accrued" and m.value.get("campaign_id") == campaign_id:
            counts[m.value["customer_id"]] = counts.get(m.value["customer_id"], 0) + 1
    return counts


def shards_done(pipeline: Pipeline, campaign_id: str) -> list[float]:
    """Per worker: the shards whose fan-out of the campaign it finished (its /metrics)."""
    pattern = re.compile(
        rf'^bonus_campaign_shards_done_total\{{campaign="{campaign_id}"\}} (\S+)$', re.M
    )
    done = []
    for worker in pipeline.workers:
        _, body = worker.get("/metrics")
        match = pattern.search(body.decode())
        done.append(float(match.group(1)) if match else 0.0)
    return done


def test_a_launch_reaches_every_customer_of_the_segment_once(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert {partition_for(c, 4) for c in CUSTOMERS} == {0, 1, 2, 3}
    for key, value in pipeline.env(0).items():
        if key.startswith("BONUS_") and key != "BONUS_WEB_PORT":
            monkeypatch.setenv(key, value)
    at = pipeline.now()
    for customer in CUSTOMERS:
        visits = 2 if customer in REGULARS else 1
        for n in range(visits):
            pipeline.send(Topic.PURCHASES, customer, purchase(f"{customer}-{n}", customer, "9", at))
    pipeline.watcher.count(Topic.ACCRUALS, len(CUSTOMERS) + len(REGULARS), 60)

    out, err = io.StringIO(), io.StringIO()
    assert segment_main(["count", "regular"], out, err) == 0, err.getvalue()
    assert out.getvalue().startswith(f"{len(REGULARS)} customers in segment regular")

    out, err = io.StringIO(), io.StringIO()
    argv = ["launch", "--segment", "regular", "--points", "25", "--valid-for", "P7D"]
    argv += ["--warn-before", "P2D", "--campaign-id", "spring", "--timeout", "60"]
    assert campaign_main(argv, out, err) == 0, err.getvalue()
    assert f"campaign spring reached {len(REGULARS)} customers" in out.getvalue()

    found = pipeline.watcher.wait(
        Topic.ACCRUALS, lambda m: len(campaign_lots(m, "spring")) >= len(REGULARS), 30
    )
    lots = campaign_lots(found, "spring")
    assert lots == dict.fromkeys(REGULARS, 1)
    accrued = [m.value for m in found if m.value.get("campaign_id") == "spring"]
    assert all(a["points"] == 25 and a.get("rule_id") is None for a in accrued)
    # Both workers took part: each finished the shards it owns, 4 in all.
    done = shards_done(pipeline, "spring")
    assert sum(done) == 4
    assert all(n > 0 for n in done), done
    logs = "".join(worker.log_path.read_text(errors="replace") for worker in pipeline.workers)
    assert logs.count("campaign spring complete: granted 12 lots") == 1

    # Launching it again (a new event, the same terms) reaches nobody new.
    out, err = io.StringIO(), io.StringIO()
    assert campaign_main(argv, out, err) == 0, err.getvalue()
    assert f"campaign spring reached {len(REGULARS)} customers" in out.getvalue()
    assert campaign_lots(pipeline.watcher.of(Topic.ACCRUALS), "spring") == dict.fromkeys(
        REGULARS, 1
    )


def test_bad_launches_are_refused(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in pipeline.env(0).items():
        if key.startswith("BONUS_") and key != "BONUS_WEB_PORT":
            monkeypatch.setenv(key, value)
    out, err = io.StringIO(), io.StringIO()
    argv = ["launch", "--segment", "nobody", "--points", "5", "--valid-for", "P7D"]
    assert campaign_main(argv, out, err) == 2
    assert "segment 'nobody' is not in the rules file" in err.getvalue()
    assert segment_main(["count", "nobody"], out, err) == 2
    # Sent by someone else: the worker dead-letters it with a clear code.
    launch = {
        "event_id": "bad-segment",
        "occurred_at": iso(pipeline.now()),
        "campaign_id": "ghost",
        "segment": "nobody",
        "points": 5,
        "valid_for": "P7D",
    }
    pipeline.send(Topic.CAMPAIGNS, "ghost", launch)
    found = pipeline.watcher.wait(
        Topic.DLQ, lambda m: any(x.value["source_topic"].endswith("campaigns") for x in m), 30
    )
    (letter,) = [m.value for m in found if m.value["source_topic"].endswith("campaigns")]
    assert letter["error"]["code"] == "unknown_segment"
    assert campaign_main(["status", "ghost"], out, err) == 1
