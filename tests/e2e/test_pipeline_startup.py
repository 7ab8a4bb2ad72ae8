"""``bonus worker`` refuses to start, listing every problem, before it consumes anything."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from confluent_kafka.admin import AdminClient

from tests.e2e.harness import BONUS

BAD_RULES = """
rules:
  - id: cashback
    event: purchase
    points: {percent: 5}
    valid_for: P1D
    warn_before: [P2D]
    colour: blue
  - id: second
    event: purchase
    points: {fixed: 1}
    valid_for: P1X
"""


def run_worker(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``bonus worker`` with ``env`` on top of the environment, expected to exit quickly."""
    return subprocess.run(
        [BONUS, "worker"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
    )


def test_bad_settings_are_all_listed(tmp_path: Path) -> None:
    result = run_worker({"BONUS_WEB_PORT": "http", "BONUS_CLOCK_SPEED": "-2"}, tmp_path)
    assert result.returncode == 1
    assert "BONUS_WEB_PORT" in result.stderr
    assert "BONUS_CLOCK_SPEED" in result.stderr


def test_a_bad_rules_file_is_refused_with_every_problem_before_consuming(
    kafka_bootstrap: str, tmp_path: Path, topic_prefix: str, consumer_group: str
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(BAD_RULES)
    result = run_worker(
        {
            "BONUS_KAFKA_BOOTSTRAP": kafka_bootstrap,
            "BONUS_RULES_FILE": str(rules),
            "BONUS_TOPIC_PREFIX": topic_prefix,
            "BONUS_CONSUMER_GROUP": consumer_group,
        },
        tmp_path,
    )
    assert result.returncode == 1
    assert "colour" in result.stderr
    assert "P1X" in result.stderr
    assert "warn_before" in result.stderr
    groups = AdminClient({"bootstrap.servers": kafka_bootstrap}).list_consumer_groups()
    assert consumer_group not in {g.group_id for g in groups.result().valid}


def test_a_missing_rules_file_topics_and_redis_are_refused_together(
    kafka_bootstrap: str, tmp_path: Path, topic_prefix: str
) -> None:
    result = run_worker(
        {
            "BONUS_KAFKA_BOOTSTRAP": kafka_bootstrap,
            "BONUS_TOPIC_PREFIX": topic_prefix,
            "BONUS_REDIS_URL": "redis://127.0.0.1:1/0",
        },
        tmp_path,
    )
    assert result.returncode == 1
    assert "BONUS_RULES_FILE" in result.stderr
    assert f"topic {topic_prefix}purchases is missing" in result.stderr
    assert "Redis at redis://127.0.0.1:1/0" in result.stderr
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules: []\n")
    result = run_worker(
        {
            "BONUS_KAFKA_BOOTSTRAP": kafka_bootstrap,
            "BONUS_TOPIC_PREFIX": topic_prefix,
            "BONUS_RULES_FILE": str(rules),
        },
        tmp_path,
    )
    assert result.returncode == 1
    assert f"topic {topic_prefix}purchases is missing" in result.stderr
    assert f"topic {topic_prefix}dlq is missing" in result.stderr
