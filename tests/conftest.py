"""Shared fixtures: real Kafka and Redis for every test that needs them (see README, Tests)."""

from __future__ import annotations

import os
import uuid

import pytest


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The URL of a real redis-server (provisional: BONUS_REDIS_URL or the local default)."""
    return os.environ.get("BONUS_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def key_prefix() -> str:
    """A Redis key prefix of this test alone, so tests never see each other's keys."""
    return f"t{uuid.uuid4().hex[:10]}:"
