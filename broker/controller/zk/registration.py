"""A broker joins a ZooKeeper cluster: top-level paths, cluster id, broker id, the ephemeral /brokers/ids/<id>.

As Kafka's KafkaServer and KafkaZkClient do it:
- ``create_top_level_paths``: the persistent paths every Kafka broker makes sure exist.
- ``get_or_create_cluster_id``: /cluster/id, created with the proposed id by the first broker;
  ``check_cluster_id`` refuses a log dir of another cluster (Kafka's InconsistentClusterIdException).
- ``resolve_broker_id``: the configured broker.id, else the one in meta.properties, else (with
  broker.id.generation.enable) a new one from /brokers/seqid: its znode version plus reserved.broker.max.id.
- ``ZkBrokerRegistration``: the registration znode is ephemeral and "checked" (a node of another session
  is another live broker with our id: ``BrokerIdInUse``, Kafka's message; a node of our own session is a
  create whose answer a lost connection swallowed). The broker epoch is the znode's czxid. It is created
  with a create and a setData in one transaction, as Kafka does, so the znode's version is 1 as Kafka's.
  After the session expires, the registration is made again in the new session (a new broker epoch) and
  ``on_registered`` is told.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from kazoo.exceptions import NodeExistsError, NoNodeError

from . import paths
from .client import ZkClient, ZkSessionState
from .znodes import BrokerRegistration, decode_cluster_id, encode_broker_registration, encode_cluster_id

log = logging.getLogger(__name__)


class BrokerIdInUse(Exception):
    """Another live broker holds /brokers/ids/<id>."""


class InconsistentClusterId(Exception):
    pass


class InconsistentBrokerId(Exception):
    pass


class ClusterIdMissing(Exception):
    pass


async def create_top_level_paths(zk: ZkClient) -> None:
    for path in paths.PERSISTENT_PATHS:
        await zk.ensure_path(path)


async def get_or_create_cluster_id(zk: ZkClient, proposed: str) -> str:
    """The cluster's id: the one in /cluster/id, or ``proposed`` if this broker is the first."""
    await zk.ensure_path(paths.CLUSTER_ID.rsplit("/", 1)[0])
    try:
        await zk.create(paths.CLUSTER_ID, encode_cluster_id(proposed))
        return proposed
    except NodeExistsError:
        pass
    try:
        data, _ = await zk.get(paths.CLUSTER_ID)
    except NoNodeError:
        raise ClusterIdMissing(
            "Failed to get cluster id from Zookeeper. This can happen if /cluster/id is deleted from Zookeeper."
        ) from None
    return decode_cluster_id(data)


def check_cluster_id(cluster_id: str, stored: str | None) -> None:
    """Refuse a log dir that belongs to another cluster (meta.properties' cluster.id)."""
    if stored is not None and stored != cluster_id:
        raise InconsistentClusterId(
            f"The Cluster ID {cluster_id} doesn't match stored clusterId Some({stored}) in meta.properties. "
            "The broker is trying to join the wrong cluster. Configured zookeeper.connect may be wrong."
        )


async def generate_broker_id(zk: ZkClient, reserved_broker_max_id: int) -> int:
    """A new broker id: bump /brokers/seqid's version (from 1) and add reserved.broker.max.id."""
    while True:
        try:
            stat = await zk.set(paths.BROKER_SEQUENCE_ID, b"", -1)
            return int(stat.version) + reserved_broker_max_id
        except NoNodeError:
            await zk.ensure_path(paths.BROKER_SEQUENCE_ID)


async def resolve_broker_id(
    zk: ZkClient, configured: int, stored: int | None, generation_enable: bool, reserved_broker_max_id: int
) -> int:
    """Kafka's getOrGenerateBrokerId: configured, else stored in meta.properties, else generated."""
    if configured >= 0:
        if stored is not None and stored != configured:
            raise InconsistentBrokerId(
                f"Configured broker.id {configured} doesn't match stored broker.id Some({stored}) in "
                "meta.properties. If you moved your data, make sure your configured broker.id matches. If you "
                "intend to create a new broker, you should remove all data in your data directories (log.dirs)."
            )
        return configured
    if stored is not None:
        return stored
    if not generation_enable:
        raise InconsistentBrokerId("broker.id is -1 and broker.id.generation.enable is false: set broker.id")
    return await generate_broker_id(zk, reserved_broker_max_id)


class ZkBrokerRegistration:
    """The live registration of one broker; one instance per broker, used from the event loop."""

    def __init__(
        self,
        zk: ZkClient,
        registration: Callable[[], BrokerRegistration],
        on_registered: Callable[[int], None] | None = None,
    ) -> None:
        """``registration()`` builds the znode's content (called at each registration, for a fresh
        timestamp); ``on_registered(broker_epoch)`` runs after each re-registration in a new session."""
        self._zk = zk
        self._registration = registration
        self._on_registered = on_registered
        self.broker_epoch = -1  # the czxid of our znode; -1 while not registered
        self._session_id = 0
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def path(self) -> str:
        return paths.broker_id_path(self._registration().broker_id)

    async def register(self) -> int:
        """Create the znode; BrokerIdInUse if another session holds it. Returns the broker epoch."""
        self._zk.add_state_listener(self._on_state)
        await self._zk.ensure_path(paths.BROKER_IDS)
        return await self._register()

    async def _register(self) -> int:
        registration = self._registration()
        registration = BrokerRegistration(
            registration.broker_id, registration.endpoints, registration.rack, registration.jmx_port,
            registration.timestamp_ms or int(time.time() * 1000), registration.version, registration.features,
        )  # fmt: skip
        path = paths.broker_id_path(registration.broker_id)
        data = encode_broker_registration(registration)
        while True:
            try:
                _, stat = await self._zk.multi(
                    lambda t: (t.create(path, data, ephemeral=True), t.set_data(path, data, 0))
                )
                break
            except NodeExistsError:
                try:
                    _, stat = await self._zk.get(path)
                except NoNodeError:
                    log.info("The ephemeral node at %s went away while reading it, attempting create() again", path)
                    continue
                session_id = self._zk.session_id
                if stat.ephemeralOwner != session_id:
                    raise BrokerIdInUse(
                        f"Error while creating ephemeral at {path}, node already exists and owner "
                        f"'{stat.ephemeralOwner}' does not match current session '{session_id}'"
                    ) from None
                break
        self.broker_epoch = int(stat.czxid)
        self._session_id = int(stat.ephemeralOwner)
        log.info(
            "Registered broker %d at path %s with addresses: %s, broker epoch %d",
            registration.broker_id, path, [e.connection_string for e in registration.endpoints], self.broker_epoch,
        )  # fmt: skip
        return self.broker_epoch

    def _on_state(self, state: ZkSessionState) -> None:
        if self._closed:
            return
        if state is ZkSessionState.EXPIRED:
            self.broker_epoch = -1
        elif (
            state is ZkSessionState.CONNECTED
            and self._zk.session_id != self._session_id
            and (self._task is None or self._task.done())
        ):
            self._task = asyncio.create_task(self._reregister())

    async def _reregister(self) -> None:
        try:
            epoch = await self._register()
        except BrokerIdInUse as e:  # another broker took our id while we had no session
            log.error("%s", e)
            return
        except Exception:
            log.exception("Re-registering %s in the new ZooKeeper session failed", self.path)
            return
        if self._on_registered is not None:
            self._on_registered(epoch)

    async def close(self) -> None:
        """Stop following the session (the znode goes when the session is closed)."""
        self._closed = True
        self._zk.remove_state_listener(self._on_state)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
