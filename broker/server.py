"""The broker process: listeners, connections, and the components every handler reaches through it.

Start-up: read (or create) the cluster id in ``meta.properties``, load topic metadata, open every
partition log with its topic's configs (recovering after an unclean stop), lead every partition, then
listen. In cluster mode (``zookeeper.connect`` set) the cluster id and broker id come from ZooKeeper
first, partitions are hosted as the controller's LeaderAndIsr says, and once listening the broker
registers and runs for controller (``broker.controller.zk.node``). Shutdown (SIGTERM, SIGINT): stop
accepting, let in-flight requests finish for a few seconds, close connections, then flush logs and
write the checkpoints and the clean-shutdown marker.

One event loop owns all broker state; nothing here is thread-safe, and nothing needs to be. Blocking
disk work runs in worker threads (``_off_loop``): the flush each segment roll asks for (then the
recovery point moves, and its checkpoint is written), the periodic checkpoints (one write at a time:
``_checkpoint_lock``), retention's file deletions and flush.ms flushes. Storage hands over that work as
callables whose state it captured on the loop, so no state change straddles an ``await``.
Leader-epoch checkpoint writes (each a write and two fsyncs, at every new epoch and every follower
truncation) run in one worker thread of their own, in the order they were made; a checkpoint of
recovery points is written only after every epoch write scheduled before its offsets were captured
(``LeaderEpochCache`` says why that keeps recovery correct), and all of them finish before the logs close.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from broker import handlers
from broker.alter_partition import AlterPartitionManager
from broker.components import BrokerComponents
from broker.config import BrokerConfig
from broker.config_defs import ConfigError
from broker.controller.api import Controller
from broker.controller.commands import ControllerCommands
from broker.controller.embedded import EmbeddedController
from broker.controller.zk.acls import ZkAclStore
from broker.controller.zk.admin import ZkAdmin
from broker.controller.zk.client_quotas import ZkClientQuotaStore
from broker.controller.zk.controlled_shutdown import request_controlled_shutdown, shut_down_broker
from broker.controller.zk.node import ZkBrokerNode
from broker.controller.zk.producer_ids import ZkProducerIdBlocks
from broker.controller.zk.scram import ZkScramStore
from broker.controller.zk.znodes import EndPoint
from broker.coordinator.group.service import GroupService
from broker.coordinator.group.store import OFFSETS_TOPIC
from broker.coordinator.producer_id import BlockProducerIdManager, LocalBlockFile
from broker.coordinator.transaction.service import TransactionService
from broker.coordinator.transaction.store import TRANSACTION_TOPIC
from broker.fault_endpoint import FaultEndpoint
from broker.fault_injection import FaultInjector
from broker.listeners import SocketServer, parse_listeners
from broker.metadata_cache import Endpoint, MetadataCache
from broker.network_client import NetworkClient
from broker.quotas.manager import ClientQuotaManager
from broker.quotas.store import ClientQuotaStore, LogDirClientQuotaStore
from broker.replica_manager import ReplicaManager
from broker.replication import ReplicaFetcherManager
from broker.replication.quota import FOLLOWER, LEADER, ReplicationQuota
from broker.security.acl import AUTHORIZER_CLASSES, Authorizer, parse_super_users
from broker.security.acl_store import AclStore, LogDirAclStore
from broker.security.scram_store import LogDirScramStore
from broker.topics import TopicMetadata, TopicStore
from broker.version_profiles import apply_profile
from storage.checkpoints import MetaProperties, read_meta_properties
from storage.config import LogConfig
from storage.errors import StorageError
from storage.log.local_log import FlushWork
from storage.log.log import Log
from storage.manager import LogManager

log = logging.getLogger(__name__)

HIGH_WATERMARK_CHECKPOINT_INTERVAL_S = 5.0  # replica.high.watermark.checkpoint.interval.ms
OFFSET_CHECKPOINT_INTERVAL_S = 60.0  # log.flush.offset.checkpoint.interval.ms
SHUTDOWN_GRACE_S = 5.0
CLEANER_SLICE_S = 0.005  # the log cleaner runs about this long before it lets the loop serve clients
# Loop iterations the cleaner gives up after each slice: a request needs two (its bytes are read, then
# its connection's task handles it), so one that arrived during a slice is answered before the next.
CLEANER_YIELDS = 2


def new_cluster_id() -> str:
    """Kafka's form: a random UUID in URL-safe base64 without padding (22 characters)."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


