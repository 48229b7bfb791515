"""Producer id blocks claimed from /latest_producer_id_block, as Kafka's ZooKeeper-era ZkProducerIdManager.

A broker reads the znode (the last block claimed by anyone: broker, block_start, block_end inclusive)
and writes the next block conditional on the znode's version; if another broker wrote first, it reads
and tries again. So no block is ever handed to two brokers. A znode that cannot be read as Kafka's JSON
is an error (OSError, as the ``BlockSource`` protocol expects), never a guess that could repeat ids.
"""

from __future__ import annotations

from kazoo.exceptions import BadVersionError, NodeExistsError, NoNodeError

from broker.coordinator.producer_id import BLOCK_SIZE, ProducerIdBlock

from . import paths
from .client import ZkClient
from .znodes import ProducerIdBlock as ZkBlock
from .znodes import ZnodeDataError, decode_producer_id_block, encode_producer_id_block


class ZkProducerIdBlocks:
    def __init__(self, zk: ZkClient, broker_id: int) -> None:
        self._zk = zk
        self._broker_id = broker_id

    async def claim_block(self) -> ProducerIdBlock:
        while True:
            try:
                data, stat = await self._zk.get(paths.PRODUCER_ID_BLOCK)
            except NoNodeError:
                await self._zk.ensure_path(paths.PRODUCER_ID_BLOCK)
                continue
            if data:
                try:
                    last = decode_producer_id_block(data)
                except ZnodeDataError as exc:
                    raise OSError(f"cannot claim a producer id block: {exc}") from None
                first = last.block_end + 1
            else:
                first = 0
            block = ZkBlock(self._broker_id, first, first + BLOCK_SIZE - 1)
            try:
                await self._zk.set(paths.PRODUCER_ID_BLOCK, encode_producer_id_block(block), stat.version)
            except (BadVersionError, NodeExistsError):
                continue  # another broker claimed one meanwhile
            return ProducerIdBlock(first, BLOCK_SIZE)
