"""Stopping background tasks for sure.

A cancellation that lands while a Redis reply or an ``asyncio.wait_for`` completes can be
swallowed (``wait_for`` in Python 3.11, client libraries), and a loop that swallowed it runs on:
a plain ``task.cancel(); await task`` then waits forever. So cancel again until every task is
done.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any

CANCEL_RETRY_SECONDS = 0.2


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks`` (again every ``CANCEL_RETRY_SECONDS``) until all are done.

    A task that failed rather than stopped raises its exception here.
    """
    tasks = list(tasks)
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=CANCEL_RETRY_SECONDS)
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            task.result()
