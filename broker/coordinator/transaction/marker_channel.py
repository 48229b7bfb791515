"""Transaction markers for partitions other brokers lead (Kafka's TransactionMarkerChannelManager).

    channel = TxnMarkerChannel(NetworkClient("txn-markers-1"), metadata_cache, "PLAINTEXT")
    results = await channel.send(producer_id, producer_epoch, coordinator_epoch, commit, partitions)
    channel.close()

``send`` groups the partitions by their leader as the metadata cache names it and reaches each leader
over the inter-broker listener. Per destination broker there is one queue and one sender task: the
sender puts every marker waiting for its broker into one WriteTxnMarkers request (one entry per
transaction, as Kafka batches them), sends it over ``NetworkClient`` (one request at a time per
broker) and hands each transaction the answers for its partitions.

The result per partition is None (the leader wrote the marker and it is committed) or a
``MarkerError`` with the code and whether the coordinator should try again. A partition the
metadata cache no longer knows (its topic was deleted) is final (UNKNOWN_TOPIC_OR_PARTITION, not
retried: there is no log left to mark, and retrying would keep the transaction in PrepareCommit
forever), as Kafka skips the partitions it finds no leader endpoint for. Retriable are a
partition with no live leader known here, a leader that cannot be reached, and NOT_LEADER_OR_FOLLOWER,
UNKNOWN_TOPIC_OR_PARTITION, NOT_ENOUGH_REPLICAS(_AFTER_APPEND), REQUEST_TIMED_OUT and
KAFKA_STORAGE_ERROR, as Kafka retries them; the coordinator sends those again after a backoff, to
whichever broker leads the partition by then, until it is written. Other codes (an older producer or
coordinator epoch: INVALID_PRODUCER_EPOCH, TRANSACTION_COORDINATOR_FENCED) are final.

Not thread-safe: the broker's event loop owns it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from broker.metadata_cache import MetadataCache
from broker.network_client import BrokerUnreachable, NetworkClient
from protocol.errors import ErrorCode
from protocol.messages.write_txn_markers import (
    WRITE_TXN_MARKERS,
    WritableTxnMarker,
    WritableTxnMarkerTopic,
    WriteTxnMarkersRequest,
    WriteTxnMarkersResponse,
)

log = logging.getLogger(__name__)

TopicPartition = tuple[str, int]
MAX_MARKERS_PER_REQUEST = 1000
RETRIABLE = frozenset({
    ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.NOT_ENOUGH_REPLICAS,
    ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND, ErrorCode.REQUEST_TIMED_OUT, ErrorCode.KAFKA_STORAGE_ERROR,
})  # fmt: skip


class MarkerError(Exception):
    """A marker a partition's leader did not write (``code``); ``retriable``: try again later."""

    def __init__(self, code: ErrorCode, message: str, retriable: bool | None = None) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.retriable = code in RETRIABLE if retriable is None else retriable


@dataclass(slots=True)
class _Marker:
    """One transaction's marker for the partitions one broker leads, and who waits for the answer."""

    producer_id: int
    producer_epoch: int
    coordinator_epoch: int
    commit: bool
    partitions: list[TopicPartition]
    answer: asyncio.Future[dict[TopicPartition, MarkerError | None]]


