"""The live brokers of the cluster: the children of /brokers/ids, watched, as Kafka's controller sees them.

``ZkLiveBrokers`` keeps ``live`` (broker id -> ``LiveBroker``: its registration and broker epoch, the
znode's czxid) and reports each difference as a ``BrokerChange``: brokers that joined, died, bounced
(the same id registered again with a new epoch between two reads: it died and came back, and its
replicas must be treated as restarted, as Kafka's controller does), or updated their registration in
place (new endpoints, same epoch: Kafka's BrokerModifications). Each registration znode is watched too.

Each report goes to ``on_change`` (a plain callback on the loop) and to the async iterator
``changes()``. A registration znode that cannot be decoded is logged and the broker left out until its
data is fixed; a live broker whose new data cannot be decoded keeps its last good registration. Reads
are serialised by a ``ZkWatchedRead``: a watch or a new session only marks it to read once more.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from kazoo.exceptions import NoNodeError
from kazoo.protocol.states import EventType, WatchedEvent

from . import paths
from .client import ZkClient
from .watcher import ZkWatchedRead
from .znodes import BrokerRegistration, ZnodeDataError, decode_broker_registration

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LiveBroker:
    registration: BrokerRegistration
    broker_epoch: int

    @property
    def broker_id(self) -> int:
        return self.registration.broker_id


@dataclass(frozen=True, slots=True)
class BrokerChange:
    joined: dict[int, LiveBroker] = field(default_factory=dict)
    died: frozenset[int] = frozenset()
    bounced: dict[int, LiveBroker] = field(default_factory=dict)  # re-registered with a new broker epoch
    updated: dict[int, LiveBroker] = field(default_factory=dict)  # same epoch, new registration data

    def __bool__(self) -> bool:
        return bool(self.joined or self.died or self.bounced or self.updated)


class ZkLiveBrokers:
    def __init__(self, zk: ZkClient, on_change: Callable[[BrokerChange], None] | None = None) -> None:
        self._zk = zk
        self._on_change = on_change
        self.live: dict[int, LiveBroker] = {}
        self._data_versions: dict[int, int] = {}  # per live broker: the znode version its registration came from
        self._queues: list[asyncio.Queue[BrokerChange]] = []
        self._reads = ZkWatchedRead(zk, paths.BROKER_IDS, self._refresh)

    async def start(self) -> None:
        """Read the live brokers (reported as one change of joins) and start watching."""
        self._reads.start()
        await self._zk.ensure_path(paths.BROKER_IDS)
        self._reads.schedule()
        await self._reads.settled()

    async def close(self) -> None:
        await self._reads.close()

    async def changes(self) -> AsyncIterator[BrokerChange]:
        """Every change from now on, in order."""
        queue: asyncio.Queue[BrokerChange] = asyncio.Queue()
        self._queues.append(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues.remove(queue)

    def _on_broker_data(self, event: WatchedEvent) -> None:
        if event.type == EventType.CHANGED:
            self._reads.schedule()

    async def _refresh(self) -> None:
        children = await self._zk.get_children(paths.BROKER_IDS, watch=self._reads.watch)
        current: dict[int, LiveBroker] = {}
        versions = {i: v for i, v in self._data_versions.items() if i in self.live}
        for name in children:
            if not name.isdigit():
                log.warning("Ignoring %s/%s: not a broker id", paths.BROKER_IDS, name)
                continue
            broker_id = int(name)
            known = self.live.get(broker_id)
            try:
                data, stat = await self._zk.get(paths.broker_id_path(broker_id), watch=self._on_broker_data)
            except NoNodeError:  # died between the two reads: the children watch fires again
                continue
            same_epoch = known is not None and known.broker_epoch == stat.czxid
            if known is not None and same_epoch and self._data_versions.get(broker_id) == stat.version:
                current[broker_id] = known
                continue
            try:
                current[broker_id] = LiveBroker(decode_broker_registration(broker_id, data), int(stat.czxid))
                versions[broker_id] = int(stat.version)
            except ZnodeDataError as e:
                if known is not None and same_epoch:
                    log.error("Keeping broker %d's last good registration: %s", broker_id, e)
                    current[broker_id] = known
                    versions[broker_id] = int(stat.version)  # logged once, not at every read
                else:
                    log.error("Leaving broker %d out of the live brokers: %s", broker_id, e)
        previous = self.live
        change = BrokerChange(
            joined={i: b for i, b in current.items() if i not in previous},
            died=frozenset(i for i in previous if i not in current),
            bounced={i: b for i, b in current.items() if i in previous and previous[i].broker_epoch != b.broker_epoch},
            updated={
                i: b for i, b in current.items()
                if i in previous and previous[i].broker_epoch == b.broker_epoch and previous[i] != b
            },
        )  # fmt: skip
        self.live = current
        self._data_versions = {i: v for i, v in versions.items() if i in current}
        if change:
            log.info(
                "Live brokers %s: joined %s, died %s, bounced %s, updated %s", sorted(current),
                sorted(change.joined), sorted(change.died), sorted(change.bounced), sorted(change.updated),
            )  # fmt: skip
            for queue in self._queues:
                queue.put_nowait(change)
            if self._on_change is not None:
                self._on_change(change)
