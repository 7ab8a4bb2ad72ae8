"""Prometheus metrics of a worker, built by a factory that takes the registry.

A fresh registry per test (or per worker) keeps counts apart. Labels never carry a customer id
(cardinality): only topics, outcomes, shards, rules and campaigns, which are few.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Seconds: a ledger script takes about a millisecond; a slow Redis or a retry takes longer.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


@dataclass(frozen=True)
class Metrics:
    """Every metric of a worker."""

    registry: CollectorRegistry
    events_consumed: Counter
    processing_seconds: Histogram
    batch_size: Histogram
    dead_letters: Counter
    outbox_backlog: Gauge
    relay_lag_seconds: Gauge
    relayed: Counter
    timer_lag_seconds: Gauge
    timers_fired: Counter
    timer_failures: Counter
    points: Counter
    warnings_sent: Counter
    owned_partitions: Gauge
    input_paused: Gauge
    input_pauses: Counter


def create_metrics(registry: CollectorRegistry) -> Metrics:
    """Register the worker's metrics in ``registry``."""
    return Metrics(
        registry=registry,
        events_consumed=Counter(
            "bonus_events_consumed_total",
            "Input events consumed, by topic and outcome.",
            ["topic", "outcome"],
            registry=registry,
        ),
        processing_seconds=Histogram(
            "bonus_processing_seconds",
            "Time to decode and apply one input event.",
            ["topic"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        ),
        batch_size=Histogram(
            "bonus_batch_size_events",
            "Entries handled per batch, by stage (relay, timers).",
            ["stage"],
            buckets=BATCH_BUCKETS,
            registry=registry,
        ),
        dead_letters=Counter(
            "bonus_dead_letters_total",
            "Inputs sent to the dead-letter topic, by error code.",
            ["code"],
            registry=registry,
        ),
        outbox_backlog=Gauge(
            "bonus_outbox_backlog_entries",
            "Outbox entries not yet relayed, per owned shard.",
            ["shard"],
            registry=registry,
        ),
        relay_lag_seconds=Gauge(
            "bonus_relay_lag_seconds",
            "Real seconds the last relayed batch of a shard waited in its outbox.",
            ["shard"],
            registry=registry,
        ),
        relayed=Counter(
            "bonus_relayed_events_total",
            "Output events published by the relay, by outbox entry type.",
            ["type"],
            registry=registry,
        ),
        timer_lag_seconds=Gauge(
            "bonus_timer_lag_seconds",
            "Service seconds between now and the oldest due timer, per owned shard.",
            ["shard"],
            registry=registry,
        ),
        timers_fired=Counter(
            "bonus_timers_fired_total",
            "Customers whose due timers were handled.",
            registry=registry,
        ),
        timer_failures=Counter(
            "bonus_timer_failures_total",
            "Customers whose timers failed the same way every time and were deferred.",
            ["shard"],
            registry=registry,
        ),
        points=Counter(
            "bonus_points_total",
            "Points accrued, redeemed, burned and clawed back, by rule (or campaign:<id>).",
            ["kind", "rule"],
            registry=registry,
        ),
        warnings_sent=Counter(
            "bonus_expiry_warnings_total",
            "Expiry warnings published, by lead.",
            ["lead"],
            registry=registry,
        ),
        owned_partitions=Gauge(
            "bonus_owned_partitions",
            "Partitions (shards) this worker owns.",
            registry=registry,
        ),
        input_paused=Gauge(
            "bonus_input_paused",
            "1 while a shard takes no input because its outbox backlog is over the limit.",
            ["shard"],
            registry=registry,
        ),
        input_pauses=Counter(
            "bonus_input_pauses_total",
            "Times a shard's input was paused for its outbox backlog.",
            ["shard"],
            registry=registry,
        ),
    )


def forget_shard(metrics: Metrics, shard: int) -> None:
    """Drop the per-shard series of a shard this worker no longer owns."""
    gauges = (
        metrics.outbox_backlog,
        metrics.relay_lag_seconds,
        metrics.timer_lag_seconds,
        metrics.input_paused,
    )
    for gauge in gauges:
        try:
            gauge.remove(str(shard))
        except KeyError:
            continue
