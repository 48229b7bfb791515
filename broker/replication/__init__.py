"""Replication, the follower side (Kafka's ReplicaFetcherManager and ReplicaFetcherThread).

``manager.ReplicaFetcherManager`` keeps ``num.replica.fetchers`` fetchers per source broker and moves
partitions between them as LeaderAndIsr and StopReplica say (through ``ReplicaManager.fetchers``);
``fetcher.ReplicaFetcher`` is one asyncio task that truncates its partitions by leader epoch
(``truncation``) and then fetches from their leader, appending what comes back as follower.
"""

from broker.replication.manager import ReplicaFetcherManager

__all__ = ["ReplicaFetcherManager"]
