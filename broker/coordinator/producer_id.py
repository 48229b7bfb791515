"""Producer ids: one interface for whoever hands them out, blocks of ids from one source (Kafka's
ProducerIdManager and its block sources).

    manager = BlockProducerIdManager(LocalBlockFile(log_dir))
    producer_id = await manager.generate_producer_id()

Ids come in blocks of ``BLOCK_SIZE`` (1000, Kafka's). A block is claimed from its source before any of
its ids is handed out, and a source never hands out a block twice, so no id is ever given twice, even
after a crash (which skips the rest of the block, as in Kafka). Sources:

- ``LocalBlockFile`` (one broker, no ZooKeeper): the start of the next block, in
  ``kafkish-producer-id-block`` of the first log dir, as JSON, written temp-then-rename with fsyncs
  of the file and the directory, in a worker thread (the event loop goes on meanwhile).
- In cluster mode a ZooKeeper source claims blocks from ``/latest_producer_id_block`` with a
  versioned conditional write, as Kafka's ZkProducerIdManager does (``broker.controller.zk.producer_ids``).

Not thread-safe: the event loop owns the manager; only one block claim is in flight at a time and
callers that find the block used up wait for that claim.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from typing import Protocol

BLOCK_SIZE = 1000
BLOCK_FILE = "kafkish-producer-id-block"


@dataclass(frozen=True, slots=True)
class ProducerIdBlock:
    """Ids ``first`` .. ``first + size - 1``, for this broker alone (Kafka's ProducerIdsBlock)."""

    first: int
    size: int = BLOCK_SIZE

    @property
    def end(self) -> int:
        return self.first + self.size


class ProducerIdManager(Protocol):
    async def generate_producer_id(self) -> int:
        """A producer id never handed out before (raises OSError if no block can be claimed)."""
        ...


class BlockSource(Protocol):
    async def claim_block(self) -> ProducerIdBlock:
        """The next block of ids, recorded as taken before it is returned."""
        ...


class LocalBlockFile:
    """Blocks claimed from a file in the broker's first log dir (one broker, no ZooKeeper)."""

    def __init__(self, directory: str) -> None:
        self.path = os.path.join(directory, BLOCK_FILE)

    async def claim_block(self) -> ProducerIdBlock:
        return await asyncio.to_thread(self._claim)

    def _claim(self) -> ProducerIdBlock:
        block = ProducerIdBlock(self._read_next_block_start())
        self._write_next_block_start(block.end)
        return block

    def _read_next_block_start(self) -> int:
        try:
            with open(self.path, encoding="utf-8") as f:
                return int(json.load(f)["next_block_start"])
        except FileNotFoundError:
            return 0

    def _write_next_block_start(self, start: int) -> None:
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"version": 1, "next_block_start": start}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        dir_fd = os.open(os.path.dirname(self.path), os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


class BlockProducerIdManager:
    """Hands out the ids of the current block; claims the next one from ``source`` when it is used up."""

    def __init__(self, source: BlockSource) -> None:
        self.source = source
        self._next = 0
        self._end = 0  # exclusive end of the current block: nothing left when _next == _end
        self._claim: asyncio.Future[ProducerIdBlock] | None = None

    async def generate_producer_id(self) -> int:
        while self._next >= self._end:
            if self._claim is None:
                self._claim = asyncio.ensure_future(self.source.claim_block())
            claim = self._claim
            try:
                block = await asyncio.shield(claim)
            finally:
                if self._claim is claim and claim.done():
                    self._claim = None
            if block.first >= self._end:  # the first waiter to wake takes the new block, once
                self._next, self._end = block.first, block.end
        producer_id = self._next
        self._next += 1
        return producer_id
