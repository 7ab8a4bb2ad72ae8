"""A redis-server on 127.0.0.1:6379 with AOF on, from the OS packages.

When ``redis-server`` is missing on Debian or Ubuntu it is installed with apt-get (after
``apt-get update``); elsewhere the error says what to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from procs import STATE, Managed, ServiceError, alive, port_open, redis_ping, tail, wait_until

HOST, PORT = "127.0.0.1", 6379
HOME = STATE / "redis"
# redis-server rewrites its process title to "redis-server 127.0.0.1:6379": that is the marker
# that tells our recorded pid from a reused one.
SERVER = Managed("redis", HOME / "redis.pid", marker=f"redis-server {HOST}:{PORT}")


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


def status() -> str:
    """One line: whether Redis answers on 127.0.0.1:6379, and whether it is ours."""
    pid = SERVER.pid()
    if redis_ping(HOST, PORT):
        owner = f"ours, pid {pid}, AOF on" if pid else "not started by this project"
        return f"redis: running at {HOST}:{PORT} ({owner})"
    return "redis: not running"


def up(timeout: float = 30.0) -> str:
    """Start redis-server unless one already answers PING; wait until it does."""
    if redis_ping(HOST, PORT):
        return status()
    if port_open(HOST, PORT):
        raise ServiceError(
            f"port {PORT} on {HOST} is taken by something that is not Redis (no PING answer): "
            "stop it or set BONUS_REDIS_URL to a running server"
        )
    binary = shutil.which("redis-server") or _install()
    HOME.mkdir(parents=True, exist_ok=True)
    argv = [
        binary,
        "--bind", HOST, "--port", str(PORT),
        "--dir", str(HOME),
        "--appendonly", "yes", "--appendfsync", "everysec",
        "--save", "",
        "--daemonize", "no",
        "--logfile", str(HOME / "redis.log"),
        "--pidfile", str(HOME / "redis-server.pid"),
        "--protected-mode", "yes",
    ]  # fmt: skip
    pid = SERVER.start(argv, HOME / "stdout.log")
    if not wait_until(lambda: redis_ping(HOST, PORT), timeout, lambda: alive(pid)):
        SERVER.stop(timeout=5)
        raise ServiceError(
            f"redis-server did not answer PING within {timeout:.0f} s; last log lines:\n"
            + tail(HOME / "redis.log")
        )
    return status()


def down() -> str:
    """Stop redis-server if this project started it (SIGTERM: it flushes the AOF first)."""
    return "redis: stopped" if SERVER.stop() else "redis: nothing of ours to stop"
