"""``LogLoader``: open a partition directory, finishing or undoing what a crash left behind.

Steps, in order (Kafka's):
1. delete temporary and leftover files (``.tmp``, ``.cleaned``, ``.deleted``); finish ``.swap`` files
   (a compaction that had replaced its segments: the swap becomes the segment, the segments it covers go);
2. delete index files whose ``.log`` is gone;
3. open the segments (lazily: no index is read, no batch is scanned yet);
4. after a clean shutdown trust everything up to the log end; otherwise re-validate every segment from
   the one holding the recovery point on, cut the first torn or corrupt batch and delete the segments
   after it, and rebuild the leader epoch cache from what survived;
5. an index that fails its sanity check (or is missing) is rebuilt when it is first used;
6. rebuild the producer state: the newest producer snapshot plus a replay of the batch headers after
   it (nothing to replay after a clean shutdown, which left a snapshot at the log end).

Any I/O or format failure raises ``LogOffline`` for this partition only.
"""

from __future__ import annotations

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
            elif not clean_shutdown:
                segments = _recover(segments, recovery_point, epoch_cache, config.compact_enabled)
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


def _recover(
    segments: list[LogSegment], recovery_point: int, epoch_cache: LeaderEpochCache, compacted: bool
) -> list[LogSegment]:
    """Re-validate from the segment holding ``recovery_point``; drop everything after a cut."""
    first = 0
    for i, seg in enumerate(segments):
        if seg.base_offset <= recovery_point:
            first = i
    epoch_cache.truncate_from_end(segments[first].base_offset)

    def on_batch(header: BatchHeader) -> None:
        epoch_cache.assign(header.partition_leader_epoch, header.base_offset)

    for i in range(first, len(segments)):
        cut = segments[i].recover(on_batch)
        # Without compaction, offsets run on from one segment to the next: a gap means lost data
        # (a file cut at a batch boundary), and nothing after it can be trusted.
        gap = not compacted and i + 1 < len(segments) and segments[i].read_next_offset() != segments[i + 1].base_offset
        if cut or gap:
            for later in segments[i + 1 :]:
                later.delete_files()
            segments = segments[: i + 1]
            break
    return segments
