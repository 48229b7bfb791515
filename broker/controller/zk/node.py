"""``ZkBrokerNode``: one broker's membership of a ZooKeeper cluster, in Kafka's start-up order.

    node = ZkBrokerNode(config)
    cluster_id, broker_id = await node.connect(stored_meta)   # before the logs open
    ...                                                       # logs, replica manager, listeners
    await node.join(endpoints)                                # register, watch, run for controller
    await node.close()                                        # the session ends: its ephemerals go

- ``connect``: the session (ZooKeeper unreachable for ``zookeeper.connection.timeout.ms``: a
  ``ClusterStartError`` naming the address), the top-level paths, the cluster id checked against
  meta.properties, the broker id (configured, stored, or generated from /brokers/seqid).
- ``join``: the ephemeral /brokers/ids/<id> (another live broker with the id: ``ClusterStartError``),
  the live-broker watch, the controller election; while this broker holds /controller its
  ``ZkController`` runs. Every broker follows /config/changes and hands a topic's new overrides to
  ``on_topic_configs``, and reloads its own and the cluster default's dynamic broker configs
  (``broker_configs``) when a notification names them, telling ``on_broker_configs``.
- ``broker_epoch`` and ``active_controller`` fence the controller's requests (``ControllerCommands``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from kazoo.exceptions import NoNodeError

from broker.config import BrokerConfig, ConfigError, validate_topic_configs
from broker.controller.errors import ClusterStartError
from broker.network_client import NetworkClient
from protocol.errors import ErrorCode
from protocol.messages.alter_partition import AlterPartitionRequest, AlterPartitionResponse
from storage.checkpoints import MetaProperties

from . import paths
from .broker_configs import DEFAULT_ENTITY, load_broker_configs
from .channel import ControllerChannel
from .client import ZkClient, ZkConnectionTimeout, zk_client_for
from .config_changes import new_config_changes
from .controller import ZkController
from .election import ZkControllerElection
from .live_brokers import ZkLiveBrokers
from .registration import (
    BrokerIdInUse,
    ClusterIdMissing,
    InconsistentBrokerId,
    InconsistentClusterId,
    ZkBrokerRegistration,
    check_cluster_id,
    create_top_level_paths,
    get_or_create_cluster_id,
    resolve_broker_id,
)
from .watcher import ZkWatchedRead
from .znodes import BrokerRegistration, EndPoint, ZnodeDataError, decode_entity_config

log = logging.getLogger(__name__)
TopicConfigs = Callable[[str, dict[str, Any]], None]


class ZkBrokerNode:
    def __init__(self, config: BrokerConfig, new_cluster_id: Callable[[], str]) -> None:
        self.config = config
        self.zk: ZkClient = zk_client_for(config)
        self._new_cluster_id = new_cluster_id
        self.broker_id = -1
        self.cluster_id = ""
        self.registration: ZkBrokerRegistration | None = None
        self.live: ZkLiveBrokers | None = None
        self.election: ZkControllerElection | None = None
        self.controller: ZkController | None = None
        self._on_topic_configs: TopicConfigs | None = None
        self._last_change = -1
        self._changes = ZkWatchedRead(self.zk, paths.CONFIG_CHANGES, self._follow_config_changes)
        self._listener = ""  # the inter-broker listener, checked by ``connect``
        self.on_broker_configs: Callable[[], None] | None = None  # this broker's dynamic configs changed

    @property
    def broker_epoch(self) -> int:
        return self.registration.broker_epoch if self.registration is not None else -1

    @property
    def active_controller(self) -> int:
        return self.election.active_controller_id if self.election is not None else -1

    @property
    def inter_broker_listener(self) -> str:
        """``inter.broker.listener.name``, else the first listener whose security protocol is
        ``security.inter.broker.protocol`` (Kafka's rule; setting both is a ConfigError)."""
        name = self.config.get("inter.broker.listener.name")
        explicit_protocol = "security.inter.broker.protocol" in self.config.explicit
        if name and explicit_protocol:
            raise ConfigError(
                "Only one of inter.broker.listener.name and security.inter.broker.protocol should be set."
            )
        if name:
            return str(name).upper()
        protocol = str(self.config.get("security.inter.broker.protocol")).upper()
        protocols = dict(
            entry.upper().split(":", 1) for entry in self.config.get("listener.security.protocol.map") if ":" in entry
        )
        names = [str(uri).partition("://")[0].upper() for uri in self.config.get("listeners")]
        for listener in names:
            if protocols.get(listener, listener) == protocol:
                return listener
        raise ConfigError(f"No listener uses security.inter.broker.protocol {protocol}: listeners are {names}")

    # -- start-up ----------------------------------------------------------------------------------------
    async def connect(self, stored: MetaProperties | None) -> tuple[str, int]:
        self._listener = self.inter_broker_listener  # a ConfigError stops the broker before anything starts
        try:
            await self.zk.start()
            await create_top_level_paths(self.zk)
            proposed = stored.cluster_id if stored is not None else self._new_cluster_id()
            self.cluster_id = await get_or_create_cluster_id(self.zk, proposed)
            check_cluster_id(self.cluster_id, stored.cluster_id if stored is not None else None)
            configured = self.config.get("broker.id")
            if configured < 0:
                configured = self.config.get("node.id")
            self.broker_id = await resolve_broker_id(
                self.zk, configured, stored.node_id if stored is not None else None,
                self.config.get("broker.id.generation.enable"), self.config.get("reserved.broker.max.id"),
            )  # fmt: skip
            await load_broker_configs(self.zk, self.config, self.broker_id)  # before the logs open
        except (ZkConnectionTimeout, InconsistentClusterId, InconsistentBrokerId, ClusterIdMissing) as exc:
            await self.zk.close()
            raise ClusterStartError(str(exc)) from exc
        return self.cluster_id, self.broker_id

    async def join(self, endpoints: tuple[EndPoint, ...], on_topic_configs: TopicConfigs) -> None:
        self._on_topic_configs = on_topic_configs
        rack = self.config.get("broker.rack")
        self.registration = ZkBrokerRegistration(self.zk, lambda: BrokerRegistration(self.broker_id, endpoints, rack))
        try:
            await self.registration.register()
        except BrokerIdInUse as exc:
            raise ClusterStartError(str(exc)) from exc
        await self._watch_config_changes(initial=True)
        self._changes.start()  # a new session has lost the watch: read again
        channel = ControllerChannel(NetworkClient(f"controller-{self.broker_id}"), self._listener)
        self.controller = ZkController(self.zk, self.broker_id, self.config, channel, self._live_brokers)
        self.controller.start()
        self.live = ZkLiveBrokers(self.zk, on_change=self.controller.brokers_changed)
        await self.live.start()
        self.election = ZkControllerElection(
            self.zk, self.broker_id, on_elected=self.controller.elected, on_resigned=self.controller.resigned
        )
        await self.election.start()

    def controller_address(self) -> tuple[int, str, int] | None:
        """The active controller's id, host and port on the inter-broker listener, as this broker last
        read /controller and the controller's registration (None: no controller known)."""
        controller_id = self.active_controller
        live = self.live.live.get(controller_id) if self.live is not None else None
        if live is None:
            return None
        endpoint = live.registration.endpoint(self._listener) or live.registration.endpoints[0]
        return controller_id, endpoint.host or "127.0.0.1", endpoint.port

    async def alter_partition(self, request: AlterPartitionRequest, version: int) -> AlterPartitionResponse:
        """AlterPartition as this broker answers it: the controller's work, else NOT_CONTROLLER."""
        if self.controller is None or self.controller.epoch is None:
            return AlterPartitionResponse(error_code=ErrorCode.NOT_CONTROLLER)
        return await self.controller.alter_partition(request, version)

    def _live_brokers(self) -> dict[int, Any]:
        return dict(self.live.live) if self.live is not None else {}

    async def close(self) -> None:
        await self._changes.close()
        for part in (self.election, self.live, self.registration):
            if part is not None:
                with contextlib.suppress(Exception):
                    await part.close()
        if self.controller is not None:
            await self.controller.close()
        await self.zk.close()

    # -- topic configs -------------------------------------------------------------------------------------
    async def topic_configs(self, topic: str) -> dict[str, Any]:
        """A topic's typed overrides from /config/topics/<t> (none, or unreadable: logged, no overrides)."""
        path = paths.topic_config_path(topic)
        try:
            data, _ = await self.zk.get(path)
            return validate_topic_configs(decode_entity_config(path, data).items())
        except NoNodeError:
            return {}
        except (ZnodeDataError, ConfigError) as exc:
            log.error("ignoring the config overrides of topic %s: %s", topic, exc)
            return {}

    async def _follow_config_changes(self) -> None:
        """Run by ``_changes`` at each new notification and new session."""
        await self._watch_config_changes(initial=False)

    async def _watch_config_changes(self, initial: bool) -> None:
        """Follow /config/changes: each notification newer than the last seen names an entity whose
        config changed (at start-up only the numbering is taken: configs are read when topics are hosted)."""
        try:
            self._last_change, entities = await new_config_changes(
                self.zk, self._last_change, self._changes.watch, initial
            )
        except NoNodeError:
            return
        for entity in entities:
            kind, _, name = entity.partition("/")
            if kind == "topics" and self._on_topic_configs is not None:
                overrides = await self.topic_configs(name)
                self._on_topic_configs(name, overrides)
                if overrides.get("unclean.leader.election.enable") and self.controller is not None:
                    self.controller.unclean_election_enabled(name)  # Kafka's TopicUncleanLeaderElectionEnable
            elif kind == "brokers" and name in (str(self.broker_id), DEFAULT_ENTITY):
                # Applied even when unchanged: the broker that wrote them took them already, not its topics.
                await load_broker_configs(self.zk, self.config, self.broker_id)
                if self.on_broker_configs is not None:
                    self.on_broker_configs()
