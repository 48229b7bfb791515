"""The transaction coordinator as the broker runs it: ``__transaction_state``, load and unload per
partition on leadership, the periodic timeout and expiration checks.

    service = TransactionService(config, metadata_cache, controller, replica_manager, producer_ids, groups)
    await service.start()   # elects (and loads) every __transaction_state partition this broker leads
    service.coordinator     # what the transaction handlers call
    service.on_elected(partition, leader_epoch) / service.on_resigned(partition, leader_epoch)
    service.shutdown()

``on_elected`` is the one hook for leadership of a ``__transaction_state`` partition (the cluster's
LeaderAndIsr handling calls it, as the group service's): it replays the partition's records a slice at
a time (``transaction.state.log.load.buffer.size``), yielding to the loop between slices, and installs
the ids in one step; meanwhile their requests get COORDINATOR_LOAD_IN_PROGRESS. Transactions found in
PrepareCommit/PrepareAbort get their markers written again; open ones time out as usual. A load that
fails midway is logged and serves the ids read up to the failure, as Kafka's does (a partition left
loading would answer COORDINATOR_LOAD_IN_PROGRESS forever). ``on_resigned``
drops the partition's ids (NOT_COORDINATOR afterwards). Leader epochs order the two (``Ownership``).
The leader epoch of a partition is the coordinator epoch its markers carry.

Markers: those for partitions this broker leads are written here directly (``markers.write_markers``);
in cluster mode (``inter_broker_listener`` given) those for partitions other brokers lead go to their
leaders as WriteTxnMarkers over the inter-broker listener (``marker_channel.TxnMarkerChannel``), and
the coordinator retries what was not written yet.

Partition verification (KIP-890 part 1) of a transactional Produce whose id another broker
coordinates: ``verify_remotely`` asks that coordinator with AddPartitionsToTxn v4+ (verify only),
as a partition leader does in Kafka (AddPartitionsToTxnManager).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from broker.config import BrokerConfig
from broker.controller.api import Controller
from broker.coordinator.group.ownership import Ownership
from broker.coordinator.loads import PartitionLoads
from broker.coordinator.producer_id import ProducerIdManager
from broker.coordinator.transaction import records
from broker.coordinator.transaction.config import TransactionConfig
from broker.coordinator.transaction.coordinator import TransactionCoordinator
from broker.coordinator.transaction.marker_channel import TxnMarkerChannel
from broker.coordinator.transaction.markers import TxnOffsetsSink, write_markers
from broker.coordinator.transaction.store import TRANSACTION_TOPIC, TransactionLog
from broker.dispatcher import HANDLERS
from broker.metadata_cache import MetadataCache
from broker.network_client import BrokerUnreachable, NetworkClient
from broker.replica_manager import ReplicaManager
from protocol.errors import ErrorCode
from protocol.messages.add_partitions_to_txn import (
    ADD_PARTITIONS_TO_TXN,
    AddPartitionsToTxnRequest,
    AddPartitionsToTxnTopic,
    AddPartitionsToTxnTransaction,
)
from protocol.messages.write_txn_markers import WRITE_TXN_MARKERS
from storage.errors import StorageError

log = logging.getLogger(__name__)

TopicPartition = tuple[str, int]


class TransactionService:
    def __init__(
        self,
        config: BrokerConfig,
        metadata: MetadataCache,
        controller: Controller,
        replicas: ReplicaManager,
        producer_ids: ProducerIdManager,
        groups: TxnOffsetsSink | None,
        inter_broker_listener: str | None = None,
    ) -> None:
        self.config = TransactionConfig.from_broker(config)
        self.log = TransactionLog(
            self.config, metadata, controller, replicas, cluster=inter_broker_listener is not None
        )
        self.replicas = replicas
        self.groups = groups
        self.metadata = metadata
        self.listener = inter_broker_listener
        self.channel: TxnMarkerChannel | None = None
        self._verify_client: NetworkClient | None = None
        self._verify_nodes: set[int] = set()  # the coordinators asked (their connections close at shutdown)
        if inter_broker_listener is not None:
            self._verify_client = NetworkClient(f"txn-verify-{replicas.node_id}")
            registration = HANDLERS.get(WRITE_TXN_MARKERS.key)
            version = registration.max_version if registration is not None else 0
            client = NetworkClient(f"txn-markers-{replicas.node_id}")
            self.channel = TxnMarkerChannel(client, metadata, inter_broker_listener, version)
        self.ownership = Ownership(self.log.partition_for, self.log.exists, self.elect_if_led)
        self.coordinator = TransactionCoordinator(
            self.config, self.log, producer_ids, self._send_markers, self.ownership, lambda: int(time.time() * 1000)
        )
        self._loads = PartitionLoads(TRANSACTION_TOPIC)
        self._periodic: list[asyncio.Task[None]] = []

    async def _send_markers(
        self,
        producer_id: int,
        producer_epoch: int,
        coordinator_epoch: int,
        commit: bool,
        partitions: set[TopicPartition],
    ) -> dict[TopicPartition, BaseException | None]:
        """The local partitions' markers written here, the others sent to their leaders, at once."""
        local = {tp for tp in partitions if self.channel is None or self._leads(tp)}
        work = []
        if local:
            work.append(write_markers(
                self.replicas, self.groups, producer_id, producer_epoch, coordinator_epoch, commit, local
            ))  # fmt: skip
        if self.channel is not None and len(local) < len(partitions):
            remote = partitions - local
            work.append(self.channel.send(producer_id, producer_epoch, coordinator_epoch, commit, remote))
        results: dict[TopicPartition, BaseException | None] = {}
        for done in await asyncio.gather(*work):
            results.update(done)
        return results

    async def verify_remotely(
        self, transactional_id: str, producer_id: int, epoch: int, partitions: list[TopicPartition]
    ) -> dict[TopicPartition, ErrorCode]:
        """Cluster mode: whether each partition is in the producer's open transaction, as the broker
        coordinating ``transactional_id`` answers AddPartitionsToTxn (verify only): NONE, or the code
        its handler gave (INVALID_TXN_STATE, PRODUCER_FENCED, INVALID_PRODUCER_ID_MAPPING, ...);
        NOT_ENOUGH_REPLICAS when the coordinator cannot be asked (no leader, unreachable, moving),
        which producers retry, as Kafka answers. NONE for all when this broker's profile has no v4."""
        registration = HANDLERS.get(ADD_PARTITIONS_TO_TXN.key)
        version = min(registration.max_version, 5) if registration is not None else 0
        if self._verify_client is None or self.listener is None or version < VERIFY_ONLY_VERSION:
            return dict.fromkeys(partitions, ErrorCode.NONE)
        leader = self.metadata.leader_endpoint(
            TRANSACTION_TOPIC, self.log.partition_for(transactional_id), self.listener
        )
        if leader is None:
            return dict.fromkeys(partitions, ErrorCode.NOT_ENOUGH_REPLICAS)
        by_topic: dict[str, list[int]] = {}
        for topic, index in partitions:
            by_topic.setdefault(topic, []).append(index)
        body = AddPartitionsToTxnRequest(transactions=[AddPartitionsToTxnTransaction(
            transactional_id=transactional_id, producer_id=producer_id, producer_epoch=epoch, verify_only=True,
            topics=[AddPartitionsToTxnTopic(name=t, partitions=ids) for t, ids in by_topic.items()],
        )])  # fmt: skip
        node, endpoint = leader
        self._verify_nodes.add(node)
        try:
            response = await self._verify_client.request(
                node, endpoint.host, endpoint.port, ADD_PARTITIONS_TO_TXN, version, body
            )
        except BrokerUnreachable as exc:
            log.info("verifying %s's partitions with broker %d failed: %s", transactional_id, node, exc)
            return dict.fromkeys(partitions, ErrorCode.NOT_ENOUGH_REPLICAS)
        codes = {
            (topic.name, p.partition_index): p.partition_error_code
            for result in response.results_by_transaction
            for topic in result.topic_results
            for p in topic.results_by_partition
        }
        return {tp: _verified(codes.get(tp, response.error_code or ErrorCode.NOT_ENOUGH_REPLICAS)) for tp in partitions}

    def _leads(self, tp: TopicPartition) -> bool:
        partition = self.replicas.get_partition(*tp)
        return partition is not None and partition.is_leader(self.replicas.node_id)

    async def start(self) -> None:
        self.elect_led_partitions()
        await self._loads.wait()
        self._periodic = [
            asyncio.create_task(self._every(self.config.abort_timed_out_interval_ms, self._abort_timed_out)),
            asyncio.create_task(self._every(self.config.remove_expired_interval_ms, self._expire)),
        ]

    async def ensure_topic(self) -> bool:
        """True once ``__transaction_state`` exists and its partitions here are elected."""
        if self.log.exists():
            return True
        created = await self.log.ensure_created()
        if created:
            self.elect_led_partitions()
        return created

    def elect_led_partitions(self) -> None:
        for index, leader_epoch in self.log.led_partitions():
            self.on_elected(index, leader_epoch)

    def elect_if_led(self, index: int) -> None:
        if (leader_epoch := self.log.leader_epoch(index)) is not None:
            self.on_elected(index, leader_epoch)

    # -- leadership --------------------------------------------------------------------------------
    def on_elected(self, partition: int, leader_epoch: int) -> None:
        """This broker now leads ``__transaction_state`` partition ``partition``: load its ids."""
        if not self.ownership.begin_load(partition, leader_epoch):
            return
        if self.log.is_empty(partition):  # nothing to read: owned at once (a new topic's first clients)
            self.ownership.finish_load(partition, leader_epoch)
            return
        self._loads.start(partition, self._load(partition, leader_epoch))

    def on_resigned(self, partition: int, leader_epoch: int) -> None:
        if not self.ownership.resign(partition, leader_epoch):
            return
        dropped = self.coordinator.unload_partition(partition)
        log.info("unloaded %d transactional id(s) of %s-%d", dropped, TRANSACTION_TOPIC, partition)

    async def _load(self, partition: int, epoch: int) -> None:
        latest: dict[str, records.TransactionLogValue | None] = {}
        try:
            for chunk in self.log.read_slices(partition):
                for record in chunk:
                    latest[record.transactional_id] = record.value
                await asyncio.sleep(0)
                if not self.ownership.is_loading(partition, epoch):
                    return
        except StorageError as exc:
            log.error("%s-%d: loading failed at epoch %d: %s", TRANSACTION_TOPIC, partition, epoch, exc)
        except Exception:  # as Kafka: logged, and what was read is served (never loading for good)
            log.exception("%s-%d: loading failed at epoch %d", TRANSACTION_TOPIC, partition, epoch)
        if self.ownership.finish_load(partition, epoch):
            self.coordinator.install({t: v for t, v in latest.items() if v is not None})
            if latest:
                log.info("%s-%d: loaded %d transactional id(s)", TRANSACTION_TOPIC, partition, len(latest))

    # -- periodic work -----------------------------------------------------------------------------
    async def _every(self, interval_ms: int, work: Callable[[], Awaitable[None] | None]) -> None:
        while True:
            await asyncio.sleep(interval_ms / 1000)
            try:
                result = work()
                if result is not None:
                    await result
            except Exception:
                log.exception("transaction coordinator: periodic work failed")

    def _abort_timed_out(self) -> None:
        self.coordinator.abort_timed_out()

    async def _expire(self) -> None:
        removed = await self.coordinator.expire_ids()
        if removed:
            log.info("removed %d expired transactional id(s)", len(removed))

    def shutdown(self) -> None:
        for task in self._periodic:
            task.cancel()
        self._loads.cancel()
        self.coordinator.shutdown()
        if self.channel is not None:
            self.channel.close()
        if self._verify_client is not None:
            for node in self._verify_nodes:
                self._verify_client.disconnect(node)


VERIFY_ONLY_VERSION = 4
_NOT_ASKED = frozenset({
    ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    ErrorCode.CONCURRENT_TRANSACTIONS,
})  # fmt: skip


def _verified(code: int) -> ErrorCode:
    """A coordinator's verification answer as the partition leader passes it on (Kafka's mapping:
    a coordinator that cannot answer yet becomes NOT_ENOUGH_REPLICAS, which producers retry)."""
    try:
        error = ErrorCode(code)
    except ValueError:
        return ErrorCode.UNKNOWN_SERVER_ERROR
    return ErrorCode.NOT_ENOUGH_REPLICAS if error in _NOT_ASKED else error
