"""The metadata cache: this broker's read model of the cluster, which every handler answers from.

It holds what Kafka's ``MetadataCache`` holds: the cluster id, the controller id, the live brokers with
their endpoints per listener (and rack), and per partition the leader, leader epoch, replicas, ISR and
offline replicas, with each topic's id; plus each topic's config overrides (Kafka's broker reads
those from its config repository).

It is fed the way a ZooKeeper-era controller feeds a broker: ``update_metadata`` takes a
``MetadataUpdate``, the content of an UpdateMetadata request (``MetadataUpdate.from_request`` converts
one), so the embedded controller and, later, the UpdateMetadata handler of cluster mode feed it alike.
As in Kafka: the live brokers and the controller id are replaced by every update; partition states
are merged in, and a partition whose leader is ``LEADER_DURING_DELETE`` (-2) is removed (its topic
with its last partition); a full update (UpdateMetadata v8 ``type`` 2) removes every topic it leaves out.

Invariants: a ``TopicImage`` is immutable and replaced whole when any of its partitions changes, so a
reader may keep one (or key a memo on its identity); ``generation`` grows with every update. Not
thread-safe: the broker's event loop owns it, and an update is applied without awaiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from broker.topics import INTERNAL_TOPICS
from protocol.messages.update_metadata import UpdateMetadataRequest

LEADER_DURING_DELETE = -2
NO_LEADER = -1
NO_CONTROLLER = -1
FULL_UPDATE = 2  # UpdateMetadata v8 ``type``


@dataclass(frozen=True, slots=True)
class Endpoint:
    listener: str
    host: str
    port: int
    security_protocol: int = 0  # PLAINTEXT


@dataclass(frozen=True, slots=True)
class LiveBroker:
    id: int
    endpoints: tuple[Endpoint, ...] = ()
    rack: str | None = None

    def endpoint(self, listener: str) -> Endpoint | None:
        for endpoint in self.endpoints:
            if endpoint.listener == listener:
                return endpoint
        return None


@dataclass(frozen=True, slots=True)
class PartitionState:
    """One partition as UpdateMetadata carries it (``zk_version`` is Kafka's partition epoch)."""

    partition_index: int
    leader: int
    leader_epoch: int
    isr: tuple[int, ...]
    replicas: tuple[int, ...]
    offline_replicas: tuple[int, ...] = ()
    controller_epoch: int = 0
    zk_version: int = 0


@dataclass(frozen=True, slots=True)
class TopicState:
    topic_name: str
    topic_id: bytes
    partition_states: tuple[PartitionState, ...]


@dataclass(frozen=True, slots=True)
class MetadataUpdate:
    """The content of an UpdateMetadata request."""

    controller_id: int
    live_brokers: tuple[LiveBroker, ...]
    topic_states: tuple[TopicState, ...] = ()
    controller_epoch: int = 0
    full: bool = False

    @classmethod
    def from_request(cls, request: UpdateMetadataRequest, version: int) -> MetadataUpdate:
        """An UpdateMetadata request of any version (v0-4 carry ungrouped partition states)."""
        topics: dict[str, list[PartitionState]] = {}
        ids: dict[str, bytes] = {}
        if version < 5:
            grouped = [(p.topic_name, bytes(16), p) for p in request.ungrouped_partition_states]
        else:
            grouped = [(t.topic_name, t.topic_id, p) for t in request.topic_states for p in t.partition_states]
        for name, topic_id, p in grouped:
            ids.setdefault(name, topic_id)
            topics.setdefault(name, []).append(
                PartitionState(
                    partition_index=p.partition_index,
                    leader=p.leader,
                    leader_epoch=p.leader_epoch,
                    isr=tuple(p.isr),
                    replicas=tuple(p.replicas),
                    offline_replicas=tuple(p.offline_replicas),
                    controller_epoch=p.controller_epoch,
                    zk_version=p.zk_version,
                )
            )
        brokers = []
        for b in request.live_brokers:
            if version == 0:
                endpoints: tuple[Endpoint, ...] = (Endpoint("PLAINTEXT", b.v0_host, b.v0_port),)
            else:
                endpoints = tuple(
                    Endpoint(e.listener or _security_name(e.security_protocol), e.host, e.port, e.security_protocol)
                    for e in b.endpoints
                )
            brokers.append(LiveBroker(b.id, endpoints, b.rack or None))
        return cls(
            controller_id=request.controller_id,
            live_brokers=tuple(brokers),
            topic_states=tuple(TopicState(name, ids[name], tuple(parts)) for name, parts in topics.items()),
            controller_epoch=request.controller_epoch,
            full=version >= 8 and request.type == FULL_UPDATE,
        )


_SECURITY_NAMES = {0: "PLAINTEXT", 1: "SSL", 2: "SASL_PLAINTEXT", 3: "SASL_SSL"}


def _security_name(protocol: int) -> str:
    """Before v3 an endpoint's listener is named after its security protocol."""
    return _SECURITY_NAMES.get(protocol, "PLAINTEXT")


@dataclass(frozen=True, slots=True)
class TopicImage:
    """A topic as the cache knows it; ``partitions`` maps index to state, in index order."""

    name: str
    topic_id: bytes
    partitions: Mapping[int, PartitionState] = field(default_factory=dict)

    @property
    def is_internal(self) -> bool:
        return self.name in INTERNAL_TOPICS

    @property
    def partition_count(self) -> int:
        return len(self.partitions)


class MetadataCache:
    def __init__(self, node_id: int, cluster_id: str) -> None:
        self.node_id = node_id
        self.cluster_id = cluster_id
        self.controller_id = NO_CONTROLLER
        self.generation = 0
        self._brokers: dict[int, LiveBroker] = {}
        self._topics: dict[str, TopicImage] = {}
        self._by_id: dict[bytes, TopicImage] = {}
        self._configs: dict[str, Mapping[str, Any]] = {}
        # set by the first update: a broker of a cluster knows its peers only once its controller told it
        self.initialized = asyncio.Event()

    # -- feeding ------------------------------------------------------------------------------------
    def update_metadata(self, update: MetadataUpdate) -> list[tuple[str, int]]:
        """Apply an UpdateMetadata's content; returns the partitions it removed."""
        self.generation += 1
        self.initialized.set()
        self.controller_id = update.controller_id
        self._brokers = {b.id: b for b in sorted(update.live_brokers, key=lambda b: b.id)}
        removed: list[tuple[str, int]] = []
        if update.full:
            mentioned = {t.topic_name for t in update.topic_states}
            for name in [n for n in self._topics if n not in mentioned]:
                removed.extend((name, i) for i in self._topics[name].partitions)
                self._drop(name)
        for state in update.topic_states:
            old = self._topics.get(state.topic_name)
            parts = dict(old.partitions) if old is not None and old.topic_id == state.topic_id else {}
            for p in state.partition_states:
                if p.leader == LEADER_DURING_DELETE:
                    if parts.pop(p.partition_index, None) is not None:
                        removed.append((state.topic_name, p.partition_index))
                else:
                    parts[p.partition_index] = p
            if old is not None:
                self._drop(state.topic_name, keep_configs=bool(parts))
            if parts:
                image = TopicImage(state.topic_name, state.topic_id, MappingProxyType(dict(sorted(parts.items()))))
                self._topics[image.name] = image
                self._by_id[image.topic_id] = image
        return removed

    def _drop(self, name: str, keep_configs: bool = False) -> None:
        image = self._topics.pop(name)
        if self._by_id.get(image.topic_id) is image:
            del self._by_id[image.topic_id]
        if not keep_configs:
            self._configs.pop(name, None)

    def update_topic_configs(self, name: str, overrides: Mapping[str, Any]) -> None:
        """A topic's config overrides (ZooKeeper mode: from a config change notification)."""
        self._configs[name] = MappingProxyType(dict(overrides))

    # -- brokers ------------------------------------------------------------------------------------
    def alive_brokers(self) -> list[LiveBroker]:
        """Live brokers by id."""
        return list(self._brokers.values())

    def alive_broker(self, broker_id: int) -> LiveBroker | None:
        return self._brokers.get(broker_id)

    def alive_endpoints(self, listener: str) -> list[tuple[LiveBroker, Endpoint]]:
        """Live brokers that have an endpoint on ``listener`` (those a client of it can reach)."""
        out = []
        for broker in self._brokers.values():
            endpoint = broker.endpoint(listener)
            if endpoint is not None:
                out.append((broker, endpoint))
        return out

    # -- topics -------------------------------------------------------------------------------------
    @property
    def topics(self) -> Mapping[str, TopicImage]:
        """Every topic by name (a read-only view)."""
        return MappingProxyType(self._topics)

    def topic(self, name: str) -> TopicImage | None:
        return self._topics.get(name)

    def topic_by_id(self, topic_id: bytes) -> TopicImage | None:
        return self._by_id.get(topic_id)

    def num_partitions(self, name: str) -> int | None:
        image = self._topics.get(name)
        return None if image is None else len(image.partitions)

    def contains_partition(self, name: str, index: int) -> bool:
        image = self._topics.get(name)
        return image is not None and index in image.partitions

    def partition(self, name: str, index: int) -> PartitionState | None:
        image = self._topics.get(name)
        return None if image is None else image.partitions.get(index)

    def leader_endpoint(self, name: str, index: int, listener: str) -> tuple[int, Endpoint] | None:
        """The partition's leader and its endpoint on ``listener``; None when it has no live leader
        reachable there."""
        state = self.partition(name, index)
        if state is None:
            return None
        broker = self._brokers.get(state.leader)
        endpoint = broker.endpoint(listener) if broker is not None else None
        return None if endpoint is None else (state.leader, endpoint)

    def topic_configs(self, name: str) -> Mapping[str, Any]:
        """A topic's config overrides (empty when it has none)."""
        return self._configs.get(name, MappingProxyType({}))


def partition_states(
    replicas: Sequence[Sequence[int]], leader_epochs: Sequence[int], indexes: Iterable[int] | None = None
) -> tuple[PartitionState, ...]:
    """Partition states of a cluster where every replica is in sync and the first one leads."""
    chosen = range(len(replicas)) if indexes is None else indexes
    return tuple(
        PartitionState(
            partition_index=i,
            leader=replicas[i][0],
            leader_epoch=leader_epochs[i],
            isr=tuple(replicas[i]),
            replicas=tuple(replicas[i]),
        )
        for i in chosen
    )
