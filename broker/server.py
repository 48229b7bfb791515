"""The broker process: listeners, connections, and the components every handler reaches through it.

Start-up: read (or create) the cluster id in ``meta.properties``, open every partition log (recovering
after an unclean stop), load topic metadata, lead every partition, then listen. Shutdown (SIGTERM,
SIGINT): stop accepting, let in-flight requests finish for a few seconds, close connections, then
flush logs and write the checkpoints and the clean-shutdown marker.

One event loop owns all broker state; nothing here is thread-safe, and nothing needs to be.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable

from broker import handlers
from broker.components import BrokerComponents
from broker.config import BrokerConfig
from broker.controller.embedded import EmbeddedController
from broker.coordinator.group.service import GroupService
from broker.coordinator.producer_id import BlockProducerIdManager, LocalBlockFile
from broker.listeners import SocketServer, parse_listeners
from broker.metadata_cache import Endpoint, MetadataCache
from broker.replica_manager import ReplicaManager
from broker.security.scram_store import LogDirScramStore
from broker.topics import TopicStore
from storage.checkpoints import MetaProperties, read_meta_properties
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
        self.log_manager: LogManager
        self.replica_manager: ReplicaManager
        self.metadata_cache: MetadataCache  # what handlers read of the cluster
        self.controller: EmbeddedController  # what admin handlers change it through (api.Controller)
        self.group_coordinator: GroupService

    # -- life cycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        self.cluster_id = self._cluster_id()
        self.log_manager = LogManager(
            self.log_dirs,
            meta=MetaProperties(self.cluster_id, self.node_id),
            producer_id_expiration_ms=self.config.get("producer.id.expiration.ms"),
        )
        self.log_manager.startup()
        topics = TopicStore(self.log_dirs[0])
        topics.load()
        self.metadata_cache = MetadataCache(self.node_id, self.cluster_id)
        self.replica_manager = ReplicaManager(self.node_id, self.config, self.log_manager, self.metadata_cache)
        self.controller = EmbeddedController(
            self.node_id, self.config, topics, self.replica_manager, self.metadata_cache
        )
        self.controller.start()
        self.group_coordinator = GroupService(self.config, self.metadata_cache, self.controller, self.replica_manager)
        await self.group_coordinator.start()
        self.components = BrokerComponents(
            node_id=self.node_id,
            config=self.config,
            log_dirs=self.log_dirs,
            log_manager=self.log_manager,
            metadata_cache=self.metadata_cache,
            replica_manager=self.replica_manager,
            controller=self.controller,
            group_coordinator=self.group_coordinator,
            producer_ids=BlockProducerIdManager(LocalBlockFile(self.log_dirs[0])),
            scram_credentials=self._scram_credentials(),
        )
        self.listeners = await self.socket_server.start(self.components)
        self.controller.register_endpoints(
            [Endpoint(lst.name, lst.advertised_host, lst.advertised_port) for lst in self.listeners]
        )
        self._background = [
            asyncio.create_task(self._every(HIGH_WATERMARK_CHECKPOINT_INTERVAL_S, self._checkpoint_hw)),
            asyncio.create_task(self._every(OFFSET_CHECKPOINT_INTERVAL_S, self._checkpoint_offsets)),
            asyncio.create_task(
                self._every(self.config.get("log.retention.check.interval.ms") / 1000, self._retention)
            ),
            asyncio.create_task(self._every(1.0, self._flush)),
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

    def _scram_credentials(self) -> LogDirScramStore:
        store = LogDirScramStore(self.log_dirs[0])  # cluster mode: a ZooKeeper store (/config/users) instead
        store.load()
        return store

    def _cluster_id(self) -> str:
        for log_dir in self.log_dirs:
            meta = read_meta_properties(log_dir) if os.path.isdir(log_dir) else None
            if meta is not None:
                return str(meta.cluster_id)
        return new_cluster_id()

    async def shutdown(self) -> None:
        if self.stopping:
            return
        self.stopping = True
        if hasattr(self, "components"):
            self.components.stopping = True
        log.info("shutting down")
        self.socket_server.stop_accepting()
        for task in self._background:
            task.cancel()
        # Let them finish (a cleaner pass cut short removes its .cleaned files) before the logs close.
        await asyncio.gather(*self._background, return_exceptions=True)
        # Stop reading new requests, wake long-polling fetches so they answer now with what they have,
        # and give the requests already read a few seconds to be answered.
        self.socket_server.stop_reading()
        self.replica_manager.fetch_purgatory.notify_all()
        self.replica_manager.produce_purgatory.notify_all()
        await self.socket_server.close_connections(SHUTDOWN_GRACE_S)
        self.group_coordinator.shutdown()
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

    def _checkpoint_hw(self) -> None:
        self.log_manager.checkpoint_high_watermarks()

    def _checkpoint_offsets(self) -> None:
        self.log_manager.checkpoint_recovery_points()
        self.log_manager.checkpoint_log_start_offsets()

    def _retention(self) -> None:
        deleted = self.log_manager.cleanup_logs()
        if deleted:
            log.info("retention deleted %d segment(s)", deleted)

    def _flush(self) -> None:
        self.log_manager.flush_dirty_logs()

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
