"""``LogLoader``: open a partition directory, finishing or undoing what a crash left behind.

Steps, in order (Kafka's):
1. delete temporary and leftover files (``.tmp``, ``.cleaned``, ``.deleted``); finish ``.swap`` files
   (a compaction that had replaced its segments: the swap becomes the segment, the segments it covers go);
2. delete index files whose ``.log`` is gone;
3. open the segments (lazily: no index is read, no batch is scanned yet);
4. after an unclean stop re-validate every segment from the one holding the recovery point on (below
   it everything was fsynced: the log flushes each segment when it rolls and moves the recovery point);
   after a clean shutdown check only the active segment's tail (from its last index entry: cheap), as
   a torn or junk tail would otherwise hide every later append from consumers;
5. damage is repaired by dropping only what is damaged (``storage.recovery.scan``): a bad batch in the
   middle of a segment is cut out, a torn tail is cut, and the segments after either are kept (their
   own batches are checked like any other). Every cut is logged at WARN with its offsets and bytes;
6. an index that fails its sanity check (or is missing) is rebuilt when it is first used;
7. rebuild the leader epoch cache from what survived and the producer state: the newest producer
   snapshot plus a replay of the batch headers after it (nothing to replay after a clean shutdown,
   which left a snapshot at the log end).

Any I/O or format failure raises ``LogOffline`` for this partition only.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

from protocol.records.header import BatchHeader
from storage.checkpoints import (
    LEADER_EPOCH_CHECKPOINT,
    PARTITION_METADATA,
    CheckpointError,
    epoch_checkpoint_bytes,
    partition_metadata_bytes,
    read_partition_metadata,
    topic_id_to_str,
    write_partition_metadata,
)
from storage.config import LogConfig
from storage.errors import LogOffline, StorageError
from storage.fs import FileSystem
from storage.log._records import Decompress
from storage.log.epoch_cache import LeaderEpochCache
from storage.log.index import CorruptIndex
from storage.log.log import Log
from storage.log.segment import (
    CLEANED_SUFFIX,
    DELETED_SUFFIX,
    INDEX_SUFFIX,
    LOG_SUFFIX,
    SWAP_SUFFIX,
    TIME_INDEX_SUFFIX,
    LogSegment,
)
from storage.producer.state import DEFAULT_PRODUCER_ID_EXPIRATION_MS, ProducerStateManager
from storage.recovery.scan import ScanResult, repair, scan_segment

log = logging.getLogger(__name__)

TEMP_SUFFIXES = (".tmp", CLEANED_SUFFIX, DELETED_SUFFIX)


class LogLoader:
    @staticmethod
    def load(
        directory: str,
        topic: str,
        partition: int,
        config: LogConfig,
        fs: FileSystem,
        time_ms: Callable[[], int],
        *,
        clean_shutdown: bool,
        recovery_point: int = 0,
        log_start_offset: int = 0,
        topic_id: uuid.UUID | None = None,
        decompress: Decompress | None = None,
        producer_id_expiration_ms: int = DEFAULT_PRODUCER_ID_EXPIRATION_MS,
    ) -> Log:
        """Open (creating if needed) the log in ``directory``. Raises LogOffline if it is unusable.

        ``producer_id_expiration_ms`` is the broker's producer.id.expiration.ms."""
        name = f"{topic}-{partition}"
        try:
            os.makedirs(directory, exist_ok=True)
            _check_topic_id(fs, directory, topic_id)
            epoch_cache = LeaderEpochCache(directory, fs)
            _remove_leftovers(fs, directory, config, time_ms)
            segments = _open_segments(fs, directory, config, time_ms)
            if not segments:
                start = max(log_start_offset, recovery_point) if not clean_shutdown else log_start_offset
                segments = [LogSegment(directory, start, config, fs, time_ms, new=True)]
            elif clean_shutdown:
                segments[-1] = _check_tail(name, segments[-1], fs, time_ms)
            else:
                with epoch_cache.batched_writes():  # one checkpoint write at the end, if it changed
                    segments = _recover(
                        name, segments, recovery_point, epoch_cache, config.compact_enabled, fs, time_ms
                    )
            log_start = max(log_start_offset, segments[0].base_offset)
            producer_state = ProducerStateManager(Path(directory), producer_id_expiration_ms, time_ms, fs)
            log = Log(
                directory, topic, partition, config, fs, time_ms, segments, log_start,
                recovery_point, epoch_cache, decompress, producer_state,
            )  # fmt: skip
            epoch_cache.truncate_from_end(log.log_end_offset)
            epoch_cache.truncate_from_start(log_start)
            log.load_producer_state(clean_shutdown)
            if not clean_shutdown:  # the .txnindex of re-validated segments is rebuilt from the log too
                log.rebuild_txn_indexes(recovery_point)
            return log
        except (OSError, CheckpointError, CorruptIndex, StorageError, ValueError) as e:
            if isinstance(e, LogOffline):
                raise
            raise LogOffline(name, f"cannot load {directory}: {e}") from e

    @staticmethod
    def create(
        directory: str,
        topic: str,
        partition: int,
        config: LogConfig,
        fs: FileSystem,
        time_ms: Callable[[], int],
        *,
        topic_id: uuid.UUID | None = None,
        leader_epoch: int | None = None,
        decompress: Decompress | None = None,
        producer_id_expiration_ms: int = DEFAULT_PRODUCER_ID_EXPIRATION_MS,
    ) -> Log:
        """A new, empty log in ``directory``, which must not exist yet; raises LogOffline (having
        removed what it made) on failure. Touches nothing but that directory, so it may run in any
        thread. Durable on return: ``partition.metadata`` and ``leader-epoch-checkpoint`` are written
        in place (no temp files: nothing older exists to protect) and fsynced, then one fsync of the
        directory covers every name in it. The caller fsyncs the parent (``fs.fsync_dir(log_dir)``)
        once for all the logs it created.

        ``leader_epoch``: the epoch this broker leads the new partition in; it is recorded as starting
        at offset 0, as Kafka records a leader's epoch when it becomes leader, so the first append
        does not write (and fsync) the epoch checkpoint on the request path.

        A directory that exists already (a log left from a crash) is opened with ``load`` instead."""
        name = f"{topic}-{partition}"
        try:
            os.mkdir(directory)
        except FileExistsError:
            return LogLoader.load(
                directory, topic, partition, config, fs, time_ms, clean_shutdown=True, topic_id=topic_id,
                decompress=decompress, producer_id_expiration_ms=producer_id_expiration_ms,
            )  # fmt: skip
        except OSError as e:
            raise LogOffline(name, f"cannot create {directory}: {e}") from e
        try:
            if topic_id is not None:
                _write_new_file(fs, os.path.join(directory, PARTITION_METADATA), partition_metadata_bytes(topic_id))
            if leader_epoch is not None and leader_epoch >= 0:
                _write_new_file(
                    fs, os.path.join(directory, LEADER_EPOCH_CHECKPOINT), epoch_checkpoint_bytes([(leader_epoch, 0)])
                )
            segment = LogSegment(directory, 0, config, fs, time_ms, new=True)
            producer_state = ProducerStateManager(Path(directory), producer_id_expiration_ms, time_ms, fs)
            log = Log(
                directory, topic, partition, config, fs, time_ms, [segment], 0, 0,
                LeaderEpochCache(directory, fs), decompress, producer_state,
            )  # fmt: skip
            log.load_producer_state(clean_shutdown=True)
            fs.fsync_dir(directory)
            return log
        except (OSError, CheckpointError, StorageError, ValueError) as e:
            shutil.rmtree(directory, ignore_errors=True)
            raise LogOffline(name, f"cannot create {directory}: {e}") from e


