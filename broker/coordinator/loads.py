"""The loads in flight of a coordinator's partitions (Kafka's coordinator loader): one task per partition
of its internal topic that this broker was elected to lead, reading the partition back before the
coordinator owns it.

``start`` runs a partition's load as a task named after the partition (a newer load of the same
partition replaces the older one's entry; the older one notices through ``Ownership`` that it is
stale); a load that fails is logged. ``wait`` returns once no load is in flight (loads started
meanwhile included); ``cancel`` stops them all at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class PartitionLoads:
    def __init__(self, topic: str) -> None:
        self.topic = topic
        self._loads: dict[int, asyncio.Task[None]] = {}

    def __bool__(self) -> bool:
        return bool(self._loads)

    def start(self, partition: int, load: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(load, name=f"load {self.topic}-{partition}")
        self._loads[partition] = task
        task.add_done_callback(lambda done: self._loaded(partition, done))

    async def wait(self) -> None:
        while self._loads:
            await asyncio.gather(*self._loads.values(), return_exceptions=True)

    def cancel(self) -> None:
        for task in list(self._loads.values()):
            task.cancel()

    def _loaded(self, partition: int, task: asyncio.Task[None]) -> None:
        if self._loads.get(partition) is task:
            del self._loads[partition]
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("%s-%d: loading failed", self.topic, partition, exc_info=exc)
