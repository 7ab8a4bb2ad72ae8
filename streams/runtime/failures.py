"""Which failures are an input's own and which are the infrastructure's.

A worker retries until a failure passes: moving on would skip an event. That is right for Redis
or Kafka being away, and wrong for a failure the same input meets every time (a corrupt customer
record, a bug): it would hold its partition, or its shard's timers, forever. Those are isolated
(the input dead-lettered, the customer's timer deferred); everything else is retried.
"""

from __future__ import annotations

from confluent_kafka import KafkaException
from redis.exceptions import RedisError, ResponseError

from streams.ledger.errors import ScriptError, StaleVersionError
from streams.runtime.producer import DeliveryError

# Replies of a Redis that is unwell or refuses this client (ACL), not of a bad request; also
# inside a script's error text ("... script: <sha>, on @user_script:12."). The fault suite's
# injected script failure is a crash, not a property of the input.
_TRANSIENT = (
    "BUSY",
    "OOM",
    "READONLY",
    "LOADING",
    "MASTERDOWN",
    "TRYAGAIN",
    "CLUSTERDOWN",
    "NOREPLICAS",
    "MOVED",
    "ASK ",
    "NOPERM",
    "NOAUTH",
    "WRONGPASS",
    "failpoint",
)


def deterministic(error: Exception) -> bool:
    """Whether ``error`` will come back however often the same input is retried.

    A ledger script's own check (``ledger: ...``) or a Lua runtime error depends only on the
    input and the customer's record; a Python exception that is neither Redis' nor Kafka's nor
    the network's is a bug met by this input. Everything else (connections, timeouts, ``BUSY``,
    ``OOM``, a read-only replica, Kafka deliveries, a customer whose version kept moving) is
    the infrastructure or contention and passes by itself.
    """
    if isinstance(error, ResponseError | ScriptError):
        text = str(error)
        if any(marker in text for marker in _TRANSIENT):
            return False
        return "ledger:" in text or "user_script" in text
    transient = (RedisError, KafkaException, DeliveryError, StaleVersionError, OSError)
    return not isinstance(error, transient)
