"""The Log's side of transactions over its segments: the aborted transactions of a read, and
rebuilding ``.txnindex`` files from the log. Functions of the segment list, so the Log keeps only thin
wrappers (not thread-safe: the Log's caller serialises every call, as for the Log itself).

Each ``.txnindex`` entry sits in the segment holding its ABORT marker; a transaction's data may start
in an earlier segment, so a search starts at the segment of the read and walks forward until an
entry's last stable offset reaches the end of the range (Kafka's collectAbortedTransactions). The
range of a read ends at the offset of the first batch after the bytes it returned.

Reading a ``.txnindex`` may raise CorruptTxnIndex (the Log then rebuilds and asks again) or, for an
I/O error, StorageError.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

from storage.errors import StorageError
from storage.log.results import FetchDataInfo
from storage.log.segment import LogSegment
from storage.log.txn_index import CorruptTxnIndex
from storage.producer.state import ProducerStateManager, Replay
from storage.producer.txn import AbortedTxn

__all__ = ["AbortedTxn", "CorruptTxnIndex", "aborted_in_read", "collect_aborted", "rebuild_txn_indexes"]


def _segment_index(segments: Sequence[LogSegment], offset: int) -> int:
    return max(0, bisect_right(segments, offset, key=lambda s: s.base_offset) - 1)


def _offset_after(segments: Sequence[LogSegment], i: int, position: int, log_end_offset: int) -> int:
    """The base offset of the batch at ``position`` of segment ``i`` (the first offset after a read
    ending there), or the segment's end when ``position`` is the segment's end."""
    seg = segments[i]
    segment_end = segments[i + 1].base_offset if i + 1 < len(segments) else log_end_offset
    if position >= seg.size:
        return segment_end
    head = seg.read_bytes(position, 8)
    return int.from_bytes(head, "big") if len(head) == 8 else segment_end


def _collect_from(segments: Sequence[LogSegment], start_offset: int, upper_bound_offset: int) -> list[AbortedTxn]:
    found: list[AbortedTxn] = []
    for seg in segments:
        txns, complete = seg.txn_index.collect(start_offset, upper_bound_offset)
        found.extend(txns)
        if complete:
            break
    return found


def collect_aborted(segments: Sequence[LogSegment], start_offset: int, upper_bound_offset: int) -> list[AbortedTxn]:
    """Aborted transactions with data in [start_offset, upper_bound_offset)."""
    try:
        return _collect_from(segments[_segment_index(segments, start_offset) :], start_offset, upper_bound_offset)
    except OSError as e:
        raise StorageError(f"reading a transaction index failed: {e}") from e


def aborted_in_read(segments: Sequence[LogSegment], log_end_offset: int, info: FetchDataInfo) -> tuple[AbortedTxn, ...]:
    """The aborted transactions with data in the batches ``info`` returned (none for an empty read)."""
    if not info.regions:
        return ()
    meta = info.fetch_offset_metadata
    i = _segment_index(segments, meta.segment_base_offset)
    if segments[i].base_offset != meta.segment_base_offset:
        return tuple(collect_aborted(segments, meta.message_offset, log_end_offset))  # the segment went: be generous
    region = info.regions[0]
    try:
        upper = _offset_after(segments, i, region.position + region.length, log_end_offset)
        return tuple(_collect_from(segments[i:], meta.message_offset, upper))
    except OSError as e:
        raise StorageError(f"reading a transaction index failed: {e}") from e


def rebuild_txn_indexes(
    segments: Sequence[LogSegment],
    from_offset: int,
    psm: ProducerStateManager,
    log_start_offset: int,
    log_end_offset: int,
    replay: Replay,
) -> None:
    """Reset the ``.txnindex`` of the segment holding ``from_offset`` and of every later one, and write
    the entries of the markers in them again, found by replaying the log
    (``ProducerStateManager.aborted_between``)."""
    first = _segment_index(segments, from_offset)
    try:
        for seg in segments[first:]:
            seg.txn_index.reset()
        start = segments[first].base_offset
        for txn in psm.aborted_between(log_start_offset, start, log_end_offset, replay):
            segments[_segment_index(segments, txn.last_offset)].txn_index.append(txn)
    except OSError as e:
        raise StorageError(f"rebuilding the transaction indexes failed: {e}") from e
