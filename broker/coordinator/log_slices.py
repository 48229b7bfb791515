"""Reading an internal topic's partition (``__consumer_offsets``, ``__transaction_state``) back when a
coordinator loads it: one shared reader, so both coordinators skip damaged data the same way.

``batch_slices`` yields, a slice of at most ``buffer_size`` bytes at a time, the readable batches from
the log start to the log end as they were when it started, in offset order, each as its header and
decoded records. A batch that fails its CRC or cannot be decoded is the log's fault, not a client's: it
is logged and skipped. The caller may yield to the event loop between slices.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from broker.replica_manager import ReplicaManager
from protocol.records import Record, iter_batches, iter_records
from protocol.records.exceptions import CorruptRecordBatch
from protocol.records.header import BatchHeader, InvalidRecordBatch

log = logging.getLogger(__name__)

Batch = tuple[BatchHeader, list[Record]]


def batch_slices(replicas: ReplicaManager, topic: str, index: int, buffer_size: int) -> Iterator[list[Batch]]:
    partition = replicas.get_partition(topic, index)
    if partition is None:
        return
    log_ = partition.log
    offset = log_.log_start_offset
    end = log_.log_end_offset
    while offset < end:
        data = log_.read(offset, buffer_size, end).read_bytes()
        if not data:
            break
        out: list[Batch] = []
        for header, batch in iter_batches(data):
            offset = header.next_offset
            try:
                out.append((header, list(iter_records(batch, verify_crc=True))))
            except (InvalidRecordBatch, CorruptRecordBatch) as exc:
                log.warning("%s: unreadable batch at %d: %s; skipped", log_.name, header.base_offset, exc)
        yield out
