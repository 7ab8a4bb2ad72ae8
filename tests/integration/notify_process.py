"""``bonus notify`` as a real process for tests: start it, collect what it says, stop it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time

RUN = "import sys; from streams.notify.cli import notify_main; sys.exit(notify_main(sys.argv[1:]))"


class NotifierProcess:
    """The notifier with ``argv`` and ``env``; ``said`` holds each message it logged."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", RUN, *argv],
            env=env,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        self.said: list[dict[str, object]] = []
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if record.get("logger") == "streams.notify.messages":
                self.said.append(json.loads(record["message"]))

    def wait_for(self, count: int, timeout: float) -> None:
        """Wait until ``count`` messages were said (or the process ended), then a little more
        so that a wrong extra message has room to show up."""
        deadline = time.monotonic() + timeout
        while len(self.said) < count and time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        time.sleep(1.5)

    def stop(self) -> int:
        """SIGTERM, as an operator would; return the exit status."""
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(30)
        self._reader.join(10)
        return code

    def log(self) -> str:
        """The tail of what the process wrote, for an assertion message."""
        return "".join(self.lines)[-3000:]