def _write_new_file(fs: FileSystem, path: str, data: bytes) -> None:
    with fs.open(path, "xb") as f:
        fs.write(f, data)
        fs.fsync(f)


# The formats of ``storage.checkpoints`` (Kafka's), for files written in place in a new directory.
def _check_topic_id(fs: FileSystem, directory: str, topic_id: uuid.UUID | None) -> None:
    path = os.path.join(directory, PARTITION_METADATA)
    stored = read_partition_metadata(path)
    if topic_id is None:
        return
    if stored is None:
        write_partition_metadata(fs, path, topic_id)
    elif stored != topic_id:
        raise CheckpointError(f"{path} holds topic id {topic_id_to_str(stored)}, expected {topic_id_to_str(topic_id)}")


def _base_offset(filename: str) -> int | None:
    stem = filename.split(".", 1)[0]
    return int(stem) if len(stem) == 20 and stem.isdigit() else None


def _remove_leftovers(fs: FileSystem, directory: str, config: LogConfig, time_ms: Callable[[], int]) -> None:
    names = sorted(os.listdir(directory))
    logs = {n[: -len(LOG_SUFFIX)] for n in names if n.endswith(LOG_SUFFIX)}
    index_suffixes = (INDEX_SUFFIX, TIME_INDEX_SUFFIX, ".txnindex")
    if not any(
        n.endswith((*TEMP_SUFFIXES, SWAP_SUFFIX)) or (n.endswith(index_suffixes) and n.rsplit(".", 1)[0] not in logs)
        for n in names
    ):
        return  # nothing left behind (the usual case): one listing of the directory, not four
    for name in names:
        if name.endswith(TEMP_SUFFIXES):
            fs.delete(os.path.join(directory, name))
    for name in names:
        if name.endswith(LOG_SUFFIX + SWAP_SUFFIX):
            _finish_swap(fs, directory, name, config, time_ms)
    for name in os.listdir(directory):
        if name.endswith(SWAP_SUFFIX):  # index swaps of a finished log swap
            fs.rename(os.path.join(directory, name), os.path.join(directory, name[: -len(SWAP_SUFFIX)]))
    logs = {n[: -len(LOG_SUFFIX)] for n in os.listdir(directory) if n.endswith(LOG_SUFFIX)}
    for name in os.listdir(directory):
        for suffix in (INDEX_SUFFIX, TIME_INDEX_SUFFIX, ".txnindex"):
            if name.endswith(suffix) and name[: -len(suffix)] not in logs:
                fs.delete(os.path.join(directory, name))


