"""The benchmark's pure parts: percentiles, latency summaries, rates, targets, the JSON shape."""

from __future__ import annotations

import json
import math

import pytest

from bench.report import SECTIONS, Figures, Target, document, table, targets
from bench.stats import latency, percentile, rate, window_rate


def _figures(**changes: object) -> Figures:
    values: dict[str, object] = {
        "accrual_rate": 60_000.0,
        "baseline_rate": 100_000.0,
        "p99_ms": 20.0,
        "latency_complete": True,
        "burst_lots": 1_000_000,
        "burst_all_burned": True,
        "burst_max_lag_s": 12.0,
        "bytes_per_lot": 120.0,
        "memory_lots": 1_000_000,
    }
    values.update(changes)
    return Figures(**values)  # type: ignore[arg-type]


def _by_name(judged: list[Target]) -> dict[str, Target]:
    return {t.name: t for t in judged}


@pytest.mark.parametrize(
    ("q", "expected"),
    [(0.5, 50.0), (0.99, 99.0), (0.999, 100.0), (1.0, 100.0), (0.01, 1.0)],
)
def test_percentile_is_nearest_rank(q: float, expected: float) -> None:
    values = [float(v) for v in range(100, 0, -1)]
    assert percentile(values, q) == expected


def test_percentile_of_nothing_is_nan_and_q_is_checked() -> None:
    assert math.isnan(percentile([], 0.5))
    with pytest.raises(ValueError, match="q must be"):
        percentile([1.0], 0)


def test_rate_is_zero_without_time_or_events() -> None:
    assert rate(100, 2.0) == 50.0
    assert rate(100, 0.0) == 0.0
    assert rate(0, 3.0) == 0.0


def test_window_rate_counts_intervals_from_the_first_output() -> None:
    assert window_rate([1000, 2000, 3000]) == (1.0, 3)
    # With a start, every output after it counts.
    assert window_rate([500, 1000, 2000, 3000], start_ms=1000) == (1.5, 3)
    assert window_rate([1000]) == (0.0, 1)


def test_latency_counts_missing_outputs_as_lower_bounds() -> None:
    produced = {i: 1000 + i for i in range(100)}
    received = {i: 1000 + i + 10 for i in range(98)}
    summary = latency(produced, received, stopped_ms=6000)
    assert summary.inputs == 100
    assert summary.outputs == 98
    assert not summary.complete
    assert summary.p50_ms == 10.0
    # The two missing ones had waited about 4.9 s when the measurement stopped.
    assert summary.p99_ms == 6000 - 1099
    assert summary.max_ms == 6000 - 1098


def test_complete_latency() -> None:
    summary = latency({0: 0, 1: 0}, {0: 5, 1: 7}, stopped_ms=100)
    assert summary.complete
    assert summary.p50_ms == 5.0
    assert summary.p999_ms == 7.0


def test_every_target_passes_on_good_figures() -> None:
    judged = targets(_figures())
    assert [t.passed for t in judged] == [True] * len(judged)
    assert _by_name(judged)["accrual throughput / passthrough baseline"].value == 0.6


def test_accrual_needs_half_the_baseline_and_20000_per_second() -> None:
    by = _by_name(targets(_figures(accrual_rate=40_000.0)))
    assert not by["accrual throughput / passthrough baseline"].passed
    assert by["accrual throughput"].passed
    by = _by_name(targets(_figures(accrual_rate=15_000.0, baseline_rate=20_000.0)))
    assert by["accrual throughput / passthrough baseline"].passed
    assert not by["accrual throughput"].passed


def test_fewer_burst_lots_never_pass_and_say_so() -> None:
    burst = _by_name(targets(_figures(burst_lots=8_495)))[
        "max burn lag, 1,000,000 lots expiring in one minute"
    ]
    assert not burst.passed
    assert "8,495" in burst.note


def test_unburned_lots_or_a_late_burn_fail() -> None:
    name = "max burn lag, 1,000,000 lots expiring in one minute"
    assert not _by_name(targets(_figures(burst_all_burned=False)))[name].passed
    assert not _by_name(targets(_figures(burst_max_lag_s=61.0)))[name].passed


def test_latency_that_could_not_keep_up_is_marked_a_lower_bound() -> None:
    p99 = _by_name(targets(_figures(p99_ms=15_000.0, latency_complete=False)))[
        "p99 latency at 5,000 events/s"
    ]
    assert not p99.passed
    assert "lower bound" in p99.note


def test_missing_figures_fail() -> None:
    judged = targets(
        _figures(
            accrual_rate=None,
            baseline_rate=None,
            p99_ms=None,
            burst_max_lag_s=None,
            bytes_per_lot=math.nan,
        )
    )
    assert not any(t.passed for t in judged)


def test_document_shape_is_json_with_every_section_and_target_keys() -> None:
    doc = document(
        mode="quick",
        machine={"cores": 2, "memory_gib": 23.5, "python": "3.11", "kafka": "4.1.1"},
        sections={"baseline": {"events_per_s": 1.5}},
        judged=targets(_figures(memory_lots=8_495)),
        notes=["noisy"],
    )
    parsed = json.loads(json.dumps(doc))
    assert set(SECTIONS) <= set(parsed)
    assert parsed["memory"] == {}
    assert parsed["machine"]["cores"] == 2
    for target in parsed["targets"]:
        assert {"name", "value", "unit", "target", "pass"} <= set(target)
        assert isinstance(target["pass"], bool)


def test_table_prints_each_target_with_pass_or_fail() -> None:
    doc = document(
        mode="full",
        machine={"cores": 2},
        sections={"accrual": {"events_per_s": 330.5, "note": "stopped after 300 s"}},
        judged=targets(_figures(accrual_rate=330.5)),
        notes=["accrual: stopped after 300 s"],
    )
    printed = table(doc)
    assert "FAIL  accrual throughput: 330.5 events/s" in printed
    assert "PASS  Redis memory per outstanding lot" in printed
    assert "[latency] (no figures: the phase failed)" in printed
    assert "stopped after 300 s" in printed
