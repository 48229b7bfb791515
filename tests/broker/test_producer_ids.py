"""Producer ids from blocks claimed in a real block file: never handed out twice (concurrent callers,
block boundaries, a restart), and the claim's disk work does not hold up the event loop."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

from broker.coordinator.producer_id import (
    BLOCK_FILE,
    BLOCK_SIZE,
    BlockProducerIdManager,
    LocalBlockFile,
    ProducerIdBlock,
)


def test_concurrent_callers_across_block_boundaries_never_share_an_id(tmp_path: Path) -> None:
    async def scenario() -> list[int]:
        manager = BlockProducerIdManager(LocalBlockFile(str(tmp_path)))
        return list(await asyncio.gather(*(manager.generate_producer_id() for _ in range(2 * BLOCK_SIZE + 10))))

    ids = asyncio.run(scenario())
    assert len(set(ids)) == len(ids)
    assert sorted(ids) == list(range(len(ids))), "blocks are used up before the next is claimed"
    stored = json.loads((tmp_path / BLOCK_FILE).read_text())
    assert stored["next_block_start"] == 3 * BLOCK_SIZE


def test_a_new_manager_on_the_same_file_starts_after_every_claimed_block(tmp_path: Path) -> None:
    async def first_ids(count: int) -> list[int]:
        manager = BlockProducerIdManager(LocalBlockFile(str(tmp_path)))
        return [await manager.generate_producer_id() for _ in range(count)]

    before = asyncio.run(first_ids(3))  # then the broker "crashes": the rest of the block is skipped
    after = asyncio.run(first_ids(2))
    assert before == [0, 1, 2]
    assert after == [BLOCK_SIZE, BLOCK_SIZE + 1]


def test_the_loop_goes_on_while_a_block_is_claimed(tmp_path: Path) -> None:
    release = threading.Event()

    class SlowDisk(LocalBlockFile):
        def _claim(self) -> ProducerIdBlock:
            assert release.wait(10), "the event loop never ran while the block was claimed"
            return super()._claim()

    async def scenario() -> int:
        manager = BlockProducerIdManager(SlowDisk(str(tmp_path)))
        generating = asyncio.ensure_future(manager.generate_producer_id())
        await asyncio.sleep(0.01)  # the loop runs this while the claim waits in its thread
        release.set()
        return await asyncio.wait_for(generating, 10)

    assert asyncio.run(scenario()) == 0