@dataclass(slots=True)
class _Destination:
    queue: list[_Marker] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class TxnMarkerChannel:
    def __init__(self, client: NetworkClient, metadata: MetadataCache, listener: str, version: int = 1) -> None:
        self._client = client
        self._metadata = metadata
        self.listener = listener
        self.version = version  # of WriteTxnMarkers: what this broker's own profile serves
        self._destinations: dict[int, _Destination] = {}

    async def send(
        self,
        producer_id: int,
        producer_epoch: int,
        coordinator_epoch: int,
        commit: bool,
        partitions: Iterable[TopicPartition],
    ) -> dict[TopicPartition, BaseException | None]:
        results: dict[TopicPartition, BaseException | None] = {}
        by_leader: dict[int, list[TopicPartition]] = {}
        for tp in partitions:
            if self._metadata.partition(tp[0], tp[1]) is None:  # deleted: nothing left to mark (Kafka skips it)
                results[tp] = MarkerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"{tp[0]}-{tp[1]} is gone", False)
                continue
            leader = self._metadata.leader_endpoint(tp[0], tp[1], self.listener)
            if leader is None:
                results[tp] = MarkerError(ErrorCode.NOT_LEADER_OR_FOLLOWER, f"{tp[0]}-{tp[1]} has no live leader")
            else:
                by_leader.setdefault(leader[0], []).append(tp)
        loop = asyncio.get_running_loop()
        waiting = []
        for broker_id, tps in by_leader.items():
            marker = _Marker(producer_id, producer_epoch, coordinator_epoch, commit, tps, loop.create_future())
            self._enqueue(broker_id, marker)
            waiting.append(marker.answer)
        for answer in await asyncio.gather(*waiting):
            results.update(answer)
        return results

    def _enqueue(self, broker_id: int, marker: _Marker) -> None:
        destination = self._destinations.get(broker_id)
        if destination is None:
            destination = self._destinations[broker_id] = _Destination()
        if destination.task is None or destination.task.done():
            destination.task = asyncio.get_running_loop().create_task(
                self._send_loop(broker_id, destination), name=f"transaction markers to broker {broker_id}"
            )
        destination.queue.append(marker)
        destination.ready.set()

    async def _send_loop(self, broker_id: int, destination: _Destination) -> None:
        while True:
            await destination.ready.wait()
            destination.ready.clear()
            while destination.queue:
                batch = destination.queue[:MAX_MARKERS_PER_REQUEST]
                del destination.queue[:MAX_MARKERS_PER_REQUEST]
                try:
                    answers = await self._exchange(broker_id, batch)
                except asyncio.CancelledError:
                    for marker in batch:
                        marker.answer.cancel()
                    raise
                except Exception as exc:  # a broker bug: the coordinator must still hear back
                    log.exception("sending transaction markers to broker %d failed", broker_id)
                    answers = [_all(m, MarkerError(ErrorCode.UNKNOWN_SERVER_ERROR, repr(exc))) for m in batch]
                for marker, answer in zip(batch, answers, strict=True):
                    if not marker.answer.done():
                        marker.answer.set_result(answer)

    async def _exchange(self, broker_id: int, batch: list[_Marker]) -> list[dict[TopicPartition, MarkerError | None]]:
        """One WriteTxnMarkers request for ``batch``; the answers, in order."""
        broker = self._metadata.alive_broker(broker_id)
        endpoint = broker.endpoint(self.listener) if broker is not None else None
        if endpoint is None:
            error = MarkerError(ErrorCode.NOT_LEADER_OR_FOLLOWER, f"broker {broker_id} is not alive")
            return [_all(m, error) for m in batch]
        request = WriteTxnMarkersRequest(markers=[_entry(m) for m in batch])
        try:
            response: WriteTxnMarkersResponse = await self._client.request(
                broker_id, endpoint.host, endpoint.port, WRITE_TXN_MARKERS, self.version, request
            )
        except BrokerUnreachable as exc:
            log.info("transaction markers for broker %d not delivered (retried): %s", broker_id, exc)
            error = MarkerError(ErrorCode.NOT_LEADER_OR_FOLLOWER, f"broker {broker_id} unreachable")
            return [_all(m, error) for m in batch]
        answers = []
        for index, marker in enumerate(batch):
            codes: dict[TopicPartition, int] = {}
            if index < len(response.markers) and response.markers[index].producer_id == marker.producer_id:
                for topic in response.markers[index].topics:
                    for p in topic.partitions:
                        codes[(topic.name, p.partition_index)] = p.error_code
            answer: dict[TopicPartition, MarkerError | None] = {}
            for tp in marker.partitions:
                code = codes.get(tp)
                if code is None:
                    answer[tp] = MarkerError(ErrorCode.UNKNOWN_SERVER_ERROR, f"broker {broker_id} left {tp} out")
                elif code == ErrorCode.NONE:
                    answer[tp] = None
                else:
                    answer[tp] = MarkerError(_code(code), f"from broker {broker_id} for {tp[0]}-{tp[1]}")
            answers.append(answer)
        return answers

    def close(self) -> None:
        for broker_id, destination in self._destinations.items():
            if destination.task is not None:
                destination.task.cancel()
            for marker in destination.queue:
                marker.answer.cancel()
            self._client.disconnect(broker_id)
        self._destinations.clear()


def _entry(marker: _Marker) -> WritableTxnMarker:
    by_topic: dict[str, list[int]] = {}
    for topic, index in marker.partitions:
        by_topic.setdefault(topic, []).append(index)
    return WritableTxnMarker(
        producer_id=marker.producer_id, producer_epoch=marker.producer_epoch, transaction_result=marker.commit,
        topics=[WritableTxnMarkerTopic(name=t, partition_indexes=ids) for t, ids in by_topic.items()],
        coordinator_epoch=marker.coordinator_epoch,
    )  # fmt: skip


def _all(marker: _Marker, error: MarkerError) -> dict[TopicPartition, MarkerError | None]:
    return dict.fromkeys(marker.partitions, error)


def _code(value: int) -> ErrorCode:
    with contextlib.suppress(ValueError):
        return ErrorCode(value)
    return ErrorCode.UNKNOWN_SERVER_ERROR