class Broker:
    def __init__(self, config: BrokerConfig, started_at: float | None = None) -> None:
        """``started_at``: when the process began starting the broker (``time.monotonic()``), for the log."""
        handlers.load()
        apply_profile(  # what ApiVersions advertises
            config.get("kafkish.api.version.profile"), unstable=config.get("unstable.api.versions.enable")
        )
        self.config = config
        self.node_id = config.node_id
        self.listeners = parse_listeners(config)
        self.log_dirs = [os.path.abspath(d) for d in config.log_dirs]
        self.stopping = False
        self.started_at = time.monotonic() if started_at is None else started_at
        self.cluster_id = ""
        self.socket_server = SocketServer(config, self.listeners)
        self.components: BrokerComponents
        self._background: list[asyncio.Task[None]] = []
        self._flushes: set[asyncio.Task[None]] = set()  # roll flushes under way
        self._checkpoint_lock = asyncio.Lock()
        self._epoch_writer = ThreadPoolExecutor(1, thread_name_prefix="epoch-checkpoint")
        self._epoch_writer.submit(lambda: None)  # its thread starts now, not at the first new epoch
        self._recovery_checkpoint: asyncio.Task[None] | None = None
        self._recovery_checkpoint_again = False
        self.log_manager: LogManager
        self.replica_manager: ReplicaManager
        self.metadata_cache: MetadataCache  # what handlers read of the cluster
        self.controller: Controller  # what admin handlers change it through (embedded, or ZooKeeper's)
        self.embedded: EmbeddedController | None = None  # no zookeeper.connect: the cluster of one
        self.zk_node: ZkBrokerNode | None = None  # zookeeper.connect set: cluster mode
        self.topics: TopicStore | None = None  # embedded mode: the topic metadata in the log dir
        self.controller_commands: ControllerCommands | None = None
        self.alter_partition: AlterPartitionManager | None = None  # cluster mode: ISR changes to the controller
        self.replica_fetchers: ReplicaFetcherManager | None = None  # cluster mode: the followers' fetching
        self.group_coordinator: GroupService
        self.transaction_coordinator: TransactionService  # on_elected/on_resigned per __transaction_state partition
        self.fault_endpoint: FaultEndpoint | None = None  # kafkish.fault.injection.enable (tests only)

    # -- life cycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        stored = self._stored_meta()
        if self.config.get("zookeeper.connect"):
            self.zk_node = ZkBrokerNode(self.config, new_cluster_id)
            self.cluster_id, self.node_id = await self.zk_node.connect(stored)
        else:
            self.cluster_id = stored.cluster_id if stored is not None else new_cluster_id()
            self.topics = TopicStore(self.log_dirs[0])
            self.topics.load()  # first: logs recover with their topics' configs
            for topic in self.topics.topics.values():  # a stored config it cannot apply never stops the broker
                topic.configs = self.config.usable_topic_overrides(topic.name, topic.configs)
        self.log_manager = LogManager(
            self.log_dirs,
            LogConfig.from_props(self.config.topic_values({})),
            meta=MetaProperties(self.cluster_id, self.node_id),
            topic_configs=self._topic_log_config,
            producer_id_expiration_ms=self.config.get("producer.id.expiration.ms"),
            flush_scheduler=self._schedule_flush,
            epoch_write_scheduler=self._schedule_epoch_write,
            recovery_threads_per_data_dir=self.config.get("num.recovery.threads.per.data.dir"),
        )
        self.log_manager.startup()
        self.metadata_cache = MetadataCache(self.node_id, self.cluster_id)
        self.replica_manager = ReplicaManager(self.node_id, self.config, self.log_manager, self.metadata_cache)
        if self.zk_node is not None:
            zk_node = self.zk_node
            # replication quotas: their rates are read at each check, so AlterConfigs applies at once
            self.replica_manager.leader_quota = ReplicationQuota(LEADER, self.config, self.node_id)
            self.replica_fetchers = ReplicaFetcherManager(
                self.node_id, self.config, self.metadata_cache, zk_node.inter_broker_listener,
                ReplicationQuota(FOLLOWER, self.config, self.node_id),
            )  # fmt: skip
            self.replica_manager.fetchers = self.replica_fetchers
            self.controller = ZkAdmin(
                zk_node.zk, self.config, self.metadata_cache, self._apply_topic_configs, lambda: zk_node.controller
            )
            self.controller_commands = ControllerCommands(
                self.node_id, self.replica_manager, self.metadata_cache,
                lambda: zk_node.broker_epoch, lambda: zk_node.active_controller, zk_node.topic_configs,
            )  # fmt: skip
            cache = self.metadata_cache
            self.alter_partition = AlterPartitionManager(
                self.node_id, NetworkClient(f"broker-{self.node_id}-alter-partition"), zk_node.controller_address,
                lambda: zk_node.broker_epoch, lambda broker_id: cache.alive_broker(broker_id) is not None,
                self.replica_manager.on_high_watermark_change,
            )  # fmt: skip
            self.replica_manager.alter_isr = self.alter_partition
        else:
            assert self.topics is not None
            self.controller = self.embedded = EmbeddedController(
                self.node_id, self.config, self.topics, self.replica_manager, self.metadata_cache
            )
            self.embedded.start()
        self.group_coordinator = GroupService(
            self.config, self.metadata_cache, self.controller, self.replica_manager, cluster=self.zk_node is not None
        )
        await self.group_coordinator.start()
        producer_ids = BlockProducerIdManager(
            LocalBlockFile(self.log_dirs[0])
            if self.zk_node is None
            else ZkProducerIdBlocks(self.zk_node.zk, self.node_id)
        )
        self.transaction_coordinator = TransactionService(
            self.config,
            self.metadata_cache,
            self.controller,
            self.replica_manager,
            producer_ids,
            self.group_coordinator.coordinator,
            self.zk_node.inter_broker_listener if self.zk_node is not None else None,
        )
        await self.transaction_coordinator.start()
        if self.controller_commands is not None:
            # Coordinators of internal topics follow their partitions' leadership here.
            self.controller_commands.leadership[OFFSETS_TOPIC] = self.group_coordinator
            self.controller_commands.leadership[TRANSACTION_TOPIC] = self.transaction_coordinator
        self.components = BrokerComponents(
            node_id=self.node_id,
            config=self.config,
            log_dirs=self.log_dirs,
            log_manager=self.log_manager,
            metadata_cache=self.metadata_cache,
            replica_manager=self.replica_manager,
            controller=self.controller,
            group_coordinator=self.group_coordinator,
            producer_ids=producer_ids,
            transaction_coordinator=self.transaction_coordinator,
            controller_commands=self.controller_commands,
            isr_controller=self.zk_node.alter_partition if self.zk_node is not None else None,
            scram_credentials=self._scram_credentials(),
        )
        if self.zk_node is not None:
            node = self.zk_node
            self.components.controlled_shutdown = lambda broker_id, epoch: shut_down_broker(
                node.controller, broker_id, epoch
            )
        await self._start_authorizer()
        if self.zk_node is not None:  # cluster mode: SCRAM users in /config/users, seen by every broker
            zk_scram = ZkScramStore(self.zk_node.zk)
            await zk_scram.start()
            self.components.scram_credentials = zk_scram
        self.components.client_quotas = ClientQuotaManager(self.config, await self._client_quota_store())
        if self.config.get("kafkish.fault.injection.enable"):
            self.components.faults = FaultInjector(self.metadata_cache)
            self.fault_endpoint = FaultEndpoint(
                self.components.faults,
                self.config.get("kafkish.fault.injection.host"),
                self.config.get("kafkish.fault.injection.port"),
            )
            await self.fault_endpoint.start()
        self.listeners = await self.socket_server.start(self.components)
        if self.zk_node is not None:
            endpoints = (
                EndPoint(lst.name, lst.advertised_host, lst.advertised_port, "PLAINTEXT") for lst in self.listeners
            )
            self.zk_node.on_broker_configs = self._apply_broker_configs
            await self.zk_node.join(tuple(endpoints), self._apply_topic_configs)
        elif self.embedded is not None:
            self.embedded.register_endpoints(
                [Endpoint(lst.name, lst.advertised_host, lst.advertised_port) for lst in self.listeners]
            )
        self._background = [
            asyncio.create_task(self._every(HIGH_WATERMARK_CHECKPOINT_INTERVAL_S, self._checkpoint_hw)),
            asyncio.create_task(self._every(OFFSET_CHECKPOINT_INTERVAL_S, self._checkpoint_offsets)),
            asyncio.create_task(
                self._every(self.config.get("log.retention.check.interval.ms") / 1000, self._retention)
            ),
            asyncio.create_task(self._every(1.0, self._flush)),
            # Kafka's isr-expiration task: every replica.lag.time.max.ms / 2
            asyncio.create_task(self._every(self.config.get("replica.lag.time.max.ms") / 2000, self._shrink_isrs)),
            asyncio.create_task(
                self._every(self.config.get("producer.id.expiration.check.interval.ms") / 1000, self._expire_producers)
            ),
        ]
        if self.config.get("log.cleaner.enable"):
            backoff_s = self.config.get("log.cleaner.backoff.ms") / 1000
            self._background.append(asyncio.create_task(self._every(backoff_s, self._clean)))
        where = ", ".join(
            f"{lst.name}://{lst.bind_host or '0.0.0.0'}:{lst.port} (advertised {lst.advertised_host}:"
            f"{lst.advertised_port})"
            for lst in self.listeners
        )
        log.info(
            "kafkish broker %d of cluster %s listening on %s; data in %s; started in %.2fs",
            self.node_id, self.cluster_id, where, ", ".join(self.log_dirs), time.monotonic() - self.started_at,
        )  # fmt: skip

    async def _start_authorizer(self) -> None:
        """``authorizer.class.name``: Kafka's AclAuthorizer turns ACLs on, kept in ZooKeeper in cluster mode."""
        name = self.config.get("authorizer.class.name")
        if not name:
            return
        if name not in AUTHORIZER_CLASSES:
            raise ConfigError(
                f"authorizer.class.name={name}: kafkish implements {', '.join(sorted(AUTHORIZER_CLASSES))}"
            )
        authorizer = Authorizer(
            parse_super_users(self.config.get("super.users")), self.config.get("allow.everyone.if.no.acl.found")
        )
        if self.zk_node is not None:
            zk_store = ZkAclStore(self.zk_node.zk, authorizer)
            await zk_store.start()
            store: AclStore = zk_store
        else:
            log_dir_store = LogDirAclStore(authorizer, self.log_dirs[0])
            log_dir_store.load()
            store = log_dir_store
        self.components.authorizer, self.components.acls = authorizer, store

    async def _client_quota_store(self) -> ClientQuotaStore:
        if self.zk_node is not None:  # cluster mode: /config/users and /config/clients, seen by every broker
            zk_store = ZkClientQuotaStore(self.zk_node.zk)
            await zk_store.start()
            return zk_store
        store = LogDirClientQuotaStore(self.log_dirs[0])
        store.load()
        return store

    def _scram_credentials(self) -> LogDirScramStore:
        store = LogDirScramStore(self.log_dirs[0])  # cluster mode: a ZooKeeper store (/config/users) instead
        store.load()
        return store

    def _stored_meta(self) -> MetaProperties | None:
        for log_dir in self.log_dirs:
            meta = read_meta_properties(log_dir) if os.path.isdir(log_dir) else None
            if meta is not None:
                return meta
        return None

    def _apply_topic_configs(self, name: str, overrides: dict[str, Any]) -> None:
        """Cluster mode: a topic's config overrides changed (a /config/changes notification)."""
        image = self.metadata_cache.topic(name)
        self.metadata_cache.update_topic_configs(name, overrides)
        if image is not None:
            replicas = [list(p.replicas) for p in image.partitions.values()]
            self.replica_manager.update_config(TopicMetadata(name, image.topic_id, replicas, overrides))
        log.info("topic %s config overrides are now %s", name, overrides)

    def _apply_broker_configs(self) -> None:
        """Cluster mode: dynamic broker configs changed; topics inherit the new log configs."""
        for name, image in self.metadata_cache.topics.items():
            replicas = [list(p.replicas) for p in image.partitions.values()]
            overrides = dict(self.metadata_cache.topic_configs(name))
            self.replica_manager.update_config(TopicMetadata(name, image.topic_id, replicas, overrides))

    async def shutdown(self) -> None:
        if self.stopping:
            return
        self.stopping = True
        log.info("shutting down")
        if (
            self.zk_node is not None
            and self.zk_node.registration is not None
            and self.config.get("controlled.shutdown.enable")
        ):  # still serving (a controller asks itself): leadership moves away while clients can follow it
            await request_controlled_shutdown(self.zk_node)
        if hasattr(self, "components"):
            self.components.stopping = True
        self.socket_server.stop_accepting()
        if self.fault_endpoint is not None:
            await self.fault_endpoint.stop()
        if self.replica_fetchers is not None:  # nothing is appended as follower from here on
            await self.replica_fetchers.shutdown()
        if self.zk_node is not None:  # the session ends: the controller moves our partitions' leadership
            components = getattr(self, "components", None)
            quotas = components.client_quotas.store if components and components.client_quotas else None
            for store in (components.acls, components.scram_credentials, quotas) if components is not None else ():
                if isinstance(store, (ZkAclStore, ZkScramStore, ZkClientQuotaStore)):
                    await store.close()
            await self.zk_node.close()
        if self.alter_partition is not None:
            await self.alter_partition.close()
        for task in self._background:
            task.cancel()
        # Let them finish (a cleaner pass cut short removes its .cleaned files) before the logs close.
        await asyncio.gather(*self._background, return_exceptions=True)
        await asyncio.gather(*self._flushes, return_exceptions=True)
        # Stop reading new requests, wake long-polling fetches so they answer now with what they have,
        # and give the requests already read a few seconds to be answered.
        self.socket_server.stop_reading()
        self.replica_manager.fetch_purgatory.notify_all()
        self.replica_manager.produce_purgatory.notify_all()
        await self.socket_server.close_connections(SHUTDOWN_GRACE_S)
        self.group_coordinator.shutdown()
        self.transaction_coordinator.shutdown()
        await asyncio.gather(*self._flushes, return_exceptions=True)  # rolls while the last requests ran
        if self._recovery_checkpoint is not None:
            await asyncio.gather(self._recovery_checkpoint, return_exceptions=True)
        await asyncio.to_thread(self._epoch_writer.shutdown, True)
        self.log_manager.shutdown()
        log.info("shut down cleanly")

    # -- periodic work ----------------------------------------------------------------------------
    async def _every(self, interval_s: float, work: Callable[[], Awaitable[None] | None]) -> None:
        """Run ``work`` (a function, or an async one) every ``interval_s`` after the previous run ended."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                result = work()
                if result is not None:
                    await result
            except Exception:
                log.exception("periodic %s failed", getattr(work, "__name__", work))

    def _topic_log_config(self, topic: str) -> LogConfig | None:
        """A topic's log config at load time (embedded mode; in cluster mode LeaderAndIsr applies it)."""
        metadata = self.topics.get(topic) if self.topics is not None else None
        return None if metadata is None else LogConfig.from_props(self.config.topic_values(metadata.configs))

    @staticmethod
    async def _off_loop(work: Callable[[], None]) -> None:
        """Run ``work`` in a worker thread. Cancelled, it still waits for the thread to finish (its
        files may be written again right after, e.g. by the shutdown's checkpoints) and re-raises."""
        future = asyncio.ensure_future(asyncio.to_thread(work))
        try:
            await asyncio.shield(future)
        except asyncio.CancelledError:
            await asyncio.wait([future])
            raise

    def _schedule_flush(self, partition_log: Log, work: FlushWork) -> None:
        """``Log.flush_scheduler``: called on the loop when a segment rolls."""
        task = asyncio.get_running_loop().create_task(self._flush_rolled(partition_log, work))
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _flush_rolled(self, partition_log: Log, work: FlushWork) -> None:
        try:
            await self._off_loop(work.run)
        except OSError as e:
            log.error("%s", partition_log.flush_failed(work, e))
            return
        partition_log.mark_flushed(work)
        self._checkpoint_recovery_points_soon()

    def _checkpoint_recovery_points_soon(self) -> None:
        """Write the recovery points after a roll's flush moved one: so a crash soon after recovers
        from the active segment, not from the last periodic checkpoint. Writes coalesce."""
        if self._recovery_checkpoint is not None and not self._recovery_checkpoint.done():
            self._recovery_checkpoint_again = True
            return
        self._recovery_checkpoint = asyncio.get_running_loop().create_task(self._write_recovery_points())

    async def _write_recovery_points(self) -> None:
        try:
            while True:
                self._recovery_checkpoint_again = False
                await self._write_checkpoint(self.log_manager.recovery_point_checkpoint_work)
                if not self._recovery_checkpoint_again:
                    return
        except StorageError as e:
            log.error("%s", e)

    async def _write_checkpoint(self, make_work: Callable[[], Callable[[], None]]) -> None:
        """Capture a checkpoint's offsets on the loop and write it in a worker thread, one at a time."""
        async with self._checkpoint_lock:
            work = make_work()
            await self._epoch_writes_done()
            await self._off_loop(work)

    def _schedule_epoch_write(self, partition_log: Log, work: Callable[[], None]) -> None:
        """``LogManager``'s epoch write scheduler, called on the loop: the write joins the queue of the
        epoch writer thread (after shutdown began: written at once). A failed write takes the log
        offline, on the loop. Off the loop (no change is made there today) it writes at once."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            work()
            return

        def failed(e: OSError) -> None:
            log.error("%s", partition_log.epoch_checkpoint_failed(e))

        def write() -> None:
            try:
                work()
            except OSError as e:
                loop.call_soon_threadsafe(failed, e)

        try:
            self._epoch_writer.submit(write)
        except RuntimeError:  # the executor is shut down
            try:
                work()
            except OSError as e:
                failed(e)

    async def _epoch_writes_done(self) -> None:
        """Wait for every epoch checkpoint write scheduled so far (the writer runs them in order)."""
        try:
            await asyncio.wrap_future(self._epoch_writer.submit(lambda: None))
        except RuntimeError:  # shut down: it finished them all
            return

    async def _checkpoint_hw(self) -> None:
        await self._write_checkpoint(self.log_manager.high_watermark_checkpoint_work)

    async def _checkpoint_offsets(self) -> None:
        await self._write_checkpoint(self.log_manager.recovery_point_checkpoint_work)
        await self._write_checkpoint(self.log_manager.log_start_offset_checkpoint_work)

    async def _retention(self) -> None:
        deleted = self.log_manager.cleanup_logs(purge=False)  # renames to .deleted: metadata only
        if deleted:
            log.info("retention deleted %d segment(s)", deleted)
        purge = self.log_manager.purge_work()
        if purge is not None:
            await self._off_loop(purge)

    async def _flush(self) -> None:
        """flush.ms: each due log's flush in a worker thread, then its recovery point moves."""
        for partition_log, work in self.log_manager.dirty_flush_work():
            try:
                await self._off_loop(work.run)
            except OSError as e:
                log.error("%s", partition_log.flush_failed(work, e))
                continue
            partition_log.mark_flushed(work)

    def _shrink_isrs(self) -> None:
        self.replica_manager.maybe_shrink_isr()

    def _expire_producers(self) -> None:
        self.log_manager.remove_expired_producers()

    async def _clean(self) -> None:
        """One log cleaner pass (``LogManager.clean_logs_steps``), run in slices of about
        ``CLEANER_SLICE_S`` between which the loop serves clients (a step is bounded, see
        ``storage.cleaner.cleaner``); the blocking work a step hands over (the fsync of a cleaned segment) runs
        in a worker thread. Cancelled (shutdown), the pass is abandoned: closing it removes its
        ``.cleaned`` files and changes nothing else."""
        steps = self.log_manager.clean_logs_steps()
        started = time.monotonic()
        slices = 1
        try:
            deadline = started + CLEANER_SLICE_S
            failed: Exception | None = None
            while True:
                try:
                    step = next(steps) if failed is None else steps.throw(failed)
                except StopIteration as stop:
                    cleaned: int = stop.value
                    break
                failed = None
                if step is not None:  # blocking work (a cleaned segment's fsync): off the loop
                    work = asyncio.ensure_future(asyncio.to_thread(step))
                    try:
                        await asyncio.shield(work)
                    except asyncio.CancelledError:
                        await asyncio.wait([work])  # its files go only once the thread is done with them
                        raise
                    except Exception as e:
                        failed = e
                    deadline = time.monotonic() + CLEANER_SLICE_S
                elif time.monotonic() >= deadline:
                    for _ in range(CLEANER_YIELDS):
                        await asyncio.sleep(0)
                    slices += 1
                    deadline = time.monotonic() + CLEANER_SLICE_S
        finally:
            steps.close()
        if cleaned:
            log.info(
                "log cleaner compacted %d log(s) in %.2fs (%d slices)", cleaned, time.monotonic() - started, slices
            )

    # -- what handlers ask ---------------------------------------------------------------------------
    def advertised(self, listener: str) -> tuple[str, int]:
        for lst in self.listeners:
            if lst.name == listener:
                return lst.advertised_host, lst.advertised_port
        first = self.listeners[0]
        return first.advertised_host, first.advertised_port
