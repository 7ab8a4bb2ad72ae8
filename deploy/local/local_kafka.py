"""A single-node KRaft Apache Kafka broker on 127.0.0.1:9092 from the official Maven artifacts.

The jars are copied once from Maven Central into ``.local/kafka/libs-<version>`` with a pinned
maven-dependency-plugin; the storage is formatted once (``StorageTool format --standalone``);
the broker runs as ``java kafka.Kafka server.properties`` and is ready when it answers a Metadata
request.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import uuid
from pathlib import Path

from procs import STATE, Managed, ServiceError, alive, kafka_metadata, port_open, tail, wait_until

HOST, PORT, CONTROLLER_PORT = "127.0.0.1", 9092, 9093
HERE = Path(__file__).resolve().parent / "kafka"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
HOME = STATE / "kafka"
DATA, LOGS = HOME / "data", HOME / "logs"
BROKER = Managed("kafka", HOME / "kafka.pid", marker=f"kafka.Kafka {HOME}")


def kafka_version() -> str:
    """The Kafka version pinned in the pom."""
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", (HERE / "pom.xml").read_text())
    if match is None:
        raise ServiceError("deploy/local/kafka/pom.xml names no kafka.version")
    return match.group(1)


def libs_dir() -> Path:
    return HOME / f"libs-{kafka_version()}"


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


def _java_command(libs: Path, main: str, *args: str, heap: str = "512m") -> list[str]:
    return [
        "java", f"-Xms{heap}", f"-Xmx{heap}", "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={HERE / 'log4j2.properties'}",
        f"-Dkafka.logs.dir={LOGS}",
        "-cp", f"{libs}/*", main, *args,
    ]  # fmt: skip


def _config() -> Path:
    config = HOME / "server.properties"
    text = (HERE / "server.properties").read_text().replace("${DATA_DIR}", str(DATA))
    config.write_text(text)
    return config


def _format(libs: Path, config: Path) -> None:
    if (DATA / "meta.properties").exists():
        return
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
    cmd = _java_command(
        libs, "kafka.tools.StorageTool", "format", "--standalone",
        "-t", cluster_id, "-c", str(config), heap="256m",
    )  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ServiceError(f"formatting the Kafka storage failed: {result.stderr.strip()[-300:]}")


def status() -> str:
    """One line: whether a Kafka broker answers on 127.0.0.1:9092, and whether it is ours."""
    pid = BROKER.pid()
    if kafka_metadata(HOST, PORT) is not None:
        owner = f"ours, pid {pid}" if pid else "not started by this project"
        return f"kafka: running at {HOST}:{PORT} ({owner})"
    return "kafka: not running" + (f" (pid {pid} is starting or stuck)" if pid else "")


def up(timeout: float = 120.0) -> str:
    """Start the broker unless one already answers; wait until it answers a Metadata request."""
    if kafka_metadata(HOST, PORT) is not None:
        return status()
    if port_open(HOST, PORT):
        raise ServiceError(
            f"port {PORT} on {HOST} is taken by something that is not Kafka (it does not answer "
            "a Kafka Metadata request): stop it or set BONUS_KAFKA_BOOTSTRAP to a running broker"
        )
    if port_open(HOST, CONTROLLER_PORT):
        raise ServiceError(
            f"port {CONTROLLER_PORT} on {HOST} (the local KRaft controller) is taken by another "
            "program: stop it first"
        )
    check_java()
    libs = fetch()
    DATA.mkdir(parents=True, exist_ok=True)
    config = _config()
    _format(libs, config)
    BROKER.stop(timeout=10)  # a stuck earlier start of ours
    # "kafka.Kafka <our state folder>/server.properties" in its command line is what lets
    # `stop` recognise the process as ours.
    pid = BROKER.start(
        _java_command(libs, "kafka.Kafka", str(config), heap="1g"), LOGS / "stdout.log"
    )
    ready = wait_until(lambda: kafka_metadata(HOST, PORT) is not None, timeout, lambda: alive(pid))
    if not ready:
        BROKER.stop(timeout=10)
        raise ServiceError(
            f"Kafka did not become ready within {timeout:.0f} s; last log lines:\n"
            + tail(LOGS / "server.log")
            + "\n"
            + tail(LOGS / "stdout.log", 5)
        )
    return status()


def down() -> str:
    """Stop the broker if this project started it."""
    return "kafka: stopped" if BROKER.stop() else "kafka: nothing of ours to stop"
