"""The event contract: pydantic models for every payload, the topic catalog, durations.

Import from here: ``from schemas import Purchase, decode_input, Topic, topic_name``.
"""

from schemas.decode import MAX_PAYLOAD_BYTES, OutputEvent, decode_input, decode_output, load_json
from schemas.durations import Duration, DurationError, DurationField
from schemas.encode import cloudevent_headers, to_json_bytes
from schemas.errors import BonusError, ErrorCode, FieldProblem, InvalidEvent
from schemas.inputs import (
    AppInstall,
    CampaignLaunch,
    InputEvent,
    Purchase,
    PurchaseItem,
    RedemptionRequest,
    Refund,
)
from schemas.outputs import (
    DEAD_LETTER_PAYLOAD_LIMIT,
    BalanceSnapshot,
    BonusAccrued,
    BonusBurned,
    BonusClawedBack,
    DeadLetter,
    ErrorInfo,
    ExpiryWarning,
    LotPoints,
    MetricsWindow,
    NextExpiry,
    RedemptionResult,
    WarnedLot,
    payload_text,
)
from schemas.times import Timestamp, format_time, parse_time
from schemas.topics import (
    CATALOG,
    CUSTOMER_TOPICS,
    DEFAULT_TOPIC_PREFIX,
    INPUT_TOPICS,
    OUTPUT_TOPICS,
    TOPIC_BY_TYPE,
    Topic,
    TopicSpec,
    topic_for_type,
    topic_name,
)

__all__ = [
    "CATALOG",
    "CUSTOMER_TOPICS",
    "DEAD_LETTER_PAYLOAD_LIMIT",
    "DEFAULT_TOPIC_PREFIX",
    "INPUT_TOPICS",
    "MAX_PAYLOAD_BYTES",
    "OUTPUT_TOPICS",
    "TOPIC_BY_TYPE",
    "AppInstall",
    "BalanceSnapshot",
    "BonusAccrued",
    "BonusBurned",
    "BonusClawedBack",
    "BonusError",
    "CampaignLaunch",
    "DeadLetter",
    "Duration",
    "DurationError",
    "DurationField",
    "ErrorCode",
    "ErrorInfo",
    "ExpiryWarning",
    "FieldProblem",
    "InputEvent",
    "InvalidEvent",
    "LotPoints",
    "MetricsWindow",
    "NextExpiry",
    "OutputEvent",
    "Purchase",
    "PurchaseItem",
    "RedemptionRequest",
    "RedemptionResult",
    "Refund",
    "Timestamp",
    "Topic",
    "TopicSpec",
    "WarnedLot",
    "cloudevent_headers",
    "decode_input",
    "decode_output",
    "format_time",
    "load_json",
    "parse_time",
    "payload_text",
    "to_json_bytes",
    "topic_for_type",
    "topic_name",
]
