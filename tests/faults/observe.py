"""What the output topics say happened, compared with the reference model.

An effect observed under two different event ids happened twice (a duplicated effect); one
event id seen twice is a duplicate MESSAGE, which at-least-once delivery allows as long as the
payload is identical. An expected effect that never shows, or shows with other values, is lost.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from schemas import Topic
from tests.e2e.harness import Output
from tests.faults.model import Effect, Model, canonical, parse_time
from tests.faults.workload import Sent

DETAIL = 10  # examples kept in the report per kind of problem


@dataclass
class Comparison:
    """Expected against observed effects of one scenario."""

    expected: dict[str, int] = field(default_factory=dict)
    observed: dict[str, int] = field(default_factory=dict)
    lost: int = 0
    wrong: int = 0
    duplicated: int = 0
    unexpected: int = 0
    duplicate_messages: int = 0
    duplicates_identical: bool = True
    duplicates_differing: int = 0
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def note(self, problem: str, text: str) -> None:
        """Keep a few examples of a problem for the report."""
        if len(self.examples[problem]) < DETAIL:
            self.examples[problem].append(text)


def observed_effects(messages: list[Output]) -> dict[Effect, dict[str, Any]]:
    """Effect -> {event id: value} from the customer output topics."""
    sources = {
        m.value["lot_id"]: m.value["source_event_id"]
        for m in messages
        if m.topic == Topic.ACCRUALS and m.value.get("type") == "bonus.accrued"
    }
    found: dict[Effect, dict[str, Any]] = defaultdict(dict)
    for m in messages:
        v, eid = m.value, str(m.value.get("event_id"))
        kind = v.get("type")
        if kind == "bonus.accrued":
            value = {"points": v["points"], "expires_at": parse_time(v["expires_at"])}
            found[("accrued", v["source_event_id"])][eid] = value
        elif kind == "bonus.redemption":
            lots = {sources.get(lot["lot_id"], lot["lot_id"]): lot["points"] for lot in v["lots"]}
            found[("redemption", v["request_event_id"])][eid] = {
                "status": v["status"],
                "points": v["points_redeemed"],
                "lots": lots,
                "balance_after": v["balance_after"],
            }
        elif kind == "bonus.clawed_back":
            source = sources.get(v["lot_id"], v["lot_id"])
            found[("clawed_back", f"{v['source_event_id']}/{source}")][eid] = {
                "points": v["points"],
                "unrecovered": v["points_unrecovered"],
            }
        elif kind == "bonus.expiry_warning":
            for lot in v["lots"]:
                source = sources.get(lot["lot_id"], lot["lot_id"])
                found[("warning", f"{source}/{v['lead']}")][eid] = {"points": lot["points"]}
        elif kind == "bonus.burned":
            source = sources.get(v["lot_id"], v["lot_id"])
            found[("burned", source)][eid] = {
                "points": v["points"],
                "expired_at": parse_time(v["expired_at"]),
            }
    return found


def compare(model: Model, messages: list[Output]) -> Comparison:
    """Count lost, wrong, duplicated and unexpected effects and duplicate messages."""
    result = Comparison()
    found = observed_effects(messages)
    for kind, _ in model.effects:
        result.expected[kind] = result.expected.get(kind, 0) + 1
    for (kind, about), by_id in found.items():
        result.observed[kind] = result.observed.get(kind, 0) + 1
        if len(by_id) > 1:
            result.duplicated += 1
            result.note("duplicated", f"{kind} {about}: event ids {sorted(by_id)}")
        if (kind, about) not in model.effects:
            result.unexpected += 1
            result.note("unexpected", f"{kind} {about}: {canonical(list(by_id.values()))}")
    for (kind, about), want in model.effects.items():
        got = found.get((kind, about))
        if not got:
            result.lost += 1
            result.note("lost", f"{kind} {about}: expected {canonical(want)}")
        elif any(canonical(value) != canonical(want) for value in got.values()):
            result.wrong += 1
            result.note(
                "wrong", f"{kind} {about}: expected {canonical(want)}, got {canonical(got)}"
            )
    by_event: dict[str, list[Output]] = defaultdict(list)
    for m in messages:
        by_event[str(m.value.get("event_id"))].append(m)
    for event_id, copies in by_event.items():
        if len(copies) < 2:
            continue
        result.duplicate_messages += len(copies) - 1
        payloads = {json.dumps(c.value, sort_keys=True) for c in copies}
        if len(payloads) > 1:
            result.duplicates_identical = False
            result.duplicates_differing += 1
            result.note(
                "differing duplicates", f"{event_id} on {copies[0].topic}: {sorted(payloads)[:2]}"
            )
    return result


@dataclass
class DeadLetters:
    """Bad inputs against the dead-letter topic."""

    bad: int = 0
    found: int = 0
    missing: int = 0
    wrong_reason: int = 0
    unexpected: int = 0
    codes: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)


def dead_letters(sent: list[tuple[Sent, str, int, int]], messages: list[Output]) -> DeadLetters:
    """Every bad message (topic name, partition, offset) must have a dead letter with a reason
    of its category; no good message may have one."""
    letters = {
        (m.value["source_topic"], m.value["partition"], m.value["offset"]): m.value
        for m in messages
        if m.topic == Topic.DLQ
    }
    report = DeadLetters()
    for message, topic, partition, offset in sent:
        letter = letters.get((topic, partition, offset))
        if not message.bad:
            if letter is not None:
                report.unexpected += 1
                report.examples.append(f"good {topic}@{offset} dead-lettered: {letter['error']}")
            continue
        report.bad += 1
        if letter is None:
            report.missing += 1
            if len(report.examples) < DETAIL:
                report.examples.append(f"{message.kind} {topic}@{offset}: no dead letter")
            continue
        report.found += 1
        code = str(letter["error"]["code"])
        report.codes[code] = report.codes.get(code, 0) + 1
        if not letter["error"].get("message") or not _reason_fits(message.kind, code):
            report.wrong_reason += 1
            if len(report.examples) < DETAIL:
                report.examples.append(f"{message.kind} {topic}@{offset}: code {code}")
    report.codes = dict(sorted(report.codes.items()))
    return report


def _reason_fits(kind: str, code: str) -> bool:
    if kind in ("not_utf8", "not_json", "not_an_object", "duplicate_conflict"):
        return code == kind
    return code not in ("not_utf8", "not_json", "not_an_object", "duplicate_conflict")
