"""The replica fetcher manager (Kafka's ReplicaFetcherManager): which fetcher copies which followed
partition.

``num.replica.fetchers`` fetchers per source broker at most, each an asyncio task with its own
connection to the leader (``fetcher.ReplicaFetcher``); a partition goes to the fetcher of its leader
numbered by a stable hash of its name, as Kafka spreads them. The replica manager tells it
(``ReplicaManager.fetchers``): ``add_partition`` when a partition becomes a follower (of a new leader
or at a new leader epoch: its fetch starts over with truncation), ``remove_partition`` when it becomes
leader, stops or goes away. A fetcher left with no partitions is closed.

Invariants: a partition is in at most one fetcher; after ``shutdown`` nothing is fetched or appended.
Not thread-safe: the broker's event loop owns it.
"""

from __future__ import annotations

import asyncio
import logging
import zlib

from broker.config import BrokerConfig
from broker.metadata_cache import MetadataCache
from broker.partition import Partition
from broker.replication.fetcher import Address, FetcherConfig, ReplicaFetcher
from broker.replication.quota import ReplicationQuota

log = logging.getLogger(__name__)
TopicPartition = tuple[str, int]
FetcherKey = tuple[int, int]  # (source broker, fetcher id)


class ReplicaFetcherManager:
    def __init__(
        self,
        node_id: int,
        config: BrokerConfig,
        cache: MetadataCache,
        listener: str,
        quota: ReplicationQuota | None = None,
    ) -> None:
        """``listener``: the inter-broker listener, whose endpoint of the leader the fetchers connect to;
        ``quota``: the follower's replication quota, shared by every fetcher (as in Kafka)."""
        self.quota = quota
        self.node_id = node_id
        self.fetcher_config = FetcherConfig.from_broker(config, node_id)
        self.num_fetchers = max(1, int(config.get("num.replica.fetchers")))
        self.cache = cache
        self.listener = listener
        self.fetchers: dict[FetcherKey, ReplicaFetcher] = {}
        self._where: dict[TopicPartition, FetcherKey] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._stopped = False

    def fetcher_id(self, key: TopicPartition) -> int:
        return zlib.crc32(f"{key[0]}-{key[1]}".encode()) % self.num_fetchers

    def endpoint(self, broker_id: int) -> Address | None:
        broker = self.cache.alive_broker(broker_id)
        endpoint = broker.endpoint(self.listener) if broker is not None else None
        return None if endpoint is None else (endpoint.host or "127.0.0.1", endpoint.port)

    def add_partition(self, partition: Partition) -> None:
        """Fetch ``partition`` from its leader, starting with truncation (replaces any earlier state)."""
        if self._stopped:
            return
        key = partition.key
        self.remove_partition(key)
        where = (partition.leader_id, self.fetcher_id(key))
        fetcher = self.fetchers.get(where)
        if fetcher is None:
            fetcher = self.fetchers[where] = ReplicaFetcher(
                where[0], where[1], self.fetcher_config, self.endpoint, self.quota
            )
            fetcher.start()
            log.info("started %s", fetcher.name)
        fetcher.add(partition)
        self._where[key] = where

    def remove_partition(self, key: TopicPartition) -> None:
        where = self._where.pop(key, None)
        fetcher = self.fetchers.get(where) if where is not None else None
        if where is None or fetcher is None:
            return
        fetcher.remove(key)
        if not fetcher.states:  # idle: Kafka's shutdownIdleFetcherThreads
            del self.fetchers[where]
            task = asyncio.get_running_loop().create_task(fetcher.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    def partitions(self) -> dict[TopicPartition, FetcherKey]:
        """Every followed partition and the fetcher that has it (for tests and tools)."""
        return dict(self._where)

    async def shutdown(self) -> None:
        self._stopped = True
        fetchers = list(self.fetchers.values())
        self.fetchers.clear()
        self._where.clear()
        await asyncio.gather(*(f.close() for f in fetchers), *self._closing, return_exceptions=True)
