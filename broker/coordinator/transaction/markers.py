"""Writing transaction markers (Kafka's WriteTxnMarkers on the partition leader).

``write_markers`` appends one COMMIT or ABORT control batch (``protocol.records.control``) for the
producer to each partition this broker leads, through ``ReplicaManager.append_records`` with
``origin=AppendOrigin.COORDINATOR`` and acks=all: storage checks the producer epoch and the
coordinator epoch, closes the producer's transaction in the partition and moves its last stable
offset. Once a marker of ``__consumer_offsets`` is committed, the group coordinator applies (commit)
or drops (abort) the transaction's pending offsets of that partition (``TxnOffsetsSink``).

Both the transaction coordinator (its partitions on this broker) and the WriteTxnMarkers handler
(the inter-broker path) call it; the result is per partition, as an exception or None.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Protocol

from broker.replica_manager import ReplicaManager
from protocol.records.control import build_control_batch
from storage.producer.state import AppendOrigin

TopicPartition = tuple[str, int]
OFFSETS_TOPIC = "__consumer_offsets"
MARKER_TIMEOUT_MS = 30000  # request.timeout.ms of Kafka's marker channel


class TxnOffsetsSink(Protocol):
    """The group coordinator's side: a transaction's offsets in ``__consumer_offsets`` partitions."""

    def complete_transaction(self, producer_id: int, offsets_partitions: set[int], commit: bool) -> None: ...


async def write_markers(
    replicas: ReplicaManager,
    groups: TxnOffsetsSink | None,
    producer_id: int,
    producer_epoch: int,
    coordinator_epoch: int,
    commit: bool,
    partitions: Iterable[TopicPartition],
    timeout_ms: int = MARKER_TIMEOUT_MS,
) -> dict[TopicPartition, BaseException | None]:
    now = int(time.time() * 1000)
    entries = {
        tp: build_control_batch(commit, producer_id, producer_epoch, coordinator_epoch, timestamp=now)
        for tp in partitions
    }
    results = await replicas.append_records(
        entries, required_acks=-1, timeout_ms=timeout_ms, internal=True, origin=AppendOrigin.COORDINATOR
    )
    out = {tp: result.error for tp, result in results.items()}
    offsets = {index for (topic, index), error in out.items() if topic == OFFSETS_TOPIC and error is None}
    if offsets and groups is not None:
        groups.complete_transaction(producer_id, offsets, commit)
    return out
