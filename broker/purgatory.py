"""Where delayed requests wait: Kafka's DelayedOperation and DelayedOperationPurgatory, on asyncio.

A ``DelayedOperation`` is a request that cannot be answered yet (an acks=all produce before the high
watermark passes it, a fetch with less than ``min_bytes``). ``try_complete`` checks whether it can be
answered now and, if so, calls ``force_complete``; ``on_complete`` makes the result (exactly once);
``on_expiration`` runs first when the timeout fires. The purgatory watches each operation under keys
(topic-partitions): ``check_and_complete(key)`` (after an append or a high watermark move) asks every
operation watching ``key`` to try again.

Invariants:
- An operation completes exactly once: by ``try_complete``, by its timeout, or by ``shutdown``.
- ``wait`` returns the operation's result; if the waiting task is cancelled (its client went away),
  the operation is dropped from every watch list and its timer cancelled: nothing is left behind.
- ``try_complete`` runs in the caller's step of the event loop (the appender's): it must be cheap and
  must not raise; the waiting task resumes afterwards with the result.

Everything runs on the broker's event loop, so no locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class DelayedOperation(ABC, Generic[T]):
    def __init__(self, timeout_ms: int) -> None:
        self.timeout_ms = timeout_ms
        self._future: asyncio.Future[T] | None = None
        self._completed = False
        self._result: T  # set by ``force_complete``

    @property
    def is_completed(self) -> bool:
        return self._completed

    @abstractmethod
    def try_complete(self) -> bool:
        """Complete (``force_complete``) if the operation can be answered now; True if it did."""

    @abstractmethod
    def on_complete(self) -> T:
        """The result, made once when the operation completes."""

    def on_expiration(self) -> None:
        """The timeout fired; runs just before ``on_complete``."""

    def force_complete(self) -> bool:
        """Complete now, whatever the state; False if it had completed already."""
        if self._completed:
            return False
        self._completed = True
        future = self._future
        try:
            self._result = self.on_complete()
        except Exception as exc:  # a bug: the waiter gets it rather than waiting forever
            if future is not None and not future.done():
                future.set_exception(exc)
            raise
        if future is not None and not future.done():
            future.set_result(self._result)
        return True

    def _expire(self) -> None:
        if not self._completed:
            self.on_expiration()
            self.force_complete()


class Purgatory(Generic[T]):
    def __init__(self, name: str) -> None:
        self.name = name
        self._watchers: dict[Hashable, set[DelayedOperation[T]]] = {}
        self._closed = False

    def watched(self) -> int:
        """Operations being watched, counted once per key (for tests and metrics)."""
        return sum(len(ops) for ops in self._watchers.values())

    async def wait(self, operation: DelayedOperation[T], keys: Iterable[Hashable]) -> T:
        """Kafka's ``tryCompleteElseWatch``, then wait: the operation's result, when it completes by
        a ``check_and_complete`` of one of ``keys``, by its timeout, or at shutdown."""
        if operation.try_complete() or self._closed or operation.timeout_ms <= 0:
            operation.force_complete()
            return operation._result
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        operation._future = future
        watched = list(dict.fromkeys(keys))
        for key in watched:
            self._watchers.setdefault(key, set()).add(operation)
        timer = loop.call_later(operation.timeout_ms / 1000, operation._expire)
        try:
            return await future
        finally:
            timer.cancel()
            operation._completed = True  # a cancelled wait never completes later
            for key in watched:
                ops = self._watchers.get(key)
                if ops is not None:
                    ops.discard(operation)
                    if not ops:
                        del self._watchers[key]

    def check_and_complete(self, key: Hashable) -> int:
        """Let the operations watching ``key`` try to complete; returns how many did."""
        ops = self._watchers.get(key)
        if not ops:
            return 0
        done = 0
        for operation in list(ops):
            if operation.is_completed:
                continue
            try:
                if operation.try_complete():
                    done += 1
            except Exception:  # a bug in one operation must not fail the appender that woke it
                log.exception("%s purgatory: an operation failed to check for completion", self.name)
                with contextlib.suppress(Exception):
                    operation.force_complete()
        return done

    def notify_all(self) -> None:
        """Shutdown: complete every waiting operation now, and every later one at once."""
        self._closed = True
        for ops in list(self._watchers.values()):
            for operation in list(ops):
                operation.force_complete()
