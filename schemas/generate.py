"""Generate the contract's machine-readable forms: JSON Schema per payload, one AsyncAPI file.

``python -m schemas.generate`` rewrites ``schemas/generated/``; ``--check`` changes nothing,
names every stale file and exits 1, so CI and a unit test catch a model edited without
regenerating. Output is deterministic: sorted keys, no timestamps.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import BaseModel

from schemas.topics import CATALOG, DEFAULT_TOPIC_PREFIX, TopicSpec, topic_name

GENERATED_DIR: Final = Path(__file__).parent / "generated"
ASYNCAPI_FILE: Final = "asyncapi.yaml"
_KAFKA_BINDING: Final = "0.5.0"
_SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"


def schema_file(model: type[BaseModel]) -> str:
    """The file name of ``model``'s JSON Schema."""
    return f"{model.__name__}.schema.json"


def json_schema(model: type[BaseModel], direction: str) -> dict[str, Any]:
    """``model``'s JSON Schema: what we accept for inputs, what we write for outputs."""
    schema = model.model_json_schema(mode="validation" if direction == "in" else "serialization")
    return {"$schema": _SCHEMA_DIALECT, "$id": schema_file(model), **schema}


def _summary(model: type[BaseModel]) -> str:
    return (model.__doc__ or model.__name__).strip().splitlines()[0]


def _headers(model: type[BaseModel], direction: str) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "ce_specversion": {"type": "string", "const": "1.0"},
        "ce_id": {"type": "string", "description": "the payload's event_id"},
        "ce_type": {"type": "string", "description": "the payload's type"},
        "ce_source": {"type": "string", "description": "the producing system"},
        "ce_time": {"type": "string", "format": "date-time"},
        "content-type": {"type": "string", "const": "application/json"},
    }
    headers: dict[str, Any] = {"type": "object", "properties": properties}
    if direction == "out":
        properties["ce_type"]["const"] = model.model_fields["type"].default
        headers["required"] = sorted(properties)
    else:
        headers["description"] = "optional; the payload alone is authoritative"
    return headers


def _message(model: type[BaseModel], spec: TopicSpec) -> dict[str, Any]:
    return {
        "name": model.__name__,
        "title": model.__name__,
        "summary": _summary(model),
        "contentType": "application/json",
        "headers": _headers(model, spec.direction),
        "payload": {"$ref": f"./{schema_file(model)}"},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": spec.key_description},
                "bindingVersion": _KAFKA_BINDING,
            }
        },
    }


def _channel(spec: TopicSpec) -> dict[str, Any]:
    config: dict[str, Any] = {"cleanup.policy": [spec.cleanup_policy]}
    if spec.retention_ms is not None:
        config["retention.ms"] = spec.retention_ms
    note = " Co-partitioned with the other customer topics." if spec.co_partitioned else ""
    return {
        "address": topic_name(DEFAULT_TOPIC_PREFIX, spec.topic),
        "title": spec.suffix,
        "description": f"{spec.description} Key: {spec.key}.{note}",
        "messages": {
            m.__name__: {"$ref": f"#/components/messages/{m.__name__}"} for m in spec.models
        },
        "bindings": {
            "kafka": {
                "topic": topic_name(DEFAULT_TOPIC_PREFIX, spec.topic),
                "topicConfiguration": config,
                "bindingVersion": _KAFKA_BINDING,
            }
        },
    }


def asyncapi() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every topic, from the bonus service's point of view."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for spec in CATALOG.values():
        channels[spec.suffix] = _channel(spec)
        action = "receive" if spec.direction == "in" else "send"
        operations[f"{action}-{spec.suffix}"] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{spec.suffix}"},
            "messages": [
                {"$ref": f"#/channels/{spec.suffix}/messages/{m.__name__}"} for m in spec.models
            ],
        }
        for model in spec.models:
            messages[model.__name__] = _message(model, spec)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Bonus streams",
            "version": "1.0.0",
            "description": "Time-limited loyalty bonuses: event contract v1. Topic names use "
            "the default prefix 'bonus.' (BONUS_TOPIC_PREFIX).",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def render() -> dict[str, str]:
    """Every generated file's name and exact text."""
    files: dict[str, str] = {}
    for spec in CATALOG.values():
        for model in spec.models:
            schema = json_schema(model, spec.direction)
            files[schema_file(model)] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    files[ASYNCAPI_FILE] = yaml.safe_dump(
        asyncapi(), sort_keys=True, allow_unicode=True, default_flow_style=False, width=100
    )
    return files


def stale_files(directory: Path = GENERATED_DIR) -> list[str]:
    """Names of files in ``directory`` that are missing, different or no longer generated."""
    expected = render()
    stale = [
        name
        for name, text in expected.items()
        if not (directory / name).is_file() or (directory / name).read_text("utf-8") != text
    ]
    present = {p.name for p in directory.glob("*.schema.json")} | (
        {ASYNCAPI_FILE} if (directory / ASYNCAPI_FILE).exists() else set()
    )
    stale.extend(sorted(present - expected.keys()))
    return sorted(stale)


def write(directory: Path = GENERATED_DIR) -> list[str]:
    """Bring ``directory`` up to date; return the names of files written or removed."""
    changed = stale_files(directory)
    expected = render()
    directory.mkdir(parents=True, exist_ok=True)
    for name in changed:
        path = directory / name
        if name in expected:
            path.write_text(expected[name], encoding="utf-8")
        else:
            path.unlink()
    return changed


def main(argv: list[str] | None = None) -> int:
    """The CLI: write the generated files, or with ``--check`` report stale ones (exit 1)."""
    parser = argparse.ArgumentParser(prog="python -m schemas.generate", description=__doc__)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    parser.add_argument("--dir", type=Path, default=GENERATED_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files(args.dir)
        for name in stale:
            sys.stdout.write(f"stale: {args.dir / name}\n")
        if stale:
            sys.stdout.write("run: python -m schemas.generate\n")
        return 1 if stale else 0
    for name in write(args.dir):
        sys.stdout.write(f"wrote: {args.dir / name}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
