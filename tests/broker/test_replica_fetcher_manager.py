"""The replica fetcher manager in-process: partitions spread over ``num.replica.fetchers`` fetchers per
leader, move when their leader changes, and idle fetchers are closed (their tasks end)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from broker.config import BrokerConfig
from broker.metadata_cache import MetadataCache
from broker.partition import Partition
from broker.replication import ReplicaFetcherManager
from storage.config import LogConfig
from storage.manager import LogManager


def _followers(tmp_path: Path, count: int) -> list[Partition]:
    manager = LogManager([str(tmp_path / "logs")])
    manager.startup()
    out = []
    for i in range(count):
        log = manager.get_or_create_log("t", i, LogConfig())
        p = Partition("t", i, b"\0" * 16, log, leader_id=0, leader_epoch=0, replicas=[0, 1, 2], isr=[0], local_id=0)
        p.make_follower(1 + i % 2, 1, [0, 1, 2])
        out.append(p)
    return out


def test_partitions_spread_over_fetchers_per_leader_and_idle_fetchers_close(tmp_path: Path) -> None:
    async def body() -> None:
        config = BrokerConfig.from_properties({"num.replica.fetchers": "2", "replica.fetch.backoff.ms": "10"})
        manager = ReplicaFetcherManager(0, config, MetadataCache(0, "c"), "PLAINTEXT")
        partitions = _followers(tmp_path, 8)
        for p in partitions:
            manager.add_partition(p)
        where = manager.partitions()
        assert {key: leader for key, (leader, _) in where.items()} == {p.key: p.leader_id for p in partitions}
        assert {fid for _, fid in where.values()} == {0, 1}
        assert set(manager.fetchers) <= {(1, 0), (1, 1), (2, 0), (2, 1)} and len(manager.fetchers) >= 3
        await asyncio.sleep(0.05)  # the fetchers run: no leader endpoint is known, so they back off
        tasks = [f._task for f in manager.fetchers.values()]
        partitions[0].make_follower(2, 2, [0, 1, 2])  # a new leader: the partition moves
        manager.add_partition(partitions[0])
        assert manager.partitions()[partitions[0].key][0] == 2
        for p in partitions:
            manager.remove_partition(p.key)
        assert manager.fetchers == {} and manager.partitions() == {}
        await manager.shutdown()
        assert all(t is not None and t.done() for t in tasks)

    asyncio.run(body())
