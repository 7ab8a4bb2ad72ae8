"""The demo's guests: deterministic for a seed, every habit present, ids tied to the seed."""

from __future__ import annotations

import pytest

from streams.demo.population import SHARES, Habit, build_population, habit_counts


def test_the_same_seed_gives_the_same_guests() -> None:
    assert build_population(11, 120) == build_population(11, 120)


def test_another_seed_gives_other_ids_and_other_habits() -> None:
    first, second = build_population(11, 120), build_population(12, 120)
    assert not {c.customer_id for c in first} & {c.customer_id for c in second}
    assert [c.visits_per_week for c in first] != [c.visits_per_week for c in second]


@pytest.mark.parametrize("size", [5, 7, 50, 200, 999])
def test_every_habit_is_there_and_the_size_is_exact(size: int) -> None:
    customers = build_population(3, size)
    assert len(customers) == size
    assert len({c.customer_id for c in customers}) == size
    assert {c.habit for c in customers} == set(Habit)


def test_shares_follow_the_mix() -> None:
    counts = habit_counts(1000)
    for habit, share in SHARES.items():
        assert counts[habit] == pytest.approx(share * 1000, abs=1)


def test_small_populations_are_possible() -> None:
    assert build_population(1, 0) == []
    assert len(build_population(1, 2)) == 2


def test_ids_name_the_habit_and_the_seed() -> None:
    for customer in build_population(5, 40):
        habit, tag, number = customer.customer_id.rsplit("-", 2)
        assert habit == customer.habit.value
        assert len(tag) == 6
        assert number.isdigit()