def _finish_swap(fs: FileSystem, directory: str, name: str, config: LogConfig, time_ms: Callable[[], int]) -> None:
    """A ``.log.swap`` replaces the segments whose base offsets it covers (a compaction's last step)."""
    base = _base_offset(name)
    if base is None:
        fs.delete(os.path.join(directory, name))
        return
    swap = LogSegment(directory, base, config, fs, time_ms, suffix=SWAP_SUFFIX)
    swap.recover()
    end = swap.read_next_offset()
    swap.close()
    for other in os.listdir(directory):
        other_base = _base_offset(other)
        if other.endswith(LOG_SUFFIX) and other_base is not None and base <= other_base < max(end, base + 1):
            prefix = os.path.join(directory, other[: -len(LOG_SUFFIX)])
            for suffix in (LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX, ".txnindex"):
                fs.delete(prefix + suffix)
    fs.rename(os.path.join(directory, name), os.path.join(directory, name[: -len(SWAP_SUFFIX)]))


def _open_segments(fs: FileSystem, directory: str, config: LogConfig, time_ms: Callable[[], int]) -> list[LogSegment]:
    bases = sorted(b for n in os.listdir(directory) if n.endswith(LOG_SUFFIX) and (b := _base_offset(n)) is not None)
    return [LogSegment(directory, b, config, fs, time_ms) for b in bases]


