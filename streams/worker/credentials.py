"""The faust worker's broker credentials, from the same settings as every librdkafka client.

faust's consumer and producer are aiokafka, not librdkafka, so ``Settings.kafka_config`` does not
reach them: they get a ``faust.SASLCredentials`` (SASL, with a TLS context for SASL_SSL) or
``faust.SSLCredentials`` (TLS only) instead, built here.
"""

from __future__ import annotations

import ssl

import faust
from faust.types.auth import CredentialsT

from streams.settings import Settings, SettingsError


def tls_context(settings: Settings) -> ssl.SSLContext:
    """A client TLS context that verifies the broker (against the CA file when one is set)."""
    cafile = str(settings.kafka_ssl_ca_file) if settings.kafka_ssl_ca_file else None
    try:
        return ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    except ssl.SSLError as error:
        raise SettingsError(
            [f"BONUS_KAFKA_SSL_CA_FILE: {cafile} holds no PEM certificate ({error.reason})"]
        ) from None


def broker_credentials(settings: Settings) -> CredentialsT | None:
    """faust's ``broker_credentials`` for ``settings`` (None: PLAINTEXT)."""
    context = tls_context(settings) if settings.kafka_uses_tls else None
    if settings.kafka_uses_sasl:
        password = settings.kafka_sasl_password
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=password.get_secret_value() if password else None,
            ssl_context=context,
            mechanism=settings.kafka_sasl_mechanism,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None
