"""A description of the machine and services the figures were measured on."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

from streams.redis_clients import sync_redis
from streams.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def _meminfo_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        return None
    return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def kafka_version() -> str:
    """The broker version of the local install (its jar name), or ``unknown``."""
    jars = sorted(ROOT.glob(".local/kafka/libs-*/kafka_2.13-*.jar"))
    return jars[-1].stem.removeprefix("kafka_2.13-") if jars else "unknown (not the local install)"


def redis_version(settings: Settings) -> str:
    """``redis_version`` of the server (TLS, CA file and cluster as the workers connect)."""
    client = sync_redis(settings)
    try:
        return str(client.info("server")["redis_version"])
    finally:
        client.close()


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


def describe(settings: Settings) -> dict[str, Any]:
    """Cores, memory, CPU, OS, Python, Kafka and Redis versions, load average now."""
    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_gib": _meminfo_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "kafka": kafka_version(),
        "redis": redis_version(settings),
        "load_average_start": load_average(),
    }
