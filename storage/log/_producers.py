"""The Log's side of the producer state: checking an append's batches, and replaying the log.

The protocol (Kafka's UnifiedLog): offsets are assigned first; then every batch goes through one
``ProducerAppend`` (``check_append``), which raises for a fenced epoch or a sequence gap before any
byte is written; the bytes are written; then the append is committed.

Duplicates (a producer's retry of a batch already in the log) are answered with the offsets that batch
was first written at, and nothing is appended. Kafka's produce path accepts one v2 batch per request
(and so one duplicate answers the whole request); this log also accepts several batches. Its rule:
a request whose every batch is a duplicate is a retry, answered with the first duplicate's first offset
and the last duplicate's last offset; a request that mixes duplicates with new batches is rejected as a
whole (``InvalidRecord``): appending part of it would break the all-or-nothing rule of an append, and
dropping its new batches would lose data while answering success.
"""

from __future__ import annotations

from collections.abc import Iterator

from protocol.records.header import HEADER_SIZE, BatchHeader, InvalidRecordBatch, read_header
from storage.errors import InvalidRecord, StorageError
from storage.log.results import LogAppendInfo
from storage.log.segment import LogSegment
from storage.producer.state import (
    AppendOrigin,
    BatchMetadata,
    EndTxnMarker,
    ProducerAppend,
    ProducerStateManager,
    Replay,
    ReplayedBatch,
)
from storage.producer.txn import AbortedTxn, read_end_txn_marker

Buffer = bytes | bytearray | memoryview

_CHUNK = 64 * 1024


def check_client_batches(batches: list[tuple[int, BatchHeader]]) -> None:
    """Rules for batches a client sends (Kafka's LogValidator for AppendOrigin.CLIENT)."""
    for pos, header in batches:
        if header.is_control:
            raise InvalidRecord(f"record batch at byte {pos}: clients are not allowed to write control records")
        if header.has_producer_id and header.base_sequence < 0:
            raise InvalidRecord(
                f"record batch at byte {pos}: invalid sequence number {header.base_sequence} "
                f"in a batch of producer id {header.producer_id}"
            )


def _marker(buf: Buffer, pos: int, header: BatchHeader) -> EndTxnMarker | None:
    if not header.is_control or header.records_count == 0:
        return None
    try:
        return read_end_txn_marker(buf, pos)
    except InvalidRecordBatch as e:
        raise InvalidRecord(f"control batch at offset {header.base_offset}: {e}") from None


def check_append(
    psm: ProducerStateManager, buf: Buffer, batches: list[tuple[int, BatchHeader]], origin: AppendOrigin
) -> tuple[ProducerAppend | None, list[BatchMetadata]]:
    """Run the batches (position in ``buf``, header as received) through the producer state; their
    offsets are already assigned in ``buf``. Returns the append to commit after the write (None when
    no batch has a producer id: nothing to track), and the duplicates found (empty, or one per batch:
    the whole request is a retry). Raises the producer state errors, or InvalidRecord for a request
    mixing duplicates with new batches; nothing changes in the state until ``commit_append``."""
    if not any(header.has_producer_id for _, header in batches):
        return None, []
    append = psm.prepare_append(origin)
    duplicates: list[BatchMetadata] = []
    for pos, _ in batches:
        header = read_header(buf, pos)  # with the assigned offsets
        duplicate = append.append(header, _marker(buf, pos, header))
        if duplicate is not None:
            duplicates.append(duplicate)
    if duplicates and len(duplicates) != len(batches):
        raise InvalidRecord(
            f"{len(duplicates)} of the {len(batches)} batches of this request were written before "
            "(retried batches cannot be mixed with new ones)"
        )
    return append, duplicates


def commit_append(psm: ProducerStateManager, append: ProducerAppend | None, next_offset: int) -> list[AbortedTxn]:
    """After the write: apply the checked append, or just move the state's end past the batches.
    Returns the transactions its markers aborted (for the active segment's transaction index)."""
    if append is None:
        psm.update_map_end_offset(next_offset)
        return []
    return psm.commit(append)


def duplicate_append_info(
    duplicates: list[BatchMetadata], log_append_time_topic: bool, log_start_offset: int
) -> LogAppendInfo:
    """The answer to a retry: the original offsets, nothing appended. Kafka reports the original
    batch's timestamp as the log append time; here only a LogAppendTime topic does (on a CreateTime
    topic a client would take it for the record timestamp)."""
    latest = max(duplicates, key=lambda d: d.timestamp)
    log_append_time = latest.timestamp if log_append_time_topic else -1
    return LogAppendInfo(
        duplicates[0].first_offset, duplicates[-1].last_offset, log_append_time, log_start_offset,
        latest.timestamp, latest.last_offset, 0, 0, duplicate=True,
    )  # fmt: skip


def load_producer_state(
    psm: ProducerStateManager,
    bases: list[int],
    has_data: bool,
    log_start_offset: int,
    log_end_offset: int,
    replay: Replay,
    *,
    clean_shutdown: bool,
    now_ms: int | None = None,
) -> None:
    """The newest snapshot plus a replay of the log after it (snapshots are taken on the way at the
    last two segment bases, as Kafka does, so a later truncation replays little).

    A clean shutdown left a snapshot at the log end, so nothing is replayed. A clean shutdown without
    any snapshot is a log written before snapshots existed: as Kafka does on upgrade, empty snapshots
    are taken at the last two segment bases and the log end instead of scanning the whole log."""
    if clean_shutdown and has_data and psm.latest_snapshot_offset() is None:
        for offset in sorted({*bases[-2:], log_end_offset}):
            psm.update_map_end_offset(offset)
            psm.take_snapshot()
    psm.load(log_start_offset, log_end_offset, replay, now_ms, snapshot_at=bases[-2:])


def segment_headers(seg: LogSegment, start: int = 0) -> Iterator[tuple[int, BatchHeader]]:
    """(position, header) of each whole batch of ``seg`` from byte ``start`` (a batch start)."""
    size = seg.size
    pos = start
    buf = b""
    buf_pos = start
    while pos + HEADER_SIZE <= size:
        off = pos - buf_pos
        if off + HEADER_SIZE > len(buf):
            buf = seg.read_bytes(pos, min(_CHUNK, size - pos))
            buf_pos, off = pos, 0
            if len(buf) < HEADER_SIZE:
                return
        try:
            header = read_header(buf, off)
        except InvalidRecordBatch as e:
            raise StorageError(f"{seg.log_path}: batch at byte {pos} is unreadable: {e}") from None
        if pos + header.size > size:
            return
        yield pos, header
        pos += header.size


def replay_segments(segments: list[LogSegment], start_offset: int) -> Iterator[ReplayedBatch]:
    """Batch headers (and end-transaction markers) of ``segments`` from the batch holding
    ``start_offset`` on: what ``ProducerStateManager.load`` replays."""
    for seg in segments:
        first = seg.translate_offset(start_offset)
        if first is None:
            continue
        for pos, header in segment_headers(seg, first.position):
            marker = None
            if header.is_control and header.records_count > 0:
                try:
                    marker = read_end_txn_marker(seg.read_bytes(pos, header.size))
                except InvalidRecordBatch as e:
                    raise StorageError(f"{seg.log_path}: control batch at byte {pos}: {e}") from None
            yield header, marker
