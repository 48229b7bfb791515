"""An opt-in watch on the event loop: which callbacks block it, and for how long (debugging only).

Enabled by the environment variable ``KAFKISH_LOOP_STALL_MS`` (a threshold in milliseconds, e.g. ``5``);
unset or ``0`` it is never installed and costs nothing. Installed, it:

- times every callback the loop runs (``asyncio.Handle._run``, which timers and task steps go through)
  and logs each one that ran longer than the threshold: how long, what it was (the task's coroutine or
  the callback), and where it was when it had been running for the threshold already (a watchdog
  thread takes the loop thread's stack then, so the line names the blocking call, not just the task);
- logs each garbage collection that paused the process longer than the threshold (``gc.callbacks``);
- samples the loop's lag (how late a 10 ms sleep wakes up) and logs its p50/p99/max every 10 s.

Log lines start with ``loop stall`` / ``gc pause`` / ``loop lag`` so a benchmark can collect them. The
monitor only reads: it never changes what the loop runs or in which order.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from types import FrameType
from typing import Any

log = logging.getLogger("broker.loop_monitor")

ENV = "KAFKISH_LOOP_STALL_MS"
LAG_PERIOD_S = 0.010
LAG_REPORT_S = 10.0


def threshold_from_env() -> float:
    """The threshold in seconds from ``KAFKISH_LOOP_STALL_MS``; 0.0 when unset, empty or not positive."""
    raw = os.environ.get(ENV, "").strip()
    try:
        value = float(raw) if raw else 0.0
    except ValueError:
        log.warning("%s=%r is not a number of milliseconds: the loop monitor stays off", ENV, raw)
        return 0.0
    return value / 1000.0 if value > 0 else 0.0


def describe(handle: asyncio.Handle) -> str:
    """A short name for what a handle runs: a task's coroutine, or the callback's qualified name."""
    callback: Any = getattr(handle, "_callback", None)
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        coro: Any = owner.get_coro()
        code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
        name = getattr(code, "co_qualname", None) or getattr(code, "co_name", repr(coro))
        return f"task {owner.get_name()} {name}"
    return getattr(callback, "__qualname__", None) or repr(callback)


def _stack(frame: FrameType | None, depth: int = 12) -> str:
    """The innermost frames of a stack, innermost last, one ``file:line function`` each."""
    if frame is None:
        return "?"
    entries = traceback.extract_stack(frame)[-depth:]
    return " <- ".join(f"{os.path.basename(e.filename)}:{e.lineno} {e.name}" for e in reversed(entries))


class LoopMonitor:
    """Installed once per process on the running loop's thread; ``uninstall`` restores everything."""

    def __init__(self, threshold_s: float, report: Callable[[str], None] | None = None) -> None:
        self.threshold_s = threshold_s
        self.report = report or (lambda line: log.warning("%s", line))
        self._original_run: Callable[[asyncio.Handle], None] | None = None
        self._loop_thread = threading.get_ident()
        self._running_since = 0.0  # when the current callback began; 0.0 between callbacks
        self._running_token = 0  # which callback, so the watchdog samples each one at most once
        self._sampled: tuple[int, str] | None = None
        self._stop = threading.Event()
        self._watchdog: threading.Thread | None = None
        self._gc_started = 0.0
        self._lag_task: asyncio.Task[None] | None = None
        self.stalls = 0

    def install(self) -> None:
        monitor = self
        original = asyncio.Handle._run
        self._original_run = original

        def timed_run(handle: asyncio.Handle) -> None:
            monitor._running_token += 1
            started = time.perf_counter()
            monitor._running_since = started
            try:
                original(handle)
            finally:
                elapsed = time.perf_counter() - started
                monitor._running_since = 0.0
                if elapsed >= monitor.threshold_s:
                    monitor._stalled(handle, elapsed)

        asyncio.Handle._run = timed_run  # type: ignore[method-assign,assignment]
        gc.callbacks.append(self._on_gc)
        self._watchdog = threading.Thread(target=self._watch, name="loop-monitor", daemon=True)
        self._watchdog.start()
        self._lag_task = asyncio.get_running_loop().create_task(self._sample_lag(), name="loop-lag")
        log.info("loop monitor on: callbacks and gc pauses over %.1f ms are logged", self.threshold_s * 1000)

    def uninstall(self) -> None:
        if self._original_run is not None:
            asyncio.Handle._run = self._original_run  # type: ignore[method-assign,assignment]
            self._original_run = None
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
        self._stop.set()
        if self._lag_task is not None:
            self._lag_task.cancel()

    def _stalled(self, handle: asyncio.Handle, elapsed: float) -> None:
        self.stalls += 1
        sampled = self._sampled
        where = sampled[1] if sampled is not None and sampled[0] == self._running_token else "not sampled"
        self.report(f"loop stall {elapsed * 1000:.1f} ms in {describe(handle)}; blocked at: {where}")

    def _watch(self) -> None:
        """Takes the loop thread's stack once per callback that runs past the threshold."""
        period = max(self.threshold_s / 2, 0.001)
        while not self._stop.wait(period):
            since, token = self._running_since, self._running_token
            late = since and time.perf_counter() - since >= self.threshold_s
            if late and (self._sampled is None or self._sampled[0] != token):
                frame = sys._current_frames().get(self._loop_thread)
                self._sampled = (token, _stack(frame))

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
            return
        elapsed = time.perf_counter() - self._gc_started
        if elapsed >= self.threshold_s:
            self.report(
                f"gc pause {elapsed * 1000:.1f} ms: generation {info.get('generation')}, "
                f"{info.get('collected')} collected; counts {gc.get_count()}, frozen {gc.get_freeze_count()}"
            )

    async def _sample_lag(self) -> None:
        lags: list[float] = []
        reported = time.monotonic()
        while True:
            before = time.monotonic()
            await asyncio.sleep(LAG_PERIOD_S)
            now = time.monotonic()
            lags.append(now - before - LAG_PERIOD_S)
            if now - reported >= LAG_REPORT_S and lags:
                lags.sort()
                log.info(
                    "loop lag over %d samples: p50 %.2f ms, p99 %.2f ms, max %.2f ms",
                    len(lags), lags[len(lags) // 2] * 1000, lags[int(len(lags) * 0.99)] * 1000, lags[-1] * 1000,
                )  # fmt: skip
                lags.clear()
                reported = now


def install_from_env() -> LoopMonitor | None:
    """The monitor on the running loop when ``KAFKISH_LOOP_STALL_MS`` asks for it, else None."""
    threshold = threshold_from_env()
    if not threshold:
        return None
    monitor = LoopMonitor(threshold)
    monitor.install()
    return monitor
