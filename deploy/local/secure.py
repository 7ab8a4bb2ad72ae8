"""A Kafka broker and a redis-server that both demand credentials over TLS, for the security tests.

    python3 deploy/local/secure.py up       make certificates, start both, print how to reach them
    python3 deploy/local/secure.py down     stop both
    python3 deploy/local/secure.py status

Everything lives under ``.local/secure/``: a throw-away CA and a server certificate for
127.0.0.1/localhost (``openssl``), random passwords (``credentials.json``, mode 0600), the
broker's and the server's data. The broker's clients must speak SASL_SSL with SCRAM-SHA-512 on
127.0.0.1:19192 (user ``bonus``, created when the storage is formatted); a PLAINTEXT listener on
19194 serves only readiness probes and the broker's own inter-broker traffic. Redis accepts TLS
only on 127.0.0.1:16479 (no plain port) and only the ACL user ``bonus``: the ``default`` user is
off. Standard library only, like the rest of ``deploy/local``.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from local_kafka import HOST, KafkaBroker
from local_redis import RedisServer
from procs import STATE, ServiceError, kafka_metadata

HOME = STATE / "secure"
KAFKA_PORT = 19192
CONTROLLER_PORT = 19193
INTERNAL_PORT = 19194
REDIS_PORT = 16479
USERNAME = "bonus"
MECHANISM = "SCRAM-SHA-512"


@dataclass(frozen=True)
class Certificates:
    """PEM files: the CA that signed the server certificate, and the server's key and chain."""

    ca: Path
    server_cert: Path
    server_key: Path
    # The broker's PEM keystore wants the private key and the certificate chain in one file.
    keystore: Path


@dataclass(frozen=True)
class Endpoints:
    """How a client reaches the secure services (the password in clear: hand it on as a secret)."""

    bootstrap: str
    redis_url: str
    ca_file: Path
    username: str
    kafka_password: str
    redis_password: str
    mechanism: str = MECHANISM

    def environment(self) -> dict[str, str]:
        """The ``BONUS_*`` variables of a worker that uses these services."""
        return {
            "BONUS_KAFKA_BOOTSTRAP": self.bootstrap,
            "BONUS_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "BONUS_KAFKA_SASL_MECHANISM": self.mechanism,
            "BONUS_KAFKA_SASL_USERNAME": self.username,
            "BONUS_KAFKA_SASL_PASSWORD": self.kafka_password,
            "BONUS_KAFKA_SSL_CA_FILE": str(self.ca_file),
            "BONUS_REDIS_URL": self.redis_url,
            "BONUS_REDIS_SSL_CA_FILE": str(self.ca_file),
        }


