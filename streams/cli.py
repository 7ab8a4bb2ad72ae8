"""The ``bonus`` command: operators' entry points.

bonus rules check FILE        validate a rules file; list every problem
bonus topics create           create every topic of the catalog (safe to repeat)
bonus settings                show the effective settings, or every problem with them
bonus worker                  run one worker of the consumer group (checks everything first)
bonus demo [options]          publish demo traffic and show the pipeline live (`bonus demo -h`)
bonus notify [options]        turn expiry warnings into messages (`bonus notify -h`)
bonus campaign launch ...     publish a campaign to a segment and report its reach
bonus segment count S         how many customers a segment has now
bonus report --from --to      accrued, redeemed, burned, breakage and reminder conversion
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from schemas.errors import BonusError
from streams.kafka.admin import create_topics
from streams.masking import shown
from streams.rules.check import check_command
from streams.settings import Settings, SettingsError, load_settings


def _rules_check(args: argparse.Namespace) -> int:
    return check_command(args.file, sys.stdout, sys.stderr)


def _topics_create(args: argparse.Namespace) -> int:
    settings = load_settings()
    results = create_topics(settings, args.partitions, args.replication_factor)
    for result in results:
        state = "created" if result.created else "exists"
        sys.stdout.write(f"{state:8} {result.name} ({result.partitions} partitions)\n")
    return 0


def _settings(_: argparse.Namespace) -> int:
    settings = load_settings()
    for name in Settings.model_fields:
        sys.stdout.write(f"BONUS_{name.upper()}={shown(getattr(settings, name))}\n")
    return 0


def _worker(_: argparse.Namespace) -> int:
    from streams.worker.main import run_worker  # noqa: PLC0415 - keeps faust out of other commands

    return run_worker()


def _demo(argv: list[str]) -> int:
    from streams.demo.cli import demo_main  # noqa: PLC0415 - loaded only when asked for

    return demo_main(argv)


def _notify(argv: list[str]) -> int:
    from streams.notify.cli import notify_main  # noqa: PLC0415 - loaded only when asked for

    return notify_main(argv)


def _campaign(argv: list[str]) -> int:
    from streams.campaigns.cli import campaign_main  # noqa: PLC0415 - loaded only when asked for

    return campaign_main(argv)


def _segment(argv: list[str]) -> int:
    from streams.campaigns.cli import segment_main  # noqa: PLC0415 - loaded only when asked for

    return segment_main(argv)


def _report(argv: list[str]) -> int:
    from streams.analytics.report import report_main  # noqa: PLC0415 - loaded only when asked for

    return report_main(argv)


# Commands with options of their own: everything after the command name is theirs.
PASSTHROUGH: dict[str, tuple[str, Callable[[list[str]], int]]] = {
    "demo": ("publish demo traffic and show the pipeline live", _demo),
    "notify": ("send expiry warnings to customers (log|webhook)", _notify),
    "campaign": ("launch a campaign to a segment", _campaign),
    "segment": ("count a segment's customers", _segment),
    "report": ("the analytics report of a time range", _report),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``bonus`` and its subcommands."""
    parser = argparse.ArgumentParser(prog="bonus", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    rules = commands.add_parser("rules", help="work with rules files")
    rules_commands = rules.add_subparsers(dest="rules_command", required=True)
    check = rules_commands.add_parser("check", help="validate a rules file")
    check.add_argument("file")
    check.set_defaults(run=_rules_check)

    topics = commands.add_parser("topics", help="manage the Kafka topics")
    topics_commands = topics.add_subparsers(dest="topics_command", required=True)
    create = topics_commands.add_parser("create", help="create every topic of the catalog")
    create.add_argument("--partitions", type=int, help="customer topics' partition count")
    create.add_argument("--replication-factor", type=int, help="replicas per partition")
    create.set_defaults(run=_topics_create)

    show = commands.add_parser("settings", help="show the effective BONUS_* settings")
    show.set_defaults(run=_settings)

    worker = commands.add_parser("worker", help="run one worker (BONUS_* settings)")
    worker.set_defaults(run=_worker)
    for name, (summary, _) in PASSTHROUGH.items():
        commands.add_parser(name, help=f"{summary} (see bonus {name} -h)", add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``bonus``; errors of ours are one clear message and exit status 1 (2 for usage)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    words = list(sys.argv[1:] if argv is None else argv)
    if words and words[0] in PASSTHROUGH:
        return PASSTHROUGH[words[0]][1](words[1:])
    args = build_parser().parse_args(words)
    try:
        code: int = args.run(args)
    except SettingsError as error:
        sys.stderr.write(f"{error}\n")
        return 1
    except BonusError as error:
        sys.stderr.write(f"bonus: {error}\n")
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
