"""Single-node KRaft Apache Kafka brokers from the official Maven artifacts.

The jars are copied once from Maven Central into ``.local/kafka/libs-<version>`` with a pinned
maven-dependency-plugin; the storage is formatted once (``StorageTool format --standalone``);
the broker runs as ``java kafka.Kafka server.properties`` and is ready when it answers a Metadata
request. The default broker (``make services``) listens on 127.0.0.1:9092; the fault suite and
the security tests start further ``KafkaBroker`` instances on other ports and folders.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from procs import STATE, Managed, ServiceError, alive, kafka_metadata, port_open, tail, wait_until

HOST = "127.0.0.1"
HERE = Path(__file__).resolve().parent / "kafka"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
CACHE = STATE / "kafka"  # the jars, shared by every broker of this checkout


def kafka_version() -> str:
    """The Kafka version pinned in the pom."""
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", (HERE / "pom.xml").read_text())
    if match is None:
        raise ServiceError("deploy/local/kafka/pom.xml names no kafka.version")
    return match.group(1)


def libs_dir() -> Path:
    return CACHE / f"libs-{kafka_version()}"


def check_java() -> None:
    """Java 17 or newer must be on the PATH (Kafka 4 brokers need it)."""
    java = shutil.which("java")
    if java is None:
        raise ServiceError(
            "Java 17+ is required for the local Kafka broker and `java` is not on the PATH: "
            "install a JDK 17 (apt-get install openjdk-17-jre-headless) or set "
            "BONUS_KAFKA_BOOTSTRAP to a running broker"
        )
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    major = int(match.group(1)) if match else 0
    if major == 1 and match and match.group(2):
        major = int(match.group(2))
    if major < 17:
        raise ServiceError(
            f"Java 17+ is required for the local Kafka broker, found Java {major or 'unknown'} "
            f"at {java}: install a JDK 17 or set BONUS_KAFKA_BOOTSTRAP to a running broker"
        )


def fetch() -> Path:
    """Copy the broker jars from Maven Central once; later calls reuse the cache."""
    libs = libs_dir()
    marker = libs / ".complete"
    if marker.exists():
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ServiceError(
            "Maven (`mvn`) is required once to fetch the Kafka broker from Maven Central: "
            "install it (apt-get install maven) or set BONUS_KAFKA_BOOTSTRAP to a running broker"
        )
    staging = libs.with_name(libs.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    cmd = [
        mvn, "-q", "-B", "-f", str(HERE / "pom.xml"),
        f"{DEPENDENCY_PLUGIN}:copy-dependencies",
        f"-DoutputDirectory={staging}", "-DincludeScope=runtime",
    ]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ServiceError(
            "could not fetch Kafka from Maven Central: "
            + (result.stdout + result.stderr).strip().splitlines()[-1:][0]
            if (result.stdout + result.stderr).strip()
            else f"mvn exited {result.returncode}"
        )
    shutil.rmtree(libs, ignore_errors=True)
    staging.rename(libs)
    marker.write_text(kafka_version() + "\n")
    return libs


def _java_command(libs: Path, logs: Path, main: str, *args: str, heap: str = "512m") -> list[str]:
    return [
        "java", f"-Xms{heap}", f"-Xmx{heap}", "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={HERE / 'log4j2.properties'}",
        f"-Dkafka.logs.dir={logs}",
        "-cp", f"{libs}/*", main, *args,
    ]  # fmt: skip


def render_properties(
    template: str, values: Mapping[str, str], overrides: Mapping[str, str]
) -> str:
    """``template`` with ``${NAME}`` filled from ``values``; ``overrides`` replace or add keys."""
    for name, value in values.items():
        template = template.replace("${" + name + "}", value)
    kept = [
        line
        for line in template.splitlines()
        if line.split("=", 1)[0].strip() not in overrides or line.lstrip().startswith("#")
    ]
    return "\n".join([*kept, *(f"{key}={value}" for key, value in overrides.items())]) + "\n"


@dataclass(frozen=True)
class KafkaBroker:
    """One local broker: its ports, its folder (data, logs, config) and extra properties.

    ``ready`` says when the broker serves; by default a PLAINTEXT Metadata request on ``port``.
    ``format_args`` go to ``StorageTool format`` (e.g. ``--add-scram`` users for SASL).
    """

    name: str = "kafka"
    port: int = 9092
    controller_port: int = 9093
    home: Path = STATE / "kafka"
    properties: Mapping[str, str] = field(default_factory=dict)
    heap: str = "1g"
    ready: Callable[[], bool] | None = None
    format_args: Sequence[str] = ()

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def managed(self) -> Managed:
        # "kafka.Kafka <its folder>/server.properties" in its command line is what lets `stop`
        # recognise the process as ours.
        return Managed(self.name, self.home / "kafka.pid", marker=f"kafka.Kafka {self.home}/")

    def answers(self) -> bool:
        """Whether the broker serves clients now."""
        if self.ready is not None:
            return self.ready()
        return kafka_metadata(HOST, self.port) is not None

    def _config(self) -> Path:
        config = self.home / "server.properties"
        values = {
            "DATA_DIR": str(self.data),
            "PORT": str(self.port),
            "CONTROLLER_PORT": str(self.controller_port),
        }
        template = (HERE / "server.properties").read_text()
        config.write_text(render_properties(template, values, self.properties))
        return config

    def _format(self, libs: Path, config: Path) -> None:
        if (self.data / "meta.properties").exists():
            return
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        # "--cluster-id=<id>", not "-t <id>": an id may start with "-" (1 in 64), which the
        # tool's argument parser would take for an option.
        cmd = _java_command(
            libs, self.logs, "kafka.tools.StorageTool", "format", "--standalone",
            f"--cluster-id={cluster_id}", "-c", str(config), *self.format_args, heap="256m",
        )  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ServiceError(
                f"formatting the Kafka storage failed: {result.stderr.strip()[-300:]}"
            )

    def status(self) -> str:
        """One line: whether the broker answers, and whether it is ours."""
        pid = self.managed.pid()
        if self.answers():
            owner = f"ours, pid {pid}" if pid else "not started by this project"
            return f"{self.name}: running at {HOST}:{self.port} ({owner})"
        return f"{self.name}: not running" + (f" (pid {pid} is starting or stuck)" if pid else "")

    def up(self, timeout: float = 120.0) -> str:
        """Start the broker unless one already answers; wait until it answers."""
        if self.answers():
            return self.status()
        if port_open(HOST, self.port):
            raise ServiceError(
                f"port {self.port} on {HOST} is taken by something that is not Kafka (it does "
                "not answer a Kafka Metadata request): stop it or set BONUS_KAFKA_BOOTSTRAP to "
                "a running broker"
            )
        if port_open(HOST, self.controller_port):
            raise ServiceError(
                f"port {self.controller_port} on {HOST} (the local KRaft controller) is taken "
                "by another program: stop it first"
            )
        check_java()
        libs = fetch()
        self.data.mkdir(parents=True, exist_ok=True)
        config = self._config()
        self._format(libs, config)
        managed = self.managed
        managed.stop(timeout=10)  # a stuck earlier start of ours
        command = _java_command(libs, self.logs, "kafka.Kafka", str(config), heap=self.heap)
        pid = managed.start(command, self.logs / "stdout.log")
        if not wait_until(self.answers, timeout, lambda: alive(pid)):
            managed.stop(timeout=10)
            raise ServiceError(
                f"Kafka did not become ready within {timeout:.0f} s; last log lines:\n"
                + tail(self.logs / "server.log")
                + "\n"
                + tail(self.logs / "stdout.log", 5)
            )
        return self.status()

    def down(self, *, hard: bool = False) -> str:
        """Stop the broker if this project started it (``hard``: kill -9, a crash)."""
        stopped = self.managed.stop(hard=hard)
        return f"{self.name}: stopped" if stopped else f"{self.name}: nothing of ours to stop"

    def wipe(self) -> None:
        """Delete the broker's data and logs (it must be stopped)."""
        shutil.rmtree(self.home / "data", ignore_errors=True)
        shutil.rmtree(self.logs, ignore_errors=True)


DEFAULT = KafkaBroker()


def status() -> str:
    """The default broker (127.0.0.1:9092): running or not, and whether it is ours."""
    return DEFAULT.status()


def up(timeout: float = 120.0) -> str:
    """Start (or reuse) the default broker and wait until it is ready."""
    return DEFAULT.up(timeout)


def down() -> str:
    """Stop the default broker if this project started it."""
    return DEFAULT.down()
