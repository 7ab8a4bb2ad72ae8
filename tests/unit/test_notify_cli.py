"""``bonus notify`` options: what is refused before anything connects."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from streams.notify.channels import LogChannel, WebhookChannel
from streams.notify.cli import build_parser, notify_main, options_from
from streams.settings import Settings


def test_defaults_log_in_utc_without_quiet_hours() -> None:
    options, channel = options_from(build_parser().parse_args([]), Settings(rules_file=None))
    assert isinstance(channel, LogChannel)
    assert options.zone == ZoneInfo("UTC")
    assert options.quiet is None
    assert options.group == "bonus-notify"


def test_the_rules_files_time_zone_is_the_default(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("timezone: Europe/Moscow\nrules: []\n", encoding="utf-8")
    args = build_parser().parse_args(["--quiet-hours", "22:00-08:00"])
    options, _ = options_from(args, Settings(rules_file=rules))
    assert options.zone == ZoneInfo("Europe/Moscow")
    assert options.quiet is not None
    assert options.quiet.zone == ZoneInfo("Europe/Moscow")


def test_webhook_options_and_a_template_file(tmp_path: Path) -> None:
    template = tmp_path / "message.txt"
    template.write_text("Hi {customer_id}\n", encoding="utf-8")
    args = build_parser().parse_args(
        [
            "--channel",
            "webhook",
            "--webhook-url",
            "http://127.0.0.1:9/x",
            "--template-file",
            str(template),
            "--timezone",
            "Asia/Tokyo",
        ]
    )
    options, channel = options_from(args, Settings(rules_file=None))
    assert isinstance(channel, WebhookChannel)
    assert options.template == "Hi {customer_id}"
    assert options.zone == ZoneInfo("Asia/Tokyo")


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["--channel", "webhook"], "needs --webhook-url"),
        (["--channel", "webhook", "--webhook-url", "ftp://x"], "http:// or https://"),
        (["--timezone", "Mars/Olympus"], "not an IANA time zone"),
        (["--quiet-hours", "late-early"], "HH:MM-HH:MM"),
        (["--template", "{nope}"], "unknown field"),
        (["--group", "a{b}"], "without braces"),
    ],
)
def test_bad_options_exit_1_with_one_line(
    argv: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert notify_main(argv) == 1
    assert complaint in capsys.readouterr().err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert notify_main(["--channel", "sms"]) == 2
    assert "invalid choice" in capsys.readouterr().err
