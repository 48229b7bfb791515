"""Time for the coordinator: a clock and one-shot timers, on the event loop or driven by hand in tests.

The coordinator never sleeps: it asks for a callback after a delay (a member's session timeout, a
rebalance timeout, the initial rebalance delay) and cancels it when the member heartbeats or the
rebalance completes. ``LoopScheduler`` uses ``loop.call_later``; ``ManualScheduler`` runs due timers
when a test moves its clock forward, so state-machine tests need no broker and no real time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Protocol


class Timer(Protocol):
    def cancel(self) -> None: ...


class Scheduler(Protocol):
    def now_ms(self) -> int: ...

    def call_later(self, delay_ms: int, callback: Callable[[], None]) -> Timer: ...


class LoopScheduler:
    """Timers on the running event loop; wall-clock milliseconds for timestamps."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop or asyncio.get_running_loop()

    def now_ms(self) -> int:
        return int(time.time() * 1000)

    def call_later(self, delay_ms: int, callback: Callable[[], None]) -> Timer:
        return self._loop.call_later(max(delay_ms, 0) / 1000, callback)


class _ManualTimer:
    __slots__ = ("cancelled",)

    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualScheduler:
    """A clock that moves only when told; due timers run in deadline order (then creation order)."""

    def __init__(self, now_ms: int = 1_000_000) -> None:
        self._now = now_ms
        self._seq = itertools.count()
        self._heap: list[tuple[int, int, _ManualTimer, Callable[[], None]]] = []

    def now_ms(self) -> int:
        return self._now

    def call_later(self, delay_ms: int, callback: Callable[[], None]) -> Timer:
        timer = _ManualTimer()
        heapq.heappush(self._heap, (self._now + max(delay_ms, 0), next(self._seq), timer, callback))
        return timer

    def advance(self, ms: int) -> None:
        """Move the clock ``ms`` forward, running every timer that falls due on the way."""
        target = self._now + ms
        while self._heap and self._heap[0][0] <= target:
            deadline, _, timer, callback = heapq.heappop(self._heap)
            self._now = max(self._now, deadline)
            if not timer.cancelled:
                callback()
        self._now = target
