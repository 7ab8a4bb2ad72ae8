"""Security settings: every bad combination listed, every client configured, no password shown."""

from __future__ import annotations

import io
import logging
import logging.config
import secrets
import ssl
import sys
from pathlib import Path

import faust
import pytest

from streams.cli import main
from streams.masking import Redact, mask_url, scrub, shown
from streams.redis_clients import tls_options
from streams.runtime.logging import JsonFormatter, logging_config
from streams.settings import Settings, SettingsError, load_settings
from streams.worker.credentials import broker_credentials

# deploy/local is a folder of standard-library scripts, not a package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "deploy" / "local"))
import secure as secure_services

# Random, so that finding one in an output cannot be a coincidence.
PASSWORD = "kafka-" + secrets.token_urlsafe(12)
REDIS_PASSWORD = "redis-" + secrets.token_hex(12)


@pytest.fixture(scope="module")
def ca_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real CA certificate (openssl, as deploy/local makes them for the secure services)."""
    return secure_services.certificates(tmp_path_factory.mktemp("tls")).ca


@pytest.fixture
def secure(ca_file: Path) -> Settings:
    """SASL_SSL towards Kafka, TLS and an ACL user towards Redis."""
    return Settings(
        kafka_bootstrap="k1:9093",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="bonus",
        kafka_sasl_password=PASSWORD,
        kafka_ssl_ca_file=ca_file,
        redis_url=f"rediss://bonus:{REDIS_PASSWORD}@r1:6380/0",
        redis_ssl_ca_file=ca_file,
    )


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("rediss://bonus:pw@r1:6380/0", "rediss://bonus:***@r1:6380/0"),
        ("redis://:pw@r1:6379/0", "redis://:***@r1:6379/0"),
        ("redis://pw@r1", "redis://***@r1"),
        ("redis://u:p%40ss@[::1]:6379", "redis://u:***@[::1]:6379"),
        ("redis://r1:6379/0", "redis://r1:6379/0"),
        ("unix:///run/redis.sock", "unix:///run/redis.sock"),
    ],
)
def test_urls_are_shown_without_their_password(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_shown_values_hide_secrets(secure: Settings) -> None:
    assert shown(secure.kafka_sasl_password) == "***"
    assert shown(secure.redis_url) == "rediss://bonus:***@r1:6380/0"
    assert shown(None) == ""
    assert shown(12) == "12"


def test_the_settings_repr_holds_no_password(secure: Settings) -> None:
    text = repr(secure) + str(secure)
    assert PASSWORD not in text
    assert REDIS_PASSWORD not in text
    assert "rediss://bonus:***@r1:6380/0" in text


def test_librdkafka_gets_sasl_and_tls(secure: Settings, ca_file: Path) -> None:
    config = secure.kafka_config(**{"acks": "all"})
    assert config["security.protocol"] == "sasl_ssl"
    assert config["sasl.mechanisms"] == "SCRAM-SHA-512"
    assert config["sasl.username"] == "bonus"
    assert config["sasl.password"] == PASSWORD
    assert config["ssl.ca.location"] == str(ca_file)
    assert config["partitioner"] == "murmur2_random"
    assert config["acks"] == "all"


def test_plaintext_adds_nothing_but_the_protocol() -> None:
    config = Settings(kafka_bootstrap="a:1").kafka_config()
    assert config["security.protocol"] == "plaintext"
    assert not any(key.startswith(("sasl.", "ssl.")) for key in config)


def test_faust_gets_the_same_credentials(secure: Settings) -> None:
    credentials = broker_credentials(secure)
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.username == "bonus"
    assert credentials.password == PASSWORD
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert credentials.protocol.value == "SASL_SSL"
    assert isinstance(credentials.ssl_context, ssl.SSLContext)
    assert credentials.ssl_context.verify_mode == ssl.CERT_REQUIRED
    assert credentials.ssl_context.check_hostname
    assert PASSWORD not in repr(credentials)


def test_faust_gets_tls_alone_and_plaintext() -> None:
    tls = broker_credentials(Settings(kafka_security_protocol="ssl"))
    assert isinstance(tls, faust.SSLCredentials)
    assert tls.context.verify_mode == ssl.CERT_REQUIRED
    assert broker_credentials(Settings()) is None
    sasl_plain = broker_credentials(
        Settings(
            kafka_security_protocol="SASL_PLAINTEXT",
            kafka_sasl_username="u",
            kafka_sasl_password=PASSWORD,
        )
    )
    assert isinstance(sasl_plain, faust.SASLCredentials)
    assert sasl_plain.protocol.value == "SASL_PLAINTEXT"
    assert sasl_plain.ssl_context is None


def test_a_ca_file_without_a_certificate_is_a_settings_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    with pytest.raises(SettingsError) as caught:
        broker_credentials(Settings(kafka_security_protocol="SSL", kafka_ssl_ca_file=junk))
    assert caught.value.problems[0].startswith("BONUS_KAFKA_SSL_CA_FILE: ")


def test_every_bad_security_combination_is_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BONUS_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("BONUS_KAFKA_SASL_MECHANISM", "PLAIN")
    monkeypatch.setenv("BONUS_KAFKA_SSL_CA_FILE", "/nonexistent/ca.pem")
    monkeypatch.setenv("BONUS_REDIS_SSL_CA_FILE", "/nonexistent/ca.pem")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    problems = caught.value.problems
    assert [p.split(":")[0] for p in problems] == [
        "BONUS_KAFKA_SASL_USERNAME",
        "BONUS_KAFKA_SASL_PASSWORD",
        "BONUS_KAFKA_SASL_MECHANISM",
        "BONUS_KAFKA_SSL_CA_FILE",
        "BONUS_REDIS_SSL_CA_FILE",
    ]
    assert "in clear" in problems[2]
    assert "not TLS" in problems[3]


def test_credentials_without_sasl_are_refused(ca_file: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(kafka_sasl_username="bonus", kafka_sasl_password=PASSWORD)
    assert caught.value.problems == [
        "BONUS_KAFKA_SASL_USERNAME/PASSWORD: set, but PLAINTEXT does not authenticate "
        "(use SASL_SSL)"
    ]
    assert PASSWORD not in str(caught.value)


def test_unknown_protocol_and_mechanism_are_refused() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(kafka_security_protocol="TLS", kafka_sasl_mechanism="SCRAM-SHA-1")
    named = {problem.split(":")[0] for problem in caught.value.problems}
    assert named == {"BONUS_KAFKA_SECURITY_PROTOCOL", "BONUS_KAFKA_SASL_MECHANISM"}


def test_a_refused_redis_url_is_shown_masked() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(redis_url=f"http://bonus:{REDIS_PASSWORD}@r1:6379")
    assert REDIS_PASSWORD not in str(caught.value)
    assert "http://bonus:***@r1:6379" in str(caught.value)


def test_bonus_settings_prints_no_password(
    secure: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in Settings.model_fields:
        value = getattr(secure, name)
        if value is not None:
            secret = getattr(value, "get_secret_value", None)
            monkeypatch.setenv(f"BONUS_{name.upper()}", secret() if secret else str(value))
    assert main(["settings"]) == 0
    out = capsys.readouterr().out
    assert "BONUS_KAFKA_SASL_PASSWORD=***\n" in out
    assert "BONUS_REDIS_URL=rediss://bonus:***@r1:6380/0\n" in out
    assert "BONUS_KAFKA_SASL_USERNAME=bonus\n" in out
    assert PASSWORD not in out
    assert REDIS_PASSWORD not in out


def test_secret_values_include_the_decoded_redis_password() -> None:
    settings = Settings(redis_url="redis://u:p%40ss@r1:6379/0")
    assert set(settings.secret_values()) == {"p%40ss", "p@ss"}


def test_the_log_filter_hides_secrets_in_messages_and_tracebacks(secure: Settings) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(Redact(secure.secret_values()))
    log = logging.getLogger("test.redact")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("connecting with %s", secure.redis_url)
        try:
            raise RuntimeError(f"refused password {PASSWORD}")
        except RuntimeError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
    text = stream.getvalue()
    assert PASSWORD not in text
    assert REDIS_PASSWORD not in text
    assert "rediss://bonus:***@r1:6380/0" in text
    assert "refused password ***" in text


def test_scrub_replaces_the_longest_secret_first() -> None:
    assert scrub("ab abc", ["ab", "abc"]) == "*** ***"
    assert scrub("nothing here", ["", "x-y"]) == "nothing here"


def test_redis_tls_options_only_for_rediss(secure: Settings, ca_file: Path) -> None:
    assert tls_options(secure) == {"ssl_check_hostname": True, "ssl_ca_certs": str(ca_file)}
    assert tls_options(Settings(redis_url="rediss://r1:6380/0")) == {"ssl_check_hostname": True}
    assert tls_options(Settings(redis_url="redis://u:p@r1:6379/0")) == {}


def test_the_worker_logging_config_redacts(
    secure: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        logging.config.dictConfig(logging_config("INFO", None, secure.secret_values()))
        logging.getLogger("test.worker").warning("url %s, %s", secure.redis_url, PASSWORD)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    err = capsys.readouterr().err
    assert "url rediss://bonus:***@r1:6380/0, ***" in err
    assert PASSWORD not in err
