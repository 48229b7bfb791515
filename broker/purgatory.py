"""Where delayed requests wait: a fetch with too little data, later an acks=all produce.

A waiter watches some keys (topic-partitions) and is woken when any of them is notified (an append, a
high watermark move) or when its timeout expires; the handler then checks again whether it can
complete. Everything runs on the broker's event loop, so no locks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Iterable


class Purgatory:
    def __init__(self, name: str) -> None:
        self.name = name
        self._watchers: dict[Hashable, set[asyncio.Future[None]]] = {}

    async def wait(self, keys: Iterable[Hashable], timeout_s: float) -> bool:
        """Wait until one of ``keys`` is notified (True) or ``timeout_s`` passes (False)."""
        if timeout_s <= 0:
            return False
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        watched = list(keys)
        for key in watched:
            self._watchers.setdefault(key, set()).add(future)
        try:
            await asyncio.wait_for(future, timeout_s)
            return True
        except TimeoutError:
            return False
        finally:
            for key in watched:
                waiters = self._watchers.get(key)
                if waiters is not None:
                    waiters.discard(future)
                    if not waiters:
                        del self._watchers[key]

    def notify(self, key: Hashable) -> None:
        waiters = self._watchers.pop(key, None)
        if waiters:
            for future in waiters:
                if not future.done():
                    future.set_result(None)

    def notify_all(self) -> None:
        for key in list(self._watchers):
            self.notify(key)
