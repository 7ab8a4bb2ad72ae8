"""``bonus worker`` subprocesses of a phase: start, wait until consuming, peak RSS, stop.

Every worker started is registered, so that :func:`stop_all` (called from the runner's
``finally`` and at exit) kills them even when the benchmark is interrupted.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench.namespace import Namespace

BONUS = str(Path(sys.executable).with_name("bonus"))
_RUNNING: list[subprocess.Popen[bytes]] = []


class WorkerError(RuntimeError):
    """A worker exited or did not become healthy."""


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Worker:
    """One ``bonus worker`` subprocess."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @classmethod
    def start(
        cls, ns: Namespace, rules_file: Path, workdir: Path, clock: dict[str, str] | None = None
    ) -> Worker:
        """Start a worker of ``ns`` (not waiting for it); ``clock`` adds BONUS_CLOCK_* vars."""
        s = ns.settings
        port = free_port()
        env = {
            **os.environ,
            "BONUS_KAFKA_BOOTSTRAP": s.kafka_bootstrap,
            "BONUS_REDIS_URL": s.redis_url,
            "BONUS_TOPIC_PREFIX": s.topic_prefix,
            "BONUS_REDIS_KEY_PREFIX": s.redis_key_prefix,
            "BONUS_CONSUMER_GROUP": s.consumer_group,
            "BONUS_RULES_FILE": str(rules_file),
            "BONUS_WEB_PORT": str(port),
            "BONUS_LOG_LEVEL": "INFO",
            **(clock or {}),
        }
        for name in ("BONUS_CLOCK_START", "BONUS_CLOCK_SPEED", "BONUS_CLOCK_ANCHOR"):
            if not clock or name not in clock:
                env.pop(name, None)
        log_path = workdir / f"worker-{port}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(  # noqa: S603 - our own console script, fixed arguments
                [BONUS, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=workdir
            )
        _RUNNING.append(process)
        return cls(process, port, log_path)

    def log_tail(self) -> str:
        """The end of its log."""
        return self.log_path.read_text(errors="replace")[-3000:]

    def healthy(self) -> bool:
        """Whether ``/healthz`` answers 200 (consuming with an assignment)."""
        if self.process.poll() is not None:
            raise WorkerError(f"worker exited with {self.process.returncode}:\n{self.log_tail()}")
        url = f"http://127.0.0.1:{self.port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                return int(reply.status) == 200
        except (OSError, urllib.error.URLError):
            return False

    def wait_healthy(self, timeout: float = 90.0) -> None:
        """Wait until healthy; raise WorkerError if it dies or takes longer than ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.healthy():
                return
            time.sleep(0.1)
        raise WorkerError(f"worker not healthy in {timeout:.0f} s:\n{self.log_tail()}")

    def peak_rss_bytes(self) -> int | None:
        """The peak resident set (VmHWM) of the process so far, from /proc; None if gone."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        return None

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, then SIGKILL if it hangs."""
        _stop(self.process, timeout)


def _stop(process: subprocess.Popen[bytes], timeout: float) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process in _RUNNING:
        _RUNNING.remove(process)


def stop_all() -> None:
    """Stop every worker still running (the runner's ``finally``; also registered at exit)."""
    for process in list(_RUNNING):
        _stop(process, 5.0)


atexit.register(stop_all)
