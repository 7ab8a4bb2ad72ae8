"""Which failures are the input's own (isolated and dead-lettered after a few attempts) and
which are the infrastructure's (retried until they pass)."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaException
from redis.exceptions import BusyLoadingError, ConnectionError, ResponseError, TimeoutError

from streams.ledger.errors import ScriptError, StaleVersionError
from streams.runtime.failures import deterministic
from streams.runtime.producer import DeliveryError


@pytest.mark.parametrize(
    "error",
    [
        ResponseError("ledger: unknown name code zz script: 1f0e, on @user_script:121."),
        ResponseError("ERR user_script:40: attempt to index a nil value script: 1f0e"),
        ScriptError("ledger: clawback target out of range script: 1f0e, on @user_script:88."),
        KeyError("lots"),
        ValueError("invalid literal for int()"),
    ],
)
def test_the_same_input_fails_the_same_way(error: Exception) -> None:
    assert deterministic(error)


@pytest.mark.parametrize(
    "error",
    [
        ConnectionError("Connection refused"),
        TimeoutError("Timeout reading from socket"),
        BusyLoadingError("LOADING Redis is loading the dataset in memory"),
        ResponseError("BUSY Redis is busy running a script."),
        ResponseError("OOM command not allowed when used memory > 'maxmemory'."),
        ResponseError("ledger: failpoint lua.before_write script: 1f0e, on @user_script:300."),
        ScriptError("ledger: failpoint lua.before_write script: 1f0e, on @user_script:300."),
        ScriptError(
            "OOM command not allowed when used memory > 'maxmemory'. script: 1f0e, on "
            "@user_script:412."
        ),
        ScriptError("BUSY Redis is busy running a script. You can only call SCRIPT KILL"),
        StaleVersionError("the customer kept changing over 5 attempts"),
        ScriptError(
            "NOPERM this user has no permissions to access one of the keys used as "
            "arguments script: 1f0e, on @user_script:97."
        ),
        KafkaException("Local: Broker transport failure"),
        DeliveryError("message timed out"),
        OSError("network is unreachable"),
    ],
)
def test_the_infrastructure_passes(error: Exception) -> None:
    assert not deterministic(error)
