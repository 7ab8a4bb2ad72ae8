"""``bonus demo`` arguments and refusals (nothing here connects to Kafka)."""

from __future__ import annotations

import pytest

from schemas import Duration
from streams.demo.cli import build_parser, demo_main
from streams.demo.run import DemoResult


def test_defaults_are_a_month_with_two_hundred_guests() -> None:
    args = build_parser().parse_args([])
    assert args.duration == Duration(days=30)
    assert (args.customers, args.seed, args.rate, args.drain_timeout) == (200, None, 500.0, 120.0)


def test_options_are_parsed() -> None:
    args = build_parser().parse_args(
        ["--duration", "P2W", "--customers", "40", "--seed", "9", "--rate", "50"]
    )
    assert (args.duration, args.customers, args.seed, args.rate) == (Duration(days=14), 40, 9, 50)


@pytest.mark.parametrize(
    "argv", [["--duration", "14 days"], ["--customers", "0"], ["--rate", "-1"]]
)
def test_bad_options_are_a_usage_error(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        demo_main(argv)
    assert exit_.value.code == 2


def test_bad_settings_refuse_to_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BONUS_CLOCK_SPEED", "-3")
    assert demo_main([]) == 1
    assert "BONUS_CLOCK_SPEED" in capsys.readouterr().err


def test_a_missing_rules_file_refuses_to_start(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo_main(["--rules", "/nonexistent/rules.yaml"]) == 1
    assert "bonus demo:" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("result", "code"),
    [
        (DemoResult(10, 0, drained=True, interrupted=False), 0),
        (DemoResult(10, 1, drained=True, interrupted=False), 1),
        (DemoResult(10, 0, drained=False, interrupted=False), 1),
        (DemoResult(10, 0, drained=False, interrupted=True), 130),
    ],
)
def test_exit_codes(result: DemoResult, code: int) -> None:
    assert result.exit_code == code
