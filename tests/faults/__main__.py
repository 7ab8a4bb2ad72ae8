"""``python -m tests.faults [--short] [--seed N] [--only NAME]``: the fault suite of issue 6.

Starts the suite's own broker and redis-servers (deploy/local, ports 19092/19093, 16379 and
16380), runs the scenarios, prints a table and writes ``faults-report.json``. Exits 1 when a
scenario that must lose and double nothing did (or any bad input missed the dead-letter topic).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests.faults.suite import run_suite


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run, report; the exit status."""
    parser = argparse.ArgumentParser(prog="python -m tests.faults", description=__doc__)
    parser.add_argument("--short", action="store_true", help="the short form (make test)")
    parser.add_argument("--seed", type=int, default=6, help="seed of the event streams")
    parser.add_argument("--only", action="append", help="run only this scenario (repeatable)")
    parser.add_argument(
        "--report", type=Path, default=Path("faults-report.json"), help="where to write the JSON"
    )
    parser.add_argument(
        "--keep-services", action="store_true", help="leave the broker and redis-servers running"
    )
    args = parser.parse_args(argv)
    report = run_suite(
        short=args.short,
        seed_value=args.seed,
        only=args.only,
        report_path=args.report,
        keep_services=args.keep_services,
        echo=print,
    )
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
