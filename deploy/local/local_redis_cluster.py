"""A three-master Redis Cluster on loopback, for running the suites against a cluster.

    python3 deploy/local/services.py up redis-cluster

Three redis-server processes in cluster mode (``RedisServer`` with ``--cluster-enabled yes``)
on 127.0.0.1:17001-17003 (cluster bus 27001-27003), folders under ``.local/redis-cluster/``,
no replicas. The first start joins them with ``redis-cli --cluster create`` (16384 slots split
in three); later starts reuse what runs, and a node restarted from its folder rejoins from its
``nodes.conf``. Ready when every node's ``CLUSTER INFO`` says ``cluster_state:ok``.
Point the project at it with ``BONUS_REDIS_URL=redis://127.0.0.1:17001/0 BONUS_REDIS_CLUSTER=1``.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass

from local_redis import HOST, RedisServer
from procs import STATE, ServiceError

PORTS = (17001, 17002, 17003)
HOME = STATE / "redis-cluster"


def command(port: int, *words: str, timeout: float = 2.0) -> str | None:
    """One inline command to ``HOST:port``; the reply's text (bulk or simple), None if no Redis.

    Standard library only, like the rest of ``deploy/local``: enough for CLUSTER INFO and PING.
    """
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            sock.sendall((" ".join(words) + "\r\n").encode())
            data = b""
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
                if _complete(data):
                    break
    except OSError:
        return None
    if data.startswith((b"+", b"-")):
        return data[1:].decode(errors="replace").strip()
    if data.startswith(b"$"):
        return data.split(b"\r\n", 1)[1].decode(errors="replace")
    return None


def _complete(data: bytes) -> bool:
    if data.startswith((b"+", b"-", b":")):
        return data.endswith(b"\r\n")
    if data.startswith(b"$") and b"\r\n" in data:
        header, body = data.split(b"\r\n", 1)
        return int(header[1:]) < 0 or len(body) >= int(header[1:]) + 2
    return False


def cluster_info(port: int) -> dict[str, str]:
    """The fields of ``CLUSTER INFO`` of one node; empty if it does not answer as a cluster node."""
    reply = command(port, "CLUSTER", "INFO")
    if reply is None or ":" not in reply:
        return {}
    pairs = (line.split(":", 1) for line in reply.splitlines() if ":" in line)
    return {name.strip(): value.strip() for name, value in pairs}


@dataclass(frozen=True)
class RedisCluster:
    """Masters on ``ports`` (one folder each under ``home``), one slot range each."""

    ports: Sequence[int] = PORTS
    name: str = "redis-cluster"
    appendfsync: str = "everysec"

    @property
    def nodes(self) -> list[RedisServer]:
        """The redis-server of each port (``nodes.conf`` lands in the node's folder, its --dir)."""
        args = ("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", "5000")  # fmt: skip
        return [
            RedisServer(f"{self.name}-{port}", port, HOME / str(port), self.appendfsync, args)
            for port in self.ports
        ]

    @property
    def url(self) -> str:
        """A URL of one node: a cluster client finds the others from it."""
        return f"redis://{HOST}:{self.ports[0]}/0"

    def ok(self) -> bool:
        """Whether every node says ``cluster_state:ok`` and knows all the masters."""
        for port in self.ports:
            info = cluster_info(port)
            if info.get("cluster_state") != "ok":
                return False
            if int(info.get("cluster_known_nodes", "0")) < len(self.ports):
                return False
        return True

    def status(self) -> str:
        """One line: serving or not, and each node's state."""
        states = []
        for node in self.nodes:
            info = cluster_info(node.port)
            pid = node.managed.pid()
            owner = f"pid {pid}" if pid else "not ours" if info else "down"
            states.append(f"{node.port} {info.get('cluster_state', '-')} ({owner})")
        verdict = "running" if self.ok() else "not serving"
        return f"{self.name}: {verdict} at {self.url}: " + ", ".join(states)

    def up(self, timeout: float = 60.0) -> str:
        """Start (or reuse) every node, join them once, wait for ``cluster_state:ok``."""
        if self.ok():
            return self.status()
        for node in self.nodes:
            node.up()
        if not self._assigned():
            self._create()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ok():
                return self.status()
            time.sleep(0.3)
        raise ServiceError(
            f"the cluster did not reach cluster_state:ok within {timeout:.0f} s ({self.status()});"
            f" if a node lost its folder, run `services.py down redis-cluster`, remove {HOME} and"
            " start again"
        )

    def _assigned(self) -> bool:
        """Whether any node already has slots (the cluster was created before)."""
        return any(int(cluster_info(p).get("cluster_slots_assigned", "0")) > 0 for p in self.ports)

    def _create(self) -> None:
        cli = shutil.which("redis-cli")
        if cli is None:
            raise ServiceError("redis-cli is not on the PATH (it comes with redis-server)")
        argv = [cli, "--cluster", "create", *(f"{HOST}:{p}" for p in self.ports),
                "--cluster-replicas", "0", "--cluster-yes"]  # fmt: skip
        result = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if result.returncode != 0:
            last = (result.stderr or result.stdout).strip().splitlines()[-3:]
            raise ServiceError("redis-cli --cluster create failed: " + " / ".join(last))

    def down(self, *, hard: bool = False) -> str:
        """Stop the nodes this project started (``hard``: kill -9); their folders stay."""
        stopped = [node.port for node in self.nodes if node.managed.pid() is not None]
        for node in self.nodes:
            node.down(hard=hard)
        if not stopped:
            return f"{self.name}: nothing of ours to stop"
        return f"{self.name}: stopped " + ", ".join(str(p) for p in stopped)


DEFAULT = RedisCluster()


def status() -> str:
    """The default cluster (127.0.0.1:17001-17003): serving or not, node by node."""
    return DEFAULT.status()


def up(timeout: float = 60.0) -> str:
    """Start (or reuse) the default cluster and wait for ``cluster_state:ok``."""
    return DEFAULT.up(timeout)


def down() -> str:
    """Stop the default cluster's nodes if this project started them."""
    return DEFAULT.down()
