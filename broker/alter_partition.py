"""The broker's AlterPartition manager: a leader's ISR proposals go to the active controller (Kafka's
``AlterPartitionManager``, KIP-497 / KIP-841).

Why AlterPartition and not /isr_change_notification: with the ZooKeeper-era notification, each leader
wrote its partition state znode itself and then told the controller, so two writers (the leader and the
controller, racing on the znode's version) changed the same state. With AlterPartition the controller
stays the only writer of partition state znodes: a leader proposes, the controller checks the proposal
against its own view (leader epoch, partition epoch, live brokers), writes the znode with its zkVersion
fenced by the controller epoch, and answers with the committed state, which is why Kafka moved to it
(2.7+).

- ``submit(partition, change)``: a ``Partition`` proposes an expand or shrink (it holds it as pending and
  proposes nothing else meanwhile). Proposals are batched: at most one request is in flight; those that
  arrive meanwhile go in the next one.
- The request goes over ``NetworkClient`` to the controller's endpoint on the inter-broker listener
  (``controller()``: as this broker last read /controller and the controller's registration) with this
  broker's epoch. Version: the highest this broker advertises for AlterPartition (its version profile),
  v2+ naming topics by id (v1 if a topic has none).
- Answers (Kafka's rules): NONE -> the partition commits the controller's state (ISR, leader epoch,
  partition epoch) if the proposal is still its pending one; INELIGIBLE_REPLICA / OPERATION_NOT_ATTEMPTED
  -> the controller applied nothing: back to the committed ISR; FENCED_LEADER_EPOCH,
  INVALID_UPDATE_VERSION, UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_TOPIC_ID, INVALID_REQUEST,
  NEW_LEADER_ELECTED -> dropped, the proposal stays pending until the next LeaderAndIsr brings the
  state; any other partition error -> proposed again after a backoff. A top-level error
  (NOT_CONTROLLER, STALE_BROKER_EPOCH, ...) or a transport failure keeps the whole batch and retries
  after a backoff (50 ms, doubling up to 1 s while failures repeat); a partition left out of an answer
  is sent again.
- After an answer, ``on_isr_change(partition)`` wakes what waits on the partition (the HW may move; an
  ISR now under min.insync.replicas fails waiting acks=all produces).

Not thread-safe: the broker's event loop owns it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from broker.dispatcher import HANDLERS
from broker.network_client import BrokerUnreachable, NetworkClient
from broker.partition import Partition, PendingIsrChange
from protocol.errors import ErrorCode
from protocol.messages.alter_partition import (
    ALTER_PARTITION,
    AlterPartitionBrokerState,
    AlterPartitionRequest,
    AlterPartitionRequestPartition,
    AlterPartitionRequestTopic,
    AlterPartitionResponse,
    AlterPartitionResponsePartition,
)
from protocol.schema import ZERO_UUID

log = logging.getLogger(__name__)
TopicPartition = tuple[str, int]
RETRY_BACKOFF_S = 0.05  # Kafka retries a failed AlterPartition after 50 ms
MAX_BACKOFF_S = 1.0  # repeated failures (no controller for a while) back off, doubling, up to this
ControllerAddress = tuple[int, str, int]  # broker id, host, port on the inter-broker listener

RESET = frozenset({ErrorCode.INELIGIBLE_REPLICA, ErrorCode.OPERATION_NOT_ATTEMPTED})
AWAIT_METADATA = frozenset({
    ErrorCode.FENCED_LEADER_EPOCH, ErrorCode.INVALID_UPDATE_VERSION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ErrorCode.UNKNOWN_TOPIC_ID, ErrorCode.INVALID_REQUEST, ErrorCode.NEW_LEADER_ELECTED,
})  # fmt: skip


@dataclass(eq=False, slots=True)
class _Item:
    partition: Partition
    change: PendingIsrChange


def alter_partition_version() -> int:
    """The highest AlterPartition version this broker advertises (its version profile); 0 if none."""
    registration = HANDLERS.get(ALTER_PARTITION.key)
    return registration.max_version if registration is not None else 0


class AlterPartitionManager:
    def __init__(
        self,
        broker_id: int,
        client: NetworkClient,
        controller: Callable[[], ControllerAddress | None],
        broker_epoch: Callable[[], int],
        is_alive: Callable[[int], bool],
        on_isr_change: Callable[[Partition], None],
        max_version: Callable[[], int] = alter_partition_version,
    ) -> None:
        self.broker_id = broker_id
        self._client = client
        self._controller = controller
        self._broker_epoch = broker_epoch
        self._is_alive = is_alive
        self._on_isr_change = on_isr_change
        self._max_version = max_version
        self._unsent: dict[TopicPartition, _Item] = {}  # sent ones stay until answered
        self._in_flight: asyncio.Task[None] | None = None
        self._retry: asyncio.TimerHandle | None = None
        self._closed = False
        self._backoff_s = RETRY_BACKOFF_S
        self.requests_sent = 0

    # -- what a Partition calls (broker.partition.AlterIsr) --------------------------------------------
    def submit(self, partition: Partition, change: PendingIsrChange) -> None:
        self._unsent[partition.key] = _Item(partition, change)
        self._maybe_send()

    def is_eligible(self, broker_id: int) -> bool:
        return self._is_alive(broker_id)

    @property
    def pending(self) -> int:
        return len(self._unsent)

    async def close(self) -> None:
        self._closed = True
        if self._retry is not None:
            self._retry.cancel()
        if self._in_flight is not None:
            self._in_flight.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._in_flight
        await self._client.close()

    # -- sending ---------------------------------------------------------------------------------------
    def _maybe_send(self) -> None:
        if self._closed or self._in_flight is not None or not self._unsent:
            return
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        for key, item in list(self._unsent.items()):  # superseded meanwhile (LeaderAndIsr): nothing to send
            if item.partition.pending is not item.change:
                del self._unsent[key]
        items = list(self._unsent.values())
        if not items:
            return
        self._in_flight = asyncio.get_running_loop().create_task(self._send(items), name="AlterPartition")

    def _send_later(self) -> None:
        if self._retry is None and not self._closed:
            self._retry = asyncio.get_running_loop().call_later(self._backoff_s, self._retried)
            self._backoff_s = min(self._backoff_s * 2, MAX_BACKOFF_S)

    def _retried(self) -> None:
        self._retry = None
        self._maybe_send()

    async def _send(self, items: list[_Item]) -> None:
        answered = False
        try:
            answered = await self._exchange(items)
        except Exception:
            log.exception("AlterPartition failed")
        finally:
            self._in_flight = None
        if answered:
            self._backoff_s = RETRY_BACKOFF_S
            self._maybe_send()
        else:
            self._send_later()

    async def _exchange(self, items: list[_Item]) -> bool:
        """Send ``items`` and apply the answers; False if it must be retried (after a backoff)."""
        target = self._controller()
        if target is None:
            log.debug("AlterPartition: no controller known yet; retrying")
            return False
        node, host, port = target
        version = self._max_version()
        if version >= 2 and any(item.partition.topic_id == ZERO_UUID for item in items):
            version = 1
        request = self._request(items, version)
        self.requests_sent += 1
        try:
            response: AlterPartitionResponse = await self._client.request(
                node, host, port, ALTER_PARTITION, version, request
            )
        except BrokerUnreachable as exc:
            log.info("%s; retrying", exc)
            return False
        top = _code(response.error_code)
        if top != ErrorCode.NONE:
            log.info("AlterPartition to controller %d answered %s; retrying", node, _name(top))
            return False
        names = {item.partition.topic_id: item.partition.topic for item in items}
        answers: dict[TopicPartition, AlterPartitionResponsePartition] = {}
        for topic in response.topics:
            name = topic.topic_name if version < 2 else names.get(topic.topic_id, "")
            for answer in topic.partitions:
                answers[(name, answer.partition_index)] = answer
        for item in items:
            key = item.partition.key
            found = answers.get(key)
            if found is None:
                log.warning("%s: left out of the AlterPartition answer; sending it again", item.partition.name)
                continue
            if self._unsent.get(key) is item:
                del self._unsent[key]
            self._apply(item, found)
        return True

    def _request(self, items: list[_Item], version: int) -> AlterPartitionRequest:
        topics: dict[str, AlterPartitionRequestTopic] = {}
        for item in items:
            partition, change = item.partition, item.change
            topic = topics.setdefault(partition.topic, AlterPartitionRequestTopic(
                topic_name=partition.topic, topic_id=partition.topic_id,
            ))  # fmt: skip
            topic.partitions.append(AlterPartitionRequestPartition(
                partition_index=partition.index, leader_epoch=change.leader_epoch, new_isr=list(change.isr),
                new_isr_with_epochs=[AlterPartitionBrokerState(broker_id=r, broker_epoch=-1) for r in change.isr],
                partition_epoch=change.partition_epoch,
            ))  # fmt: skip
        return AlterPartitionRequest(
            broker_id=self.broker_id, broker_epoch=self._broker_epoch(), topics=list(topics.values())
        )

    # -- answers ---------------------------------------------------------------------------------------
    def _apply(self, item: _Item, answer: AlterPartitionResponsePartition) -> None:
        partition, change = item.partition, item.change
        code = _code(answer.error_code)
        if code == ErrorCode.NONE:
            before = list(partition.isr)
            partition.commit_isr_change(change, answer.leader_epoch, list(answer.isr), answer.partition_epoch)
            if partition.pending is None and partition.isr != before:
                under = len(partition.isr) < partition.config.min_insync_replicas
                log.info("%s: ISR updated to %s%s and version updated to %d", partition.name, partition.isr,
                         " (under-min-isr)" if under else "", partition.partition_epoch)  # fmt: skip
            self._on_isr_change(partition)
        elif code in RESET:
            partition.abandon_isr_change(change)
            log.info("%s: the controller refused ISR %s (%s); back to the committed ISR %s",
                     partition.name, change.isr, _name(code), partition.isr)  # fmt: skip
        elif code in AWAIT_METADATA:
            log.info("%s: ISR %s not applied (%s); awaiting the latest state from the controller",
                     partition.name, change.isr, _name(code))  # fmt: skip
        elif partition.pending is change:
            log.warning("%s: failed to update the ISR to %s (%s); retrying", partition.name, change.isr, _name(code))
            asyncio.get_running_loop().call_later(RETRY_BACKOFF_S, self._resubmit, item)

    def _resubmit(self, item: _Item) -> None:
        if not self._closed and item.partition.pending is item.change:
            self._unsent.setdefault(item.partition.key, item)
            self._maybe_send()


def _code(value: int) -> ErrorCode | int:
    try:
        return ErrorCode(value)
    except ValueError:
        return value


def _name(code: ErrorCode | int) -> str:
    return code.name if isinstance(code, ErrorCode) else f"error {code}"
