"""Process and port helpers for the local services: pid files, liveness, readiness probes.

Standard library only, so that `make services` works before the project's virtualenv exists.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import struct
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STATE = Path(os.environ.get("BONUS_LOCAL_STATE", ROOT / ".local"))


class ServiceError(RuntimeError):
    """A service cannot be had; the message is one line that says why and what to do."""


@dataclass(frozen=True)
class Managed:
    """A process this project started: its name, pid file, and a marker in its command line."""

    name: str
    pidfile: Path
    marker: str

    def pid(self) -> int | None:
        """The pid of our live process, or None (a stale pid file is removed)."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        if not alive(pid):
            self.pidfile.unlink(missing_ok=True)
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (FileNotFoundError, PermissionError):
            return None
        # A live pid without our marker is a stranger that reused the number (or a launcher
        # still exec-ing): never signal it, and leave the file for the next start to replace.
        return pid if self.marker in cmdline else None

    def start(self, argv: Sequence[str], log: Path, env: dict[str, str] | None = None) -> int:
        """Start ``argv`` detached from our session, output to ``log``; record its pid."""
        log.parent.mkdir(parents=True, exist_ok=True)
        self.pidfile.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **(env or {})},
                cwd=str(ROOT),
            )
        self.pidfile.write_text(f"{proc.pid}\n")
        return proc.pid

    def stop(self, timeout: float = 30.0, *, hard: bool = False) -> bool:
        """Stop our process (TERM, then KILL after ``timeout``); True if one was running.

        ``hard`` sends KILL at once: a crash, for the fault suite.
        """
        pid = self.pid()
        if pid is None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL if hard else signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and alive(pid):
            time.sleep(0.2)
        if alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            while alive(pid):
                time.sleep(0.1)
        self.pidfile.unlink(missing_ok=True)
        return True


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie counts as gone)."""
    # Reap it if it is our child; otherwise a zombie still counts as gone.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def port_open(host: str, port: int) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1.0):
        return True
    return False


def wait_until(check: Callable[[], bool], timeout: float, running: Callable[[], bool]) -> bool:
    """Poll ``check`` until it holds; give up early when ``running`` says the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        if not running():
            return False
        time.sleep(0.3)
    return check()


def redis_ping(host: str, port: int) -> bool:
    """True when a Redis server answers PING (or asks for a password, which is still Redis)."""
    try:
        with socket.create_connection((host, port), timeout=2.0) as sock:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
    except OSError:
        return False
    return reply.startswith((b"+PONG", b"-NOAUTH"))


def kafka_metadata(host: str, port: int) -> int | None:
    """Send a Kafka Metadata request (v4, no topics); return the broker count, None if no Kafka.

    Kafka 4 dropped Metadata v0-v3 (KIP-896); v4 is the oldest version it still answers and the
    newest without the flexible encoding, so a few lines of struct packing suffice.
    """
    client = b"bonus-local"
    body = struct.pack(">hhih", 3, 4, 7, len(client)) + client + struct.pack(">ib", 0, 0)
    try:
        with socket.create_connection((host, port), timeout=3.0) as sock:
            sock.settimeout(3.0)
            sock.sendall(struct.pack(">i", len(body)) + body)
            header = _recv_exact(sock, 4)
            (size,) = struct.unpack(">i", header)
            if not 8 <= size <= 1_000_000:
                return None
            payload = _recv_exact(sock, size)
    except (OSError, ConnectionError):
        return None
    correlation, _throttle, brokers = struct.unpack(">iii", payload[:12])
    return brokers if correlation == 7 and brokers >= 0 else None


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("connection closed")
        data += chunk
    return data


def tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log file, for an error message."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
