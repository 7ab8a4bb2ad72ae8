"""redis-server processes with AOF on, from the OS packages.

The default server (``make services``) listens on 127.0.0.1:6379; the fault suite and the cluster
and security tests start further ``RedisServer`` instances on other ports and folders.

When ``redis-server`` is missing on Debian or Ubuntu it is installed with apt-get (after
``apt-get update``); elsewhere the error says what to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from procs import STATE, Managed, ServiceError, alive, port_open, redis_ping, tail, wait_until

HOST = "127.0.0.1"


def _install() -> str:
    apt = shutil.which("apt-get")
    if apt is None:
        raise ServiceError(
            "redis-server is not on the PATH and this is not a Debian/Ubuntu system: install "
            "Redis 7 with your package manager or set BONUS_REDIS_URL to a running server"
        )
    prefix: list[str] = []
    if os.geteuid() != 0:
        sudo = shutil.which("sudo")
        if sudo is None:
            raise ServiceError(
                "redis-server is missing and installing it needs root: run "
                "`sudo apt-get install redis-server` or set BONUS_REDIS_URL"
            )
        prefix = [sudo, "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["update", "-q"], ["install", "-y", "-q", "redis-server"]):
        result = subprocess.run(
            [*prefix, apt, *step], capture_output=True, text=True, env=env, check=False
        )
        if result.returncode != 0:
            last = (result.stderr or result.stdout).strip().splitlines()[-1:]
            raise ServiceError(
                f"apt-get {step[0]} failed: {last[0] if last else result.returncode}"
            )
    found = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.path.exists(found):
        raise ServiceError("apt-get installed redis-server but it is not on the PATH")
    return found


def redis_binary() -> str:
    """The redis-server on the PATH, installed from the OS packages when missing."""
    return shutil.which("redis-server") or _install()


@dataclass(frozen=True)
class RedisServer:
    """One local redis-server: its port, its folder, its fsync policy and extra arguments.

    ``ready`` says when it serves; by default a plain PING on ``port`` answers.
    """

    name: str = "redis"
    port: int = 6379
    home: Path = STATE / "redis"
    appendfsync: str = "everysec"
    args: Sequence[str] = ()
    ready: Callable[[], bool] | None = None

    @property
    def managed(self) -> Managed:
        # redis-server rewrites its process title to "redis-server 127.0.0.1:<port>": that is
        # the marker that tells our recorded pid from a reused one.
        return Managed(
            self.name, self.home / "redis.pid", marker=f"redis-server {HOST}:{self.port}"
        )

    def answers(self) -> bool:
        """Whether the server serves clients now."""
        if self.ready is not None:
            return self.ready()
        return redis_ping(HOST, self.port)

    def status(self) -> str:
        """One line: whether the server answers, and whether it is ours."""
        pid = self.managed.pid()
        if self.answers():
            owner = f"ours, pid {pid}, AOF on" if pid else "not started by this project"
            return f"{self.name}: running at {HOST}:{self.port} ({owner})"
        return f"{self.name}: not running"

    def up(self, timeout: float = 30.0) -> str:
        """Start redis-server unless one already answers; wait until it does."""
        if self.answers():
            return self.status()
        if port_open(HOST, self.port):
            raise ServiceError(
                f"port {self.port} on {HOST} is taken by something that is not Redis (no PING "
                "answer): stop it or set BONUS_REDIS_URL to a running server"
            )
        binary = redis_binary()
        self.home.mkdir(parents=True, exist_ok=True)
        argv = [
            binary,
            "--bind", HOST, "--port", str(self.port),
            "--dir", str(self.home),
            "--appendonly", "yes", "--appendfsync", self.appendfsync,
            "--save", "",
            "--daemonize", "no",
            "--logfile", str(self.home / "redis.log"),
            "--pidfile", str(self.home / "redis-server.pid"),
            "--protected-mode", "yes",
            *self.args,
        ]  # fmt: skip
        managed = self.managed
        pid = managed.start(argv, self.home / "stdout.log")
        if not wait_until(self.answers, timeout, lambda: alive(pid)):
            managed.stop(timeout=5)
            raise ServiceError(
                f"redis-server did not answer PING within {timeout:.0f} s; last log lines:\n"
                + tail(self.home / "redis.log")
            )
        return self.status()

    def down(self, *, hard: bool = False) -> str:
        """Stop it if this project started it: SIGTERM flushes the AOF first; ``hard`` is
        kill -9, a crash."""
        stopped = self.managed.stop(hard=hard)
        return f"{self.name}: stopped" if stopped else f"{self.name}: nothing of ours to stop"


DEFAULT = RedisServer()


def status() -> str:
    """The default server (127.0.0.1:6379): running or not, and whether it is ours."""
    return DEFAULT.status()


def up(timeout: float = 30.0) -> str:
    """Start (or reuse) the default server and wait until it answers PING."""
    return DEFAULT.up(timeout)


def down() -> str:
    """Stop the default server if this project started it (SIGTERM: it flushes the AOF first)."""
    return DEFAULT.down()
