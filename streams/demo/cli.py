"""``bonus demo``: drive a simulated month of café traffic through running workers.

    bonus demo [--duration P30D] [--customers 200] [--seed N] [--rate 500]
               [--drain-timeout 120] [--rules FILE]

It starts no worker: run ``bonus worker`` processes beside it with the same ``BONUS_*``
settings, in particular the same ``BONUS_CLOCK_START``, ``BONUS_CLOCK_SPEED`` and
``BONUS_CLOCK_ANCHOR``, so that everyone agrees on the simulated date.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from confluent_kafka import KafkaException

from schemas.durations import Duration, DurationError
from schemas.errors import BonusError
from streams.clock import ScaledClock, clock_from_settings
from streams.demo.run import Demo, DemoOptions, simulated_span
from streams.rules.loader import load_rules
from streams.settings import SettingsError, load_settings

EXAMPLE_RULES = Path("deploy/rules.example.yaml")


def _duration(text: str) -> Duration:
    try:
        return Duration.parse(text)
    except DurationError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The arguments of ``bonus demo``."""
    parser = argparse.ArgumentParser(
        prog="bonus demo", description="Drive simulated café traffic through the workers."
    )
    parser.add_argument(
        "--duration",
        type=_duration,
        default=Duration(days=30),
        help="simulated period, ISO 8601 (default P30D)",
    )
    parser.add_argument(
        "--customers", type=_positive_int, default=200, help="number of guests (default 200)"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="random seed: the same seed replays the same guests and events "
        "(default: the clock anchor, so that each run has new guests)",
    )
    parser.add_argument(
        "--rate",
        type=_positive_float,
        default=500.0,
        help="at most this many messages per real second (default 500)",
    )
    parser.add_argument(
        "--drain-timeout",
        type=_positive_float,
        default=120.0,
        help="real seconds to wait for the workers to catch up after the last event (default 120)",
    )
    parser.add_argument(
        "--rules",
        type=Path,
        default=None,
        help="the rules file the guests are simulated against "
        "(default BONUS_RULES_FILE, else deploy/rules.example.yaml)",
    )
    return parser


def demo_main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run ``bonus demo``; return the exit status (0 done, 1 failed, 2 usage, 130 Ctrl-C)."""
    stream = out if out is not None else sys.stdout
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        clock = clock_from_settings(settings)
        rules = load_rules(args.rules or settings.rules_file or EXAMPLE_RULES)
    except SettingsError as error:
        sys.stderr.write(f"{error}\n")
        return 1
    except BonusError as error:
        sys.stderr.write(f"bonus demo: {error}\n")
        return 1
    seed = args.seed if args.seed is not None else _default_seed(clock)
    options = DemoOptions(
        args.duration, args.customers, seed, args.rate, drain_timeout=args.drain_timeout
    )
    span = simulated_span(options, clock)
    if not isinstance(clock, ScaledClock):
        stream.write(
            "Note: BONUS_CLOCK_START is not set, so the service clock is real time and "
            f"{args.duration} takes {span} to simulate. Set BONUS_CLOCK_START and "
            "BONUS_CLOCK_SPEED (as the workers do) to run days in seconds.\n"
        )
    stream.write(
        f"Demo: {args.customers} guests over {args.duration} of simulated time "
        f"(about {int(span.total_seconds())} s real), seed {seed}; Ctrl-C stops.\n"
    )
    try:
        result = Demo(settings, clock, rules, options, stream).run()
    except KeyboardInterrupt:
        # Before anything was connected (while the month was being planned): nothing to flush.
        return 130
    except BonusError as error:
        sys.stderr.write(f"bonus demo: {error}\n")
        return 1
    except KafkaException as error:
        sys.stderr.write(f"bonus demo: Kafka at {settings.kafka_bootstrap}: {error}\n")
        return 1
    return result.exit_code


def _default_seed(clock: object) -> int:
    # The anchor is shared by the workers of one `make run` and new on the next one: the same
    # run replays, another run gets new guests (ids carry the seed) with no state left over.
    if isinstance(clock, ScaledClock):
        return int(clock.anchor)
    return 1


if __name__ == "__main__":
    sys.exit(demo_main())