def _repair(
    name: str,
    seg: LogSegment,
    result: ScanResult,
    fs: FileSystem,
    time_ms: Callable[[], int],
    recovery_point: int | None,
) -> LogSegment:
    """Drop the damaged ranges of ``seg`` (logging each at WARN) and its indexes (rebuilt on use).
    ``recovery_point``: None after a clean shutdown (everything had been flushed)."""
    for d in result.damage:
        if d.resumes_at is None:
            what = f"offsets from {d.first_missing} to the end of the segment"
        else:
            what = f"offsets {d.first_missing}..{d.resumes_at - 1}; the batches from offset {d.resumes_at} on are kept"
        if recovery_point is None:
            cause = "found after a clean shutdown"
        elif d.first_missing < recovery_point:
            cause = f"below the recovery point {recovery_point}: fsynced data was damaged on disk"
        else:
            cause = f"above the recovery point {recovery_point}: not fsynced before the stop"
        log.warning(
            "%s: segment %s: dropping %d damaged bytes at position %d of %d (%s; %s): %s",
            name, os.path.basename(seg.log_path), d.length, d.position, result.size, what, cause, d.reason,
        )  # fmt: skip
    seg.close()
    repair(fs, seg.log_path, result)
    fs.delete(seg.offset_index.path)
    fs.delete(seg.time_index.path)
    return LogSegment(seg.directory, seg.base_offset, seg.config, fs, time_ms)


def _check_tail(name: str, seg: LogSegment, fs: FileSystem, time_ms: Callable[[], int]) -> LogSegment:
    """After a clean shutdown: check the active segment from its last index entry to its end."""
    _, position = seg.offset_index.last_entry()
    result = scan_segment(fs, seg.log_path, seg.base_offset, start=position, index_path=seg.offset_index.path)
    return _repair(name, seg, result, fs, time_ms, None) if result.damage else seg


def _recover(
    name: str,
    segments: list[LogSegment],
    recovery_point: int,
    epoch_cache: LeaderEpochCache,
    compacted: bool,
    fs: FileSystem,
    time_ms: Callable[[], int],
) -> list[LogSegment]:
    """Re-validate from the segment holding ``recovery_point``, dropping only damaged bytes."""
    first = 0
    for i, seg in enumerate(segments):
        if seg.base_offset <= recovery_point:
            first = i
    epoch_cache.truncate_from_end(segments[first].base_offset)

    def on_batch(header: BatchHeader) -> None:
        epoch_cache.assign(header.partition_leader_epoch, header.base_offset)

    if first + 1 < len(segments):
        log.info(
            "%s: recovering %d segment(s) from offset %d (the recovery point is %d)",
            name, len(segments) - first, segments[first].base_offset, recovery_point,
        )  # fmt: skip
    for i in range(first, len(segments)):
        seg = segments[i]
        result = scan_segment(fs, seg.log_path, seg.base_offset, index_path=seg.offset_index.path, on_batch=on_batch)
        if result.damage:
            segments[i] = _repair(name, seg, result, fs, time_ms, recovery_point)
        else:  # indexes written after the last flush may be torn: rebuilt (from headers) on first use
            seg.close()
            fs.delete(seg.offset_index.path)
            fs.delete(seg.time_index.path)
            segments[i] = LogSegment(seg.directory, seg.base_offset, seg.config, fs, time_ms)
        # Without compaction offsets run on from one segment to the next; a gap means lost data. The
        # segments after it hold good batches that were acknowledged: keep them, and say so.
        if not compacted and i + 1 < len(segments):
            end, following = result.next_offset, segments[i + 1].base_offset
            if end != following:
                log.warning(
                    "%s: offsets %d..%d are missing between segment %s and the next one (kept)",
                    name, end, following - 1, os.path.basename(seg.log_path),
                )  # fmt: skip
    return segments
