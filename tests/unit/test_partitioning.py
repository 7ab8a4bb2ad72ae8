"""murmur2 agrees with Kafka's Java client (vectors from its Utils tests)."""

from __future__ import annotations

import pytest

from streams.partitioning import murmur2, partition_for


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"21", -973932308),
        (b"foobar", -790332482),
        (b"a-little-bit-long-string", -985981536),
        (b"a-little-bit-longer-string", -1486304829),
        (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
        (b"abc", 479470107),
        (b"", 275646681),
    ],
)
def test_murmur2_matches_java(data: bytes, expected: int) -> None:
    assert murmur2(data) == expected


def test_partition_is_positive_modulo() -> None:
    assert all(0 <= partition_for(f"c{n}", 7) < 7 for n in range(1000))
    assert partition_for("21", 12) == (-973932308 & 0x7FFFFFFF) % 12


def test_partitions_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least one"):
        partition_for("x", 0)
