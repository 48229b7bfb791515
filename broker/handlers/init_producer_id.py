"""InitProducerId (22), versions 0-5.

- No transactional id (an idempotent producer): a new producer id with epoch 0, every time (a v3+
  request naming its current id and epoch also gets a new id, as Kafka does for non-transactional
  producers). Ids come in blocks of 1000 (Kafka's block size); the start of the next block is
  persisted in the first log dir, in ``kafkish-producer-id-block``, before any id of the current
  block is handed out, so no id is ever given twice, even after a crash (a crash skips the rest of
  the block, as in Kafka). The write is small and happens once per 1000 ids, inline on the loop.
- An empty transactional id: INVALID_REQUEST. A transactional id: COORDINATOR_NOT_AVAILABLE (a
  retriable error) until the transaction coordinator exists; clients retry until their timeout.

Version notes: v1 same as v0; v2 flexible; v3 producer id and epoch in the request (KIP-360); v4
PRODUCER_FENCED may be answered; v5 same as v4.

The id manager belongs with the transaction coordinator once it exists; until then it lives here,
one per broker.
"""

from __future__ import annotations

import json
import os
import weakref
from typing import TYPE_CHECKING

from broker.dispatcher import RequestContext, handles
from protocol.errors import ErrorCode
from protocol.messages.init_producer_id import INIT_PRODUCER_ID, InitProducerIdRequest, InitProducerIdResponse

if TYPE_CHECKING:
    from broker.server import Broker

BLOCK_SIZE = 1000
BLOCK_FILE = "kafkish-producer-id-block"


class ProducerIdManager:
    """Hands out producer ids from blocks whose next start is persisted first. Not thread-safe."""

    def __init__(self, directory: str) -> None:
        self.path = os.path.join(directory, BLOCK_FILE)
        self._next = 0
        self._end = 0  # exclusive end of the current block: nothing left when _next == _end

    def generate(self) -> int:
        if self._next >= self._end:
            start = self._read_next_block_start()
            self._write_next_block_start(start + BLOCK_SIZE)
            self._next, self._end = start, start + BLOCK_SIZE
        producer_id = self._next
        self._next += 1
        return producer_id

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


_MANAGERS: weakref.WeakKeyDictionary[Broker, ProducerIdManager] = weakref.WeakKeyDictionary()


def producer_ids(broker: Broker) -> ProducerIdManager:
    manager = _MANAGERS.get(broker)
    if manager is None:
        manager = _MANAGERS[broker] = ProducerIdManager(broker.log_dirs[0])
    return manager


@handles(INIT_PRODUCER_ID, versions="0-5")
async def handle_init_producer_id(ctx: RequestContext, request: InitProducerIdRequest) -> InitProducerIdResponse:
    if request.transactional_id is not None:
        code = ErrorCode.INVALID_REQUEST if request.transactional_id == "" else ErrorCode.COORDINATOR_NOT_AVAILABLE
        return InitProducerIdResponse(error_code=code, producer_id=-1, producer_epoch=-1)
    try:
        producer_id = producer_ids(ctx.broker).generate()
    except OSError:
        return InitProducerIdResponse(error_code=ErrorCode.UNKNOWN_SERVER_ERROR, producer_id=-1, producer_epoch=-1)
    return InitProducerIdResponse(error_code=ErrorCode.NONE, producer_id=producer_id, producer_epoch=0)
