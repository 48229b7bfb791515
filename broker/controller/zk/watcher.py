"""A read of watched znodes, run again whenever a watch fires or a new session starts, never twice at once.

Kafka's brokers turn each ZooKeeper watch (a ZNodeChangeHandler, a ZNodeChildChangeHandler) into an
event handled one at a time; ``ZkWatchedRead`` does that for one reader. ``schedule()`` (from a watch,
from a new session, or from the read itself when it saw something that needs another look) marks the
read to run; one worker task runs it; a schedule that arrives while it runs makes it run exactly once
more afterwards, so no change between the read and the re-armed watch is lost. Watches do not survive a
lost connection: after ``start()`` every CONNECTED session state schedules a read that re-arms them.

A read that fails (the session went away under it) is logged; the next CONNECTED reads again. Readers
that want another policy catch their own exceptions. Everything runs on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from kazoo.protocol.states import EventType, WatchedEvent

from .client import ZkClient, ZkSessionState

log = logging.getLogger(__name__)


class ZkWatchedRead:
    def __init__(self, zk: ZkClient, what: str, read: Callable[[], Awaitable[None]]) -> None:
        """``what`` names the znodes for the log; ``read`` reads them, arming its watches with ``watch``."""
        self._zk = zk
        self._what = what
        self._read = read
        self._pending = False
        self._worker: asyncio.Task[None] | None = None
        self._closed = False

    def start(self) -> None:
        """Read again at every new session (the watches of the old one are gone)."""
        self._zk.add_state_listener(self._on_state)

    async def close(self) -> None:
        self._closed = True
        self._zk.remove_state_listener(self._on_state)
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)

    def schedule(self) -> None:
        """Run the read now, or once more after the run under way."""
        if self._closed:
            return
        self._pending = True
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work())

    def watch(self, event: WatchedEvent) -> None:
        """A kazoo watch callback: any change of the watched znode schedules a read."""
        if event.type != EventType.NONE:
            self.schedule()

    async def settled(self) -> None:
        """Wait until the reads scheduled so far have run (cancelling the wait leaves them running)."""
        if self._worker is not None:
            await asyncio.shield(self._worker)

    def _on_state(self, state: ZkSessionState) -> None:
        if state is ZkSessionState.CONNECTED:
            self.schedule()

    async def _work(self) -> None:
        while self._pending and not self._closed:
            self._pending = False
            try:
                await self._read()
            except Exception as e:  # the session went away under it: the next CONNECTED reads again
                log.info("Reading %s interrupted: %r", self._what, e)