def _openssl(*args: str) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise ServiceError("openssl is required to make the test certificates: install it")
    result = subprocess.run([openssl, *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ServiceError(f"openssl {args[0]} failed: {result.stderr.strip()[-300:]}")


def tls_files(home: Path = HOME) -> Certificates:
    """Where the certificates of ``home`` are (made or not)."""
    folder = home / "tls"
    return Certificates(
        ca=folder / "ca.pem",
        server_cert=folder / "server.pem",
        server_key=folder / "server.key",
        keystore=folder / "server-keystore.pem",
    )


def certificates(home: Path = HOME) -> Certificates:
    """A CA and a server certificate for 127.0.0.1 and localhost; made once, then reused."""
    certs = tls_files(home)
    if certs.keystore.exists():
        return certs
    folder = certs.ca.parent
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = folder / "ca.key"
    request = folder / "server.csr"
    extensions = folder / "server.ext"
    extensions.write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
    )
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-out", str(ca_key))  # fmt: skip
    _openssl("req", "-x509", "-new", "-key", str(ca_key), "-sha256", "-days", "30",
             "-subj", "/CN=bonus-streams test CA", "-out", str(certs.ca))  # fmt: skip
    # genpkey writes PKCS#8, the only private key form Kafka's PEM keystore reads.
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-out", str(certs.server_key))  # fmt: skip
    _openssl("req", "-new", "-key", str(certs.server_key), "-subj", "/CN=localhost",
             "-out", str(request))  # fmt: skip
    _openssl("x509", "-req", "-in", str(request), "-CA", str(certs.ca), "-CAkey", str(ca_key),
             "-CAcreateserial", "-days", "30", "-sha256", "-extfile", str(extensions),
             "-out", str(certs.server_cert))  # fmt: skip
    for key in (ca_key, certs.server_key):
        key.chmod(0o600)
    certs.keystore.write_text(certs.server_key.read_text() + certs.server_cert.read_text())
    certs.keystore.chmod(0o600)
    return certs


def passwords(home: Path = HOME) -> dict[str, str]:
    """The services' random passwords (``kafka``, ``redis``); made on first use."""
    path = home / "credentials.json"
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    home.mkdir(parents=True, exist_ok=True)
    # A new password needs a newly formatted broker: SCRAM users are made at format time.
    broker(home).wipe()
    made = {"kafka": secrets.token_urlsafe(18), "redis": secrets.token_urlsafe(18)}
    path.touch(mode=0o600)
    path.write_text(json.dumps(made))
    return made


def broker(home: Path, password: str = "") -> KafkaBroker:
    """The SASL_SSL broker on 19192/19193/19194; ``password``: of the SCRAM user ``bonus``, made
    when the storage is formatted."""
    certs = tls_files(home)
    listener = "listener.name.sasl_ssl"
    return KafkaBroker(
        name="kafka-secure",
        port=KAFKA_PORT,
        controller_port=CONTROLLER_PORT,
        home=home / "kafka",
        heap="512m",
        properties={
            "listeners": f"SASL_SSL://{HOST}:{KAFKA_PORT},CONTROLLER://{HOST}:{CONTROLLER_PORT},"
            f"INTERNAL://{HOST}:{INTERNAL_PORT}",
            "advertised.listeners": f"SASL_SSL://{HOST}:{KAFKA_PORT},"
            f"INTERNAL://{HOST}:{INTERNAL_PORT}",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL,"
            "INTERNAL:PLAINTEXT",
            "inter.broker.listener.name": "INTERNAL",
            "sasl.enabled.mechanisms": MECHANISM,
            f"{listener}.scram-sha-512.sasl.jaas.config": (
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"
            ),
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(certs.keystore),
            "ssl.client.auth": "none",
        },
        format_args=(
            "--add-scram",
            f"{MECHANISM}=[name={USERNAME},password={password}]",
        ),
        ready=lambda: kafka_metadata(HOST, INTERNAL_PORT) is not None,
    )


def tls_ping(port: int, ca: Path) -> bool:
    """True when a TLS server on ``port`` that ``ca`` vouches for answers a Redis PING.

    ``-NOAUTH`` counts: the server is up and asks for the ACL user it should.
    """
    try:
        context = ssl.create_default_context(cafile=str(ca))
        with (
            socket.create_connection((HOST, port), timeout=2.0) as raw,
            context.wrap_socket(raw, server_hostname=HOST) as sock,
        ):
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
    except OSError:
        return False
    return reply.startswith((b"+PONG", b"-NOAUTH"))


def _acl_file(home: Path) -> Path:
    return home / "redis" / "users.acl"


def write_acl(home: Path, password: str) -> None:
    """The users of the secure redis-server: ``bonus`` may do anything, ``default`` nothing.

    A file, not ``--user`` arguments, so that the password is not in the process list.
    """
    acl = _acl_file(home)
    acl.parent.mkdir(parents=True, exist_ok=True)
    acl.touch(mode=0o600)
    acl.write_text(f"user default off\nuser {USERNAME} on >{password} ~* &* +@all\n")


def redis_server(home: Path) -> RedisServer:
    """The TLS-only redis-server on 16479 with the users of ``write_acl``."""
    certs = tls_files(home)
    acl = _acl_file(home)
    # fmt: off
    args = (
        "--port", "0", "--tls-port", str(REDIS_PORT),
        "--tls-cert-file", str(certs.server_cert),
        "--tls-key-file", str(certs.server_key),
        "--tls-ca-cert-file", str(certs.ca),
        "--tls-auth-clients", "no",
        "--aclfile", str(acl),
    )
    # fmt: on
    return RedisServer(
        name="redis-secure",
        port=REDIS_PORT,
        home=home / "redis",
        appendfsync="everysec",
        args=args,
        ready=lambda: tls_ping(REDIS_PORT, certs.ca),
    )


def endpoints(home: Path = HOME) -> Endpoints:
    """How to reach the secure services (whether or not they run)."""
    made = passwords(home)
    return Endpoints(
        bootstrap=f"{HOST}:{KAFKA_PORT}",
        redis_url=f"rediss://{USERNAME}:{made['redis']}@{HOST}:{REDIS_PORT}/0",
        ca_file=tls_files(home).ca,
        username=USERNAME,
        kafka_password=made["kafka"],
        redis_password=made["redis"],
    )


def up(home: Path = HOME) -> Endpoints:
    """Start (or reuse) the secure broker and redis-server; how to reach them."""
    certificates(home)
    found = endpoints(home)
    write_acl(home, found.redis_password)
    redis_server(home).up()
    broker(home, found.kafka_password).up()
    return found


def down(home: Path = HOME) -> list[str]:
    """Stop both, if this project started them."""
    return [broker(home).down(), redis_server(home).down()]


def status(home: Path = HOME) -> list[str]:
    """One line each: running or not."""
    return [broker(home).status(), redis_server(home).status()]


def main(argv: list[str] | None = None) -> int:
    """``up`` prints the endpoints (without passwords: they are in credentials.json)."""
    parser = argparse.ArgumentParser(prog="deploy/local/secure.py", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status"])
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            found = up()
            sys.stdout.write(
                f"kafka-secure: SASL_SSL {found.mechanism} at {found.bootstrap}, user "
                f"{found.username}\nredis-secure: TLS at {HOST}:{REDIS_PORT}, user "
                f"{found.username}\nCA: {found.ca_file}\npasswords: {HOME / 'credentials.json'}\n"
            )
        else:
            lines = down() if args.command == "down" else status()
            sys.stdout.write("".join(f"{line}\n" for line in lines))
    except ServiceError as error:
        sys.stderr.write(f"secure services: {error}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
