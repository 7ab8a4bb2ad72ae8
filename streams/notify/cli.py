"""``bonus notify``: run the reference notification consumer.

    bonus notify --channel log
    bonus notify --channel webhook --webhook-url https://sms.example/send \\
        --quiet-hours 22:00-08:00 --timezone Europe/Moscow

Settings come from the ``BONUS_*`` variables (topic prefix, Redis, clock); the time zone of the
messages and of the quiet hours defaults to the rules file's, else UTC.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from schemas.errors import BonusError
from streams.clock import clock_from_settings
from streams.notify.channels import Channel, LogChannel, WebhookChannel
from streams.notify.quiet import QuietHours
from streams.notify.service import Notifier, NotifyOptions
from streams.notify.template import DEFAULT_TEMPLATE
from streams.runtime.logging import configure_logging
from streams.settings import Settings, SettingsError, load_settings


def build_parser(prog: str = "bonus notify") -> argparse.ArgumentParser:
    """The options of ``bonus notify``."""
    parser = argparse.ArgumentParser(
        prog=prog, description="Turn expiry warnings into customer messages, once each."
    )
    parser.add_argument("--channel", choices=("log", "webhook"), default="log")
    parser.add_argument("--group", default="bonus-notify", help="consumer group (and dedupe scope)")
    text = parser.add_mutually_exclusive_group()
    shown = DEFAULT_TEMPLATE.replace("%", "%%")  # argparse %-formats help texts
    text.add_argument("--template", help=f"message template (default: {shown!r})")
    text.add_argument("--template-file", type=Path, help="read the template from a file")
    parser.add_argument("--timezone", help="customers' time zone (default: rules file's, or UTC)")
    parser.add_argument("--quiet-hours", help="HH:MM-HH:MM in that time zone, e.g. 22:00-08:00")
    parser.add_argument("--webhook-url", help="where the webhook channel POSTs")
    parser.add_argument("--webhook-timeout", type=float, default=5.0, help="seconds per request")
    parser.add_argument("--webhook-attempts", type=int, default=3, help="tries per message")
    parser.add_argument("--retry-pause", type=float, default=5.0, help="seconds before a retry")
    return parser


def options_from(args: argparse.Namespace, settings: Settings) -> tuple[NotifyOptions, Channel]:
    """Options and channel from parsed arguments; ValueError says what is wrong."""
    zone = _zone(args.timezone, settings)
    template = DEFAULT_TEMPLATE
    if args.template is not None:
        template = args.template
    elif args.template_file is not None:
        template = args.template_file.read_text(encoding="utf-8").rstrip("\n")
    quiet = QuietHours.parse(args.quiet_hours, zone) if args.quiet_hours else None
    channel: Channel
    if args.channel == "webhook":
        if not args.webhook_url:
            raise ValueError("--channel webhook needs --webhook-url")
        channel = WebhookChannel(
            args.webhook_url, timeout=args.webhook_timeout, attempts=args.webhook_attempts
        )
    else:
        channel = LogChannel()
    options = NotifyOptions(
        group=args.group, template=template, zone=zone, quiet=quiet, retry_pause=args.retry_pause
    )
    return options, channel


def _zone(name: str | None, settings: Settings) -> ZoneInfo:
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"--timezone {name!r} is not an IANA time zone") from None
    if settings.rules_file is not None:
        from streams.rules.loader import load_rules  # noqa: PLC0415 - only when there is a file

        return load_rules(settings.rules_file).timezone
    return ZoneInfo("UTC")


def notify_main(argv: Sequence[str] | None = None) -> int:
    """Run the notifier until SIGINT/SIGTERM; 0 on a clean stop, 1 on bad settings, 2 on usage."""
    started = time.time()
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    try:
        settings = load_settings()
        options, channel = options_from(args, settings)
        notifier = Notifier(settings, options, channel, clock_from_settings(settings, started))
    except SettingsError as error:
        sys.stderr.write(f"{error}\n")
        return 1
    except (BonusError, ValueError, OSError) as error:
        sys.stderr.write(f"bonus notify: {error}\n")
        return 1
    configure_logging(settings.log_level, settings.secret_values())
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    notifier.start()
    try:
        notifier.run(stop)
    finally:
        notifier.close()
    return 0
