"""The terminal view of the demo: one status line refreshed in place, and a final summary.

On a terminal the line is rewritten with a carriage return about once a second; elsewhere (a
log file, CI) a new line is written every few seconds so that the output stays readable.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TextIO

from schemas import INPUT_TOPICS, OUTPUT_TOPICS, Topic, topic_name
from streams.demo.tally import Tally


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the status line shows."""

    simulated_now: datetime
    published: int
    planned: int
    tally: Tally
    lag: int | None


def _n(value: int) -> str:
    # Thin spaces would be nicer, but plain spaces survive every terminal and log viewer.
    return f"{value:,}".replace(",", " ")


def status_line(snapshot: Snapshot, tz: tzinfo) -> str:
    """The one-line status: simulated date, events in, points, warnings, DLQ, lag."""
    t = snapshot.tally
    local = snapshot.simulated_now.astimezone(tz)
    lag = "?" if snapshot.lag is None else _n(snapshot.lag)
    return (
        f"{local:%Y-%m-%d %H:%M} {local.tzname()} | in {_n(snapshot.published)}"
        f"/{_n(snapshot.planned)} | accrued {_n(t.accrued)} | redeemed {_n(t.redeemed)}"
        f" ({t.rejected} rejected) | burned {_n(t.burned)} | clawed back {_n(t.clawed_back)}"
        f" | warnings {_n(t.warnings)} | DLQ {t.dead_letters} | lag {lag}"
    )


class LiveView:
    """Writes status lines to ``stream``: in place on a terminal, every few seconds otherwise."""

    def __init__(self, stream: TextIO, tz: tzinfo, *, every_lines: int = 5) -> None:
        self._stream = stream
        self._tz = tz
        self._tty = stream.isatty()
        self._every = every_lines
        self._calls = 0
        self._open_line = False

    def show(self, snapshot: Snapshot) -> None:
        """Show ``snapshot`` (call about once a second)."""
        self._calls += 1
        line = status_line(snapshot, self._tz)
        if self._tty:
            # \r back to the start, then erase what a longer previous line left behind.
            self._stream.write("\r" + line + "\x1b[K")
            self._open_line = True
        elif self._calls % self._every == 1 or self._every == 1:
            self._stream.write(line + "\n")
        self._stream.flush()

    def note(self, text: str) -> None:
        """A message on its own line, without breaking the live line."""
        self.end_line()
        self._stream.write(text + "\n")
        self._stream.flush()

    def end_line(self) -> None:
        """Finish the live line so that what follows starts on a new one."""
        if self._open_line:
            self._stream.write("\n")
            self._open_line = False


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What the summary needs beside the totals."""

    started: datetime
    ended: datetime
    customers: int
    published: int
    bad: int
    repeats: int
    failed: int
    drained: bool
    interrupted: bool
    web_port: int
    topic_prefix: str
    example_customer: str | None = None  # shown when no balance has been seen yet


def summary(facts: RunFacts, tally: Tally, lag: int | None, tz: tzinfo) -> list[str]:
    """The final report: totals, then where to look."""
    start, end = facts.started.astimezone(tz), facts.ended.astimezone(tz)
    how = "interrupted" if facts.interrupted else "finished"
    lines = [
        f"Demo {how}: {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} {end.tzname()} simulated, "
        f"{_n(facts.customers)} guests, {_n(facts.published)} events published "
        f"({facts.bad} deliberately bad, {facts.repeats} exact repeats"
        + (f", {facts.failed} NOT delivered" if facts.failed else "")
        + ").",
        f"  points accrued      {_n(tally.accrued):>10} in {_n(tally.accrued_lots)} lots",
        f"  points redeemed     {_n(tally.redeemed):>10} ({tally.accepted} accepted, "
        f"{tally.rejected} rejected)",
        f"  points burned       {_n(tally.burned):>10} from {_n(tally.burned_lots)} lots",
        f"  points clawed back  {_n(tally.clawed_back):>10} "
        f"({_n(tally.unrecovered)} already spent)",
        f"  expiry warnings     {_n(tally.warnings):>10} ({_n(tally.warned_points)} points warned)",
        f"  dead letters        {_n(tally.dead_letters):>10}"
        + _codes(sorted(tally.dead_letter_codes.items())),
        f"  input lag           {'unknown' if lag is None else _n(lag):>10}"
        + ("" if facts.drained else "  (the workers had not caught up when the demo stopped)"),
    ]
    if tally.accrued_by_rule:
        by_rule = ", ".join(
            f"{rule} {_n(points)}" for rule, points in sorted(tally.accrued_by_rule.items())
        )
        lines += textwrap.wrap(
            by_rule, width=100, initial_indent="  accrued by rule: ", subsequent_indent=" " * 4
        )
    lines += where_to_look(facts, tally)
    return lines


def where_to_look(facts: RunFacts, tally: Tally) -> list[str]:
    """URLs and topic names to explore after the demo."""
    base = f"http://127.0.0.1:{facts.web_port}"
    lines = ["Where to look:", f"  metrics:  {base}/metrics"]
    richest = tally.richest()
    if richest is not None:
        lines.append(
            f"  a guest:  {base}/customers/{richest.customer_id}  "
            f"({_n(richest.balance)} points active, {_n(richest.pending)} pending)"
        )
    elif facts.example_customer is not None:
        lines.append(f"  a guest:  {base}/customers/{facts.example_customer}")
    lines.append("  inputs:   " + _topics(facts.topic_prefix, INPUT_TOPICS))
    lines.append("  outputs:  " + _topics(facts.topic_prefix, OUTPUT_TOPICS))
    return lines


def _topics(prefix: str, topics: Sequence[Topic]) -> str:
    return ", ".join(topic_name(prefix, t) for t in topics)


def _codes(codes: Sequence[tuple[str, int]]) -> str:
    return " (" + ", ".join(f"{code} {count}" for code, count in codes) + ")" if codes else ""
