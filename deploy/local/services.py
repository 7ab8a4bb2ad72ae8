"""Local Kafka and Redis for development and tests, without Docker.

    python3 deploy/local/services.py up [kafka|redis|redis-cluster]     start (or reuse), wait
    python3 deploy/local/services.py down [kafka|redis|redis-cluster]   stop what we started
    python3 deploy/local/services.py status [...]

Without names, ``up`` and ``status`` mean Kafka and Redis (``redis-cluster``, three masters on
17001-17003, only when named) and ``down`` stops all three.

Data and logs live under .local/ (ignored by git). Standard library only.
"""

from __future__ import annotations

import argparse
import fcntl
import sys

import local_kafka
import local_redis
import local_redis_cluster
from procs import STATE, ServiceError

SERVICES = {"kafka": local_kafka, "redis": local_redis, "redis-cluster": local_redis_cluster}
DEFAULTS = ["kafka", "redis"]


def main(argv: list[str] | None = None) -> int:
    """Run one command over the chosen services; exit 1 with one line per failure."""
    parser = argparse.ArgumentParser(prog="deploy/local/services.py", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("only", nargs="*", choices=[*SERVICES, []], default=[])
    args = parser.parse_args(argv)
    names = args.only or (list(SERVICES) if args.command == "down" else DEFAULTS)
    if args.command == "down":
        names = list(reversed(names))
    STATE.mkdir(parents=True, exist_ok=True)
    # Two `make test` runs at once must not both format storage or start a second broker.
    with (STATE / "services.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        failed = _run(args.command, names)
    return 1 if failed else 0


def _run(command: str, names: list[str]) -> bool:
    failed = False
    for name in names:
        module = SERVICES[name]
        try:
            line = getattr(module, command)()
        except ServiceError as error:
            failed = True
            sys.stderr.write(f"{name}: {error}\n")
            sys.stderr.flush()
        else:
            sys.stdout.write(f"{line}\n")
            sys.stdout.flush()
    return failed


if __name__ == "__main__":
    sys.exit(main())
