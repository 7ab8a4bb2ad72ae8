"""``bonus campaign`` and ``bonus segment``: launch a campaign and see how many it reaches.

bonus campaign launch --segment S --points N --valid-for P7D [--warn-before P2D ...]
    publish a CampaignLaunch (``--expires-at`` instead of ``--valid-for``; ``--campaign-id`` and
    ``--event-id`` are generated unless given), then wait until every shard has granted it and
    print how many customers it reached (``--no-wait``: publish only; ``--timeout`` seconds).
bonus campaign status ID
    what the registry says of a campaign: shards done, lots granted.
bonus segment count S [--rules FILE]
    how many known customers are in segment S now (nothing is granted).

Exit codes: 0 done, 1 not done (timeout, a conflicting campaign, Kafka or Redis failed),
2 bad arguments or an invalid launch.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from confluent_kafka.admin import AdminClient

from schemas import CampaignLaunch, InvalidEvent, Topic, topic_name
from streams.client import BonusProducer, validate_input
from streams.clock import clock_from_settings
from streams.ledger import Ledger
from streams.ledger.campaigns import Registered, read_registry_of, terms_digest
from streams.redis_clients import async_redis
from streams.rules.errors import RulesError
from streams.rules.loader import load_rules
from streams.rules.model import RulesFile
from streams.settings import Settings, load_settings

POLL_SECONDS = 0.2
SOURCE = "urn:bonus:cli:campaign"


def campaign_main(argv: Sequence[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """``bonus campaign ...``; returns the exit code."""
    parser = _campaign_parser()
    args = parser.parse_args(list(argv))
    settings = load_settings()
    if args.command == "status":
        found = asyncio.run(_registry(settings, args.campaign_id))
        if found is None:
            err.write(f"campaign {args.campaign_id} was never launched\n")
            return 1
        out.write(_describe(args.campaign_id, found) + "\n")
        return 0
    return _launch(args, settings, out, err)


def segment_main(argv: Sequence[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """``bonus segment count S``; returns the exit code."""
    parser = argparse.ArgumentParser(prog="bonus segment", description="segments of the rules")
    commands = parser.add_subparsers(dest="command", required=True)
    count = commands.add_parser("count", help="how many known customers are in a segment now")
    count.add_argument("segment")
    count.add_argument("--rules", type=Path, help="rules file (default: BONUS_RULES_FILE)")
    args = parser.parse_args(list(argv))
    settings = load_settings()
    rules = _rules(args.rules or settings.rules_file, err)
    if rules is None:
        return 2
    if args.segment not in rules.segments:
        known = ", ".join(sorted(rules.segments)) or "none"
        err.write(f"segment {args.segment!r} is not in the rules file (segments: {known})\n")
        return 2
    matching, known_customers = asyncio.run(
        _count(settings, rules, args.segment, _partitions(settings))
    )
    out.write(f"{matching} customers in segment {args.segment} ({known_customers} known)\n")
    return 0


def _campaign_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bonus campaign", description="campaign launches")
    commands = parser.add_subparsers(dest="command", required=True)
    launch = commands.add_parser("launch", help="grant a lot to every customer of a segment")
    launch.add_argument("--segment", required=True)
    launch.add_argument("--points", type=int, required=True)
    deadline = launch.add_mutually_exclusive_group(required=True)
    deadline.add_argument("--valid-for", help="ISO 8601 duration, e.g. P7D")
    deadline.add_argument("--expires-at", help="RFC 3339 time with offset")
    launch.add_argument("--warn-before", nargs="+", default=[], help="leads, e.g. P2D PT12H")
    launch.add_argument("--campaign-id", help="default: generated")
    launch.add_argument("--event-id", help="default: generated")
    launch.add_argument("--wait", action=argparse.BooleanOptionalAction, default=True)
    launch.add_argument("--timeout", type=float, default=300.0, help="seconds to wait")
    launch.add_argument("--rules", type=Path, help="check the segment against this rules file")
    status = commands.add_parser("status", help="shards done and lots granted of a campaign")
    status.add_argument("campaign_id")
    return parser


def _launch(args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO) -> int:
    launch = _prepare(args, settings, err)
    if isinstance(launch, int):
        return launch
    with BonusProducer(settings, client_id="bonus-campaign-cli", source=SOURCE) as producer:
        producer.send(launch)
        producer.flush()
    if producer.stats.total_failed:
        err.write("Kafka did not confirm the launch; nothing was published\n")
        return 1
    out.write(
        f"published campaign {launch.campaign_id} (event {launch.event_id}) for segment "
        f"{launch.segment}\n"
    )
    if not args.wait:
        return 0
    done = asyncio.run(_wait(settings, launch.campaign_id, args.timeout))
    if done is None or not done.complete:
        progress = "not recorded yet" if done is None else _describe(launch.campaign_id, done)
        err.write(f"timed out after {args.timeout:g} s: {progress}\n")
        return 1
    out.write(_describe(launch.campaign_id, done) + "\n")
    return 0


def _prepare(args: argparse.Namespace, settings: Settings, err: TextIO) -> CampaignLaunch | int:
    """The launch to publish, or the exit code of what is wrong with it."""
    rules_path = args.rules or settings.rules_file
    if rules_path is not None:
        rules = _rules(rules_path, err)
        if rules is None:
            return 2
        if args.segment not in rules.segments:
            err.write(f"segment {args.segment!r} is not in the rules file {rules_path}\n")
            return 2
    payload: dict[str, Any] = {
        "event_id": args.event_id or f"launch-{uuid.uuid4().hex}",
        "occurred_at": clock_from_settings(settings).now().isoformat(),
        "campaign_id": args.campaign_id or f"campaign-{uuid.uuid4().hex[:12]}",
        "segment": args.segment,
        "points": args.points,
        "warn_before": args.warn_before,
    }
    payload |= {"valid_for": args.valid_for} if args.valid_for else {"expires_at": args.expires_at}
    try:
        launch = validate_input(payload, Topic.CAMPAIGNS)
    except InvalidEvent as error:
        err.write(f"invalid launch: {error.message}\n")
        return 2
    assert isinstance(launch, CampaignLaunch)  # noqa: S101 - the campaigns topic's model
    before = asyncio.run(_registry(settings, launch.campaign_id))
    if before is not None and terms_digest(before.launch) != terms_digest(launch):
        err.write(
            f"campaign {launch.campaign_id} was launched before with other terms "
            f"(event {before.launch.event_id}); choose another --campaign-id\n"
        )
        return 1
    return launch


def _describe(campaign_id: str, found: Registered) -> str:
    if found.complete:
        return (
            f"campaign {campaign_id} reached {found.granted} customers of segment "
            f"{found.launch.segment} ({found.scanned} known at launch, {found.shards} shards)"
        )
    return (
        f"campaign {campaign_id}: {len(found.done)} of {found.shards} shards done, "
        f"{found.granted} customers reached so far"
    )


def _rules(path: Path | None, err: TextIO) -> RulesFile | None:
    if path is None:
        err.write("no rules file: set BONUS_RULES_FILE or give --rules\n")
        return None
    try:
        return load_rules(path)
    except RulesError as error:
        err.write("".join(f"{error.source}: {problem}\n" for problem in error.problems))
        return None


def _partitions(settings: Settings, timeout: float = 15.0) -> int:
    """The shard count: the partitions of the customer topics (those of purchases)."""
    name = topic_name(settings.topic_prefix, Topic.PURCHASES)
    metadata = AdminClient(settings.kafka_config()).list_topics(name, timeout=timeout)
    topic = metadata.topics.get(name)
    if topic is None or topic.error is not None or not topic.partitions:
        raise SystemExit(f"topic {name} is missing (run: bonus topics create)")
    return len(topic.partitions)


async def _registry(settings: Settings, campaign_id: str) -> Registered | None:
    client = async_redis(settings)
    try:
        return await read_registry_of(client, settings.redis_key_prefix, campaign_id)
    finally:
        await client.aclose()


async def _wait(settings: Settings, campaign_id: str, seconds: float) -> Registered | None:
    """Poll the registry until every shard is done or ``seconds`` (real time) have passed."""
    client = async_redis(settings)
    # Monotonic time measures the wait; it is not a "now" of the service.
    deadline = time.monotonic() + seconds
    found: Registered | None = None
    try:
        while time.monotonic() < deadline:
            found = await read_registry_of(client, settings.redis_key_prefix, campaign_id)
            if found is not None and found.complete:
                return found
            await asyncio.sleep(POLL_SECONDS)
        return found
    finally:
        await client.aclose()


async def _count(
    settings: Settings, rules: RulesFile, segment: str, partitions: int
) -> tuple[int, int]:
    client = async_redis(settings)
    ledger = Ledger(client, prefix=settings.redis_key_prefix, partitions=partitions, rules=rules)
    try:
        return await ledger.count_segment(segment, clock_from_settings(settings).now())
    finally:
        await client.aclose()
