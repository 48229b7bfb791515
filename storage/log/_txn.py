"""The Log's side of transactions over its segments: collecting aborted transactions for a read, and
rebuilding ``.txnindex`` files from the log (the Log holds its lock-free discipline: callers serialise).

Each ``.txnindex`` entry sits in the segment holding its ABORT marker; a transaction's data may start
in an earlier segment, so a search starts at the segment of the read and walks forward until an
entry's last stable offset reaches the end of the range (Kafka's collectAbortedTransactions).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from storage.log.segment import LogSegment
from storage.producer.state import ProducerStateManager, Replay
from storage.producer.txn import AbortedTxn


def offset_after(seg: LogSegment, position: int, segment_end: int) -> int:
    """The base offset of the batch at ``position`` of ``seg`` (the first offset after a read ending
    there), or ``segment_end`` when ``position`` is the segment's end."""
    if position >= seg.size:
        return segment_end
    head = seg.read_bytes(position, 8)
    return int.from_bytes(head, "big") if len(head) == 8 else segment_end


def collect_aborted(segments: Sequence[LogSegment], start_offset: int, upper_bound_offset: int) -> list[AbortedTxn]:
    """Aborted transactions with data in [start_offset, upper_bound_offset), from ``segments`` (the one
    holding ``start_offset`` first, then every later one)."""
    found: list[AbortedTxn] = []
    for seg in segments:
        txns, complete = seg.txn_index.collect(start_offset, upper_bound_offset)
        found.extend(txns)
        if complete:
            break
    return found


def rebuild_txn_indexes(
    rebuilt: Sequence[LogSegment],
    psm: ProducerStateManager,
    log_start_offset: int,
    log_end_offset: int,
    replay: Replay,
    segment_of: Callable[[int], LogSegment],
) -> None:
    """Reset the ``.txnindex`` of ``rebuilt`` (the last segments of the log) and write the entries of
    the markers in them again, found by replaying the log (``ProducerStateManager.aborted_between``)."""
    for seg in rebuilt:
        seg.txn_index.reset()
    for txn in psm.aborted_between(log_start_offset, rebuilt[0].base_offset, log_end_offset, replay):
        segment_of(txn.last_offset).txn_index.append(txn)
