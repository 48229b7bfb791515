"""``LogManager``: every partition log of every ``log.dirs`` directory.

Per log dir it keeps Kafka's files: ``meta.properties``, ``recovery-point-offset-checkpoint``,
``log-start-offset-checkpoint``, ``replication-offset-checkpoint`` and, between a clean shutdown and the
next start, the ``.kafka_cleanshutdown`` marker. With the marker present, logs open without scanning;
without it, each log is recovered from its checkpointed recovery point.

A partition that cannot be loaded, or that fails on disk later, is offline on its own
(``offline_partitions``); every other partition keeps working. Not thread-safe: the broker calls it
from its event loop only, except ``create_new_logs`` (any thread; see there). The blocking parts of the
periodic work come as callables that captured what they need on the owner's thread and may run in any
thread: checkpoint writes (``*_checkpoint_work``), retention's deletions (``purge_work``), flush.ms
flushes (``dirty_flush_work``) and each roll's flush (handed to ``flush_scheduler``). Compaction, the slow
pass, is a generator of bounded steps (``clean_logs_steps``) that the loop runs in time slices.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import time
import uuid
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar, cast

from protocol.records import InvalidRecordBatch
from storage.checkpoints import (
    CLEANER_OFFSET_CHECKPOINT,
    LOG_START_OFFSET_CHECKPOINT,
    RECOVERY_POINT_CHECKPOINT,
    REPLICATION_OFFSET_CHECKPOINT,
    CheckpointError,
    MetaProperties,
    read_meta_properties,
    read_offset_checkpoint,
    write_meta_properties,
    write_offset_checkpoint,
)
from storage.cleaner.cleaner import CleaningResult, LogCleaner, Step, run_steps
from storage.config import LogConfig
from storage.errors import LogOffline, StorageError
from storage.fs import REAL_FS, FileSystem
from storage.log._records import Decompress
from storage.log.local_log import FlushWork
from storage.log.log import EpochWriteScheduler, FlushScheduler, Log, parse_partition_dir, partition_dir_name
from storage.log_move import FUTURE_DIR_SUFFIX, LogMove
from storage.producer.state import DEFAULT_PRODUCER_ID_EXPIRATION_MS
from storage.recovery.loader import LogLoader

CLEAN_SHUTDOWN_FILE = ".kafka_cleanshutdown"
DELETE_DIR_SUFFIX = "-delete"

TopicPartition = tuple[str, int]
MAX_DIR_NAME = 255  # bytes in a file name on common file systems


def log_delete_dir_name(topic: str, partition: int) -> str:
    """Kafka's name for a partition dir being deleted: ``topic-partition.uniqueId-delete``, with the
    topic name cut short so that the whole stays within 255 characters (a 249-character topic fits)."""
    suffix = f"-{partition}.{uuid.uuid4().hex}{DELETE_DIR_SUFFIX}"
    return topic[: max(0, MAX_DIR_NAME - len(suffix))] + suffix


T = TypeVar("T")
A = TypeVar("A")

CREATE_WORKERS = 8


@dataclass(frozen=True, slots=True)
class NewLog:
    """A log to create: its partition, config and topic id (None: no ``partition.metadata``)."""

    topic: str
    partition: int
    config: LogConfig
    topic_id: uuid.UUID | None = None
    leader_epoch: int | None = None  # recorded as starting at offset 0 (see ``LogLoader.create``)


@dataclass(frozen=True, slots=True)
class PlannedLog:
    """A ``NewLog`` with the log dir chosen for it and its directory's path."""

    new: NewLog
    log_dir: str
    path: str


def in_threads(work: Callable[[A], T], items: list[A], threads: int, name: str) -> list[T]:
    """``[work(item) for item in items]``, in up to ``threads`` threads: each thread takes every
    ``threads``-th item (one task per thread, not one per item: with 10,000 logs the futures alone
    cost more than the work they would spread). The first exception raised is raised here."""
    threads = min(threads, len(items))
    if threads <= 1:
        return [work(item) for item in items]
    results: list[T | None] = [None] * len(items)

    def run(first: int) -> None:
        for i in range(first, len(items), threads):
            results[i] = work(items[i])

    with ThreadPoolExecutor(threads, thread_name_prefix=name) as pool:
        for future in [pool.submit(run, first) for first in range(threads)]:
            future.result()
    return cast(list[T], results)


def _run_load(load: Callable[[], Log]) -> Log | LogOffline:
    try:
        return load()
    except LogOffline as e:
        return e


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class LogManager:
    def __init__(
        self,
        log_dirs: list[str],
        default_config: LogConfig | None = None,
        *,
        meta: MetaProperties | None = None,
        topic_configs: Callable[[str], LogConfig | None] | None = None,
        fs: FileSystem = REAL_FS,
        time_ms: Callable[[], int] = _wall_clock_ms,
        decompress: Decompress | None = None,
        producer_id_expiration_ms: int = DEFAULT_PRODUCER_ID_EXPIRATION_MS,
        flush_scheduler: FlushScheduler | None = None,
        recovery_threads_per_data_dir: int = 1,
        epoch_write_scheduler: EpochWriteScheduler | None = None,
    ) -> None:
        """``topic_configs(topic)`` gives a topic's config at load time (None: ``default_config``).
        ``producer_id_expiration_ms`` is the broker's producer.id.expiration.ms; ``flush_scheduler``
        runs the flush each roll asks for (``Log.flush_scheduler``; None: at once);
        ``recovery_threads_per_data_dir`` is num.recovery.threads.per.data.dir (see ``startup``);
        ``epoch_write_scheduler`` runs leader-epoch checkpoint writes (``LeaderEpochCache.write_scheduler``;
        None: at once)."""
        if not log_dirs:
            raise StorageError("log.dirs is empty")
        self.log_dirs = [os.path.abspath(d) for d in log_dirs]
        self.default_config = default_config or LogConfig()
        self.meta = meta
        self._topic_configs = topic_configs
        self._fs = fs
        self._time_ms = time_ms
        self._decompress = decompress
        self._producer_id_expiration_ms = producer_id_expiration_ms
        self._flush_scheduler = flush_scheduler
        self._epoch_write_scheduler = epoch_write_scheduler
        self.recovery_threads = max(1, recovery_threads_per_data_dir)
        self.cleaner = LogCleaner(fs, time_ms)
        self.uncleanable_partitions: set[TopicPartition] = set()
        self._logs: dict[TopicPartition, Log] = {}
        self._log_dir_of: dict[TopicPartition, str] = {}
        self._load_failures: dict[TopicPartition, LogOffline] = {}
        self.future_logs: dict[TopicPartition, LogMove] = {}  # moves under way (AlterReplicaLogDirs)
        self.had_clean_shutdown: dict[str, bool] = {}

    # -- startup ----------------------------------------------------------------------------------
    def startup(self) -> None:
        """Check meta.properties and load every partition of every log dir, each dir's logs in up to
        ``recovery_threads`` threads (Kafka's num.recovery.threads.per.data.dir), all dirs at once;
        then write the recovery points and log start offsets recovery settled on (a recovery may have
        cut a log below its old recovery point; the next one must not trust the old value).
        Loading one log touches only its own directory, so logs load side by side; the manager's
        state is changed afterwards, on this thread, in the order of the partition directories."""
        loads: list[tuple[str, list[tuple[TopicPartition, Callable[[], Log]]]]] = []
        for log_dir in self.log_dirs:
            os.makedirs(log_dir, exist_ok=True)
            self._check_meta(log_dir)
            loads.append(self._plan_loads(log_dir))
        jobs = [load for _, dir_jobs in loads for _, load in dir_jobs]
        outcomes = iter(in_threads(_run_load, jobs, self.recovery_threads * len(self.log_dirs), "load-log"))
        for log_dir, dir_jobs in loads:
            for tp, _ in dir_jobs:
                outcome = next(outcomes)
                self._log_dir_of[tp] = log_dir
                if isinstance(outcome, LogOffline):
                    self._load_failures[tp] = outcome
                else:
                    self._logs[tp] = outcome
            # Later crashes must be seen as unclean: the marker lives only between shutdown and load.
            self._fs.delete(os.path.join(log_dir, CLEAN_SHUTDOWN_FILE))
        for log in self._logs.values():
            log.flush_scheduler = self._flush_scheduler
            log.epoch_cache.write_scheduler = self._epoch_writes_of(log)
        self.checkpoint_recovery_points()
        self.checkpoint_log_start_offsets()

    def _epoch_writes_of(self, log: Log) -> Callable[[Callable[[], None]], None] | None:
        scheduler = self._epoch_write_scheduler
        return None if scheduler is None else functools.partial(scheduler, log)

    def _check_meta(self, log_dir: str) -> None:
        stored = read_meta_properties(log_dir)
        if self.meta is None:
            self.meta = stored
            return
        if stored is None:
            write_meta_properties(self._fs, log_dir, self.meta)
        elif stored.cluster_id != self.meta.cluster_id or stored.node_id != self.meta.node_id:
            raise StorageError(
                f"{log_dir}/meta.properties belongs to cluster {stored.cluster_id} node {stored.node_id}, "
                f"not cluster {self.meta.cluster_id} node {self.meta.node_id}"
            )

    def _plan_loads(self, log_dir: str) -> tuple[str, list[tuple[TopicPartition, Callable[[], Log]]]]:
        """What loading ``log_dir`` takes: one job per partition directory (in name order), each
        loading its log and setting its high watermark. Removes ``-delete`` directories."""
        clean = os.path.exists(os.path.join(log_dir, CLEAN_SHUTDOWN_FILE))
        self.had_clean_shutdown[log_dir] = clean
        recovery_points = read_offset_checkpoint(os.path.join(log_dir, RECOVERY_POINT_CHECKPOINT))
        start_offsets = read_offset_checkpoint(os.path.join(log_dir, LOG_START_OFFSET_CHECKPOINT))
        high_watermarks = read_offset_checkpoint(os.path.join(log_dir, REPLICATION_OFFSET_CHECKPOINT))
        jobs: list[tuple[TopicPartition, Callable[[], Log]]] = []
        with os.scandir(log_dir) as entries:
            dirs = sorted(e.name for e in entries if e.is_dir())
        for name in dirs:
            path = os.path.join(log_dir, name)
            if name.endswith(DELETE_DIR_SUFFIX) or name.endswith(FUTURE_DIR_SUFFIX):
                shutil.rmtree(path, ignore_errors=True)  # an unfinished move is abandoned (log_move)
                continue
            tp = parse_partition_dir(name)
            if tp is None:
                continue
            load = functools.partial(
                self._load_log, path, tp, self._config_for(tp[0]), clean, recovery_points.get(tp, 0),
                start_offsets.get(tp, 0), high_watermarks.get(tp, 0),
            )  # fmt: skip
            jobs.append((tp, load))
        return log_dir, jobs

    def _load_log(
        self, path: str, tp: TopicPartition, config: LogConfig, clean: bool, recovery_point: int,
        log_start_offset: int, high_watermark: int,
    ) -> Log:  # fmt: skip
        """Load one log (any thread: it touches nothing but the log's directory). Raises LogOffline."""
        log = LogLoader.load(
            path, tp[0], tp[1], config, self._fs, self._time_ms, clean_shutdown=clean,
            recovery_point=recovery_point, log_start_offset=log_start_offset, decompress=self._decompress,
            producer_id_expiration_ms=self._producer_id_expiration_ms,
        )  # fmt: skip
        log.set_high_watermark(high_watermark)
        return log

    def _config_for(self, topic: str) -> LogConfig:
        if self._topic_configs is not None:
            config = self._topic_configs(topic)
            if config is not None:
                return config
        return self.default_config

    # -- logs -------------------------------------------------------------------------------------
    @property
    def logs(self) -> dict[TopicPartition, Log]:
        return dict(self._logs)

    def get_log(self, topic: str, partition: int) -> Log | None:
        """The log, or None if this broker has none; raises LogOffline for an offline partition."""
        tp = (topic, partition)
        if tp in self._load_failures:
            raise self._load_failures[tp]
        log = self._logs.get(tp)
        if log is not None and log.offline:
            raise LogOffline(log.name, "a disk operation failed earlier")
        return log

    def get_or_create_log(
        self,
        topic: str,
        partition: int,
        config: LogConfig | None = None,
        topic_id: uuid.UUID | None = None,
        *,
        leader_epoch: int | None = None,
    ) -> Log:
        """The partition's log, created empty (in the log dir with the fewest partitions) if missing.
        Blocking disk work: callers on an event loop use ``plan_new_logs`` / ``create_new_logs`` /
        ``add_new_logs`` instead."""
        log = self.get_log(topic, partition)
        if log is not None:
            if config is not None:
                log.update_config(config)
            return log
        new = NewLog(topic, partition, config or self._config_for(topic), topic_id, leader_epoch)
        (plan,) = self.plan_new_logs([new])
        (log,) = self.create_new_logs([plan])
        self.add_new_logs([plan], [log])
        return log

    # Creating logs off the owner's thread, in three steps: plan (owner), create (any thread), add (owner).
    def plan_new_logs(self, wanted: list[NewLog]) -> list[PlannedLog]:
        """Where each new log goes: the log dir with the fewest partitions, counting the ones placed
        before it. Call on the owner's thread. Raises StorageError if a log exists already."""
        counts = dict.fromkeys(self.log_dirs, 0)
        for d in self._log_dir_of.values():
            counts[d] = counts.get(d, 0) + 1
        plans = []
        for new in wanted:
            tp = (new.topic, new.partition)
            if tp in self._log_dir_of:
                raise StorageError(f"log {new.topic}-{new.partition} exists already")
            log_dir = min(self.log_dirs, key=lambda d: counts[d])
            counts[log_dir] += 1
            plans.append(PlannedLog(new, log_dir, os.path.join(log_dir, partition_dir_name(new.topic, new.partition))))
        return plans

    def create_new_logs(self, plans: list[PlannedLog]) -> list[Log]:
        """Create the planned logs on disk, in the order of ``plans``; all or nothing (on failure what
        was made is removed and the first error, LogOffline, raised). Reads and changes no state of the
        manager, so it may run in a worker thread while the owner goes on (see ``LogLoader.create`` for
        what is fsynced when). Several logs are made side by side in up to ``CREATE_WORKERS`` threads:
        each is a directory, five files and a few fsyncs, metadata work that the file system does in
        parallel for separate directories (the creations, not the fsyncs, were the cost measured)."""
        logs: list[Log] = []
        try:
            if len(plans) == 1:
                logs.append(self._create(plans[0]))
            elif plans:
                with ThreadPoolExecutor(min(CREATE_WORKERS, len(plans)), thread_name_prefix="create-log") as pool:
                    futures = [pool.submit(self._create, plan) for plan in plans]
                logs = [f.result() for f in futures if f.exception() is None]
                failures = [e for e in (f.exception() for f in futures) if e is not None]
                if failures:
                    raise failures[0]
            for log_dir in sorted({plan.log_dir for plan in plans}):
                try:
                    self._fs.fsync_dir(log_dir)  # the new directories' names
                except OSError as e:
                    raise LogOffline(plans[0].new.topic, f"cannot fsync {log_dir}: {e}") from e
        except BaseException:
            self.discard_new_logs(logs)
            raise
        return logs

    def _create(self, plan: PlannedLog) -> Log:
        new = plan.new
        existed = os.path.lexists(plan.path)  # not ours to remove if the creation fails
        try:
            return LogLoader.create(
                plan.path, new.topic, new.partition, new.config, self._fs, self._time_ms,
                topic_id=new.topic_id, leader_epoch=new.leader_epoch, decompress=self._decompress,
                producer_id_expiration_ms=self._producer_id_expiration_ms,
            )  # fmt: skip
        except BaseException:
            if not existed:
                self._remove_new_dir(plan.path)
            raise

    def discard_new_logs(self, logs: list[Log]) -> None:
        """Close and remove logs made by ``create_new_logs`` that will not be added. Any thread."""
        for log in logs:
            with contextlib.suppress(OSError, StorageError):  # the directory goes anyway
                log.close(snapshot=False)
            self._remove_new_dir(log.directory)

    def _remove_new_dir(self, path: str) -> None:
        """Remove the directory of a log that was made but will not be kept. If that fails (removing a
        tree needs descriptors: under EMFILE, the usual reason a creation failed, it does), rename it
        ``...-delete`` instead, a rename needing none: no later start loads it as a partition, and the
        next start deletes it."""
        try:
            self._fs.remove_tree(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            pass
        with contextlib.suppress(OSError):
            self._fs.rename(path, f"{path}.{uuid.uuid4().hex}{DELETE_DIR_SUFFIX}")

    def add_new_logs(self, plans: list[PlannedLog], logs: list[Log]) -> None:
        """Make created logs the manager's. Call on the owner's thread."""
        for plan, log in zip(plans, logs, strict=True):
            tp = (plan.new.topic, plan.new.partition)
            log.flush_scheduler = self._flush_scheduler
            log.epoch_cache.write_scheduler = self._epoch_writes_of(log)
            self._logs[tp] = log
            self._log_dir_of[tp] = plan.log_dir

    def delete_log(self, topic: str, partition: int) -> None:
        """Remove the partition's log: rename its dir for deletion (``log_delete_dir_name``), then delete it."""
        for doomed in self.delete_logs([(topic, partition)]):
            shutil.rmtree(doomed, ignore_errors=True)

    def delete_logs(self, partitions: list[TopicPartition]) -> list[str]:
        """Rename the partitions' log dirs for deletion, all or none, and forget their logs; returns
        the renamed dirs for ``remove_deleted_dirs`` (a startup removes any left). Raises
        StorageError, with every dir back in place and every log still open, if a rename fails."""
        moves: list[tuple[str, str]] = []
        for tp in partitions:
            log_dir = self._log_dir_of.get(tp)
            if log_dir is None:
                continue
            path = os.path.join(log_dir, partition_dir_name(*tp))
            if os.path.exists(path):
                moves.append((path, os.path.join(log_dir, log_delete_dir_name(*tp))))
        done: list[tuple[str, str]] = []
        try:
            for path, doomed in moves:
                self._fs.rename(path, doomed)
                done.append((path, doomed))
        except OSError as e:
            for path, doomed in reversed(done):
                try:
                    self._fs.rename(doomed, path)
                except OSError as again:  # pragma: no cover - a second failure; the next start deletes it
                    raise StorageError(f"cannot delete log {path}: {e}; nor put it back: {again}") from e
            raise StorageError(f"cannot delete log {path}: {e}") from e
        for tp in partitions:
            log = self._logs.pop(tp, None)
            self._load_failures.pop(tp, None)
            self._log_dir_of.pop(tp, None)
            if log is not None:
                log.release()  # its files moved with the directory: nothing more is written to them
        return [doomed for _, doomed in moves]

    def log_dir_of(self, topic: str, partition: int) -> str | None:
        return self._log_dir_of.get((topic, partition))

    def complete_move(self, move: LogMove) -> str:
        """Swap the moved log in (``storage.log_move``): the source is closed and renamed for
        deletion, the log opened in the destination dir takes its place. Returns the renamed source
        dir for ``remove_deleted_dirs``. Raises OSError / LogOffline, the partition then offline."""
        source = move.source
        tp = (source.topic, source.partition)
        offsets = (source.log_end_offset, source.log_start_offset, source.high_watermark)
        try:
            move.finish_copy(self._fs)
            log = self._load_log(move.final_path, tp, source.config, True, *offsets)
            doomed = os.path.join(os.path.dirname(move.source_path), log_delete_dir_name(*tp))
            self._fs.rename(move.source_path, doomed)
        except (OSError, LogOffline) as e:
            self._load_failures[tp] = e if isinstance(e, LogOffline) else LogOffline(source.name, str(e))
            source.release()
            raise
        source.release()  # closed, its dir renamed away: a late reader gets LogOffline, not a stale file
        log.flush_scheduler = self._flush_scheduler
        log.epoch_cache.write_scheduler = self._epoch_writes_of(log)
        self._logs[tp] = log
        self._log_dir_of[tp] = move.destination_dir
        return doomed

    @staticmethod
    def remove_deleted_dirs(paths: list[str]) -> None:
        """Remove dirs ``delete_logs`` renamed (blocking; any thread)."""
        for path in paths:
            shutil.rmtree(path, ignore_errors=True)

    @property
    def offline_partitions(self) -> set[TopicPartition]:
        return set(self._load_failures) | {tp for tp, log in self._logs.items() if log.offline}

    # -- periodic work ----------------------------------------------------------------------------
    def cleanup_logs(self, now_ms: int | None = None, *, purge: bool = True) -> int:
        """A retention pass over every online log; returns the number of segments deleted. Their files
        are deleted now with ``purge``, else by the callable ``purge_work`` returns."""
        now = self._time_ms() if now_ms is None else now_ms
        deleted = 0
        for log in self._online_logs():
            try:
                deleted += log.delete_old_segments(now, purge=purge)
            except StorageError:
                continue  # that log is offline now; the others go on
        return deleted

    def purge_work(self, now_ms: int | None = None) -> Callable[[], None] | None:
        """The deletion of every log's ``.deleted`` files that are due, to run in a worker thread."""
        now = self._time_ms() if now_ms is None else now_ms
        works = [w for log in self._logs.values() if (w := log.purge_work(now)) is not None]
        if not works:
            return None

        def purge() -> None:
            for work in works:
                with contextlib.suppress(OSError):  # left behind as .deleted: the next start removes it
                    work()

        return purge

    def flush_dirty_logs(self, now_ms: int | None = None) -> None:
        """Flush the logs whose flush.ms has passed."""
        now = self._time_ms() if now_ms is None else now_ms
        for log in self._online_logs():
            try:
                log.maybe_flush(now)
            except StorageError:
                continue

    def dirty_flush_work(self, now_ms: int | None = None) -> list[tuple[Log, FlushWork]]:
        """``flush_dirty_logs`` in two halves: the flushes due, each to run (``FlushWork.run``) in a
        worker thread, then to mark (``Log.mark_flushed``) on the owner's thread."""
        now = self._time_ms() if now_ms is None else now_ms
        out = []
        for log in self._online_logs():
            try:
                work = log.flush_work() if log.needs_flush(now) else None
            except StorageError:
                continue
            if work is not None:
                out.append((log, work))
        return out

    def clean_logs(self, now_ms: int | None = None) -> int:
        """``clean_logs_steps`` run at once. Returns the number of logs cleaned."""
        return run_steps(self.clean_logs_steps(now_ms))

    def clean_logs_steps(self, now_ms: int | None = None) -> Generator[Step, None, int]:
        """Compact every online log with cleanup.policy compact that needs it (``storage.cleaner.cleaner``)
        and write each log dir's ``cleaner-offset-checkpoint``; the generator's value is the number of
        logs cleaned. It pauses (yields) between bounded steps of work (``LogCleaner.clean_steps``), so
        the owner of the logs runs it in slices and may use the logs, and this manager, in between.
        Run one pass at a time (the checkpoint files are read at a log dir's start and written at its
        end).

        A log removed from the manager or gone offline during a pause is dropped: its cleaning is
        abandoned (``.cleaned`` files removed) and its entry left out of the checkpoint. A log whose
        data cannot be decoded, or whose disk fails, while the cleaner works on it is marked
        uncleanable (``uncleanable_partitions``) and skipped from then on, as Kafka does. Closing the
        generator abandons the cleaning under way and writes nothing."""
        now = self._time_ms() if now_ms is None else now_ms
        cleaned = 0
        for log_dir in self.log_dirs:
            path = os.path.join(log_dir, CLEANER_OFFSET_CHECKPOINT)
            try:
                checkpoints = read_offset_checkpoint(path)
            except CheckpointError:
                checkpoints = {}  # derived data: the next cleaning starts from the log start
            updated: dict[TopicPartition, int] = {}
            mine = [(tp, log) for tp, log in self._logs.items() if self._log_dir_of[tp] == log_dir]
            for tp, log in mine:
                if not self._is_current(tp, log) or not log.config.compact_enabled:
                    continue
                previous = checkpoints.get(tp)
                if previous is not None:
                    updated[tp] = previous
                if tp in self.uncleanable_partitions:
                    continue
                try:
                    result = yield from self._clean_log_steps(tp, log, previous, now)
                except (OSError, StorageError, InvalidRecordBatch):
                    if self._is_current(tp, log):
                        self.uncleanable_partitions.add(tp)
                    continue
                if result is not None:
                    updated[tp] = result.end_offset
                    cleaned += 1
            logs = dict(mine)
            updated = {tp: offset for tp, offset in updated.items() if self._is_current(tp, logs[tp])}
            if updated != checkpoints:
                try:
                    write_offset_checkpoint(self._fs, path, updated)
                except OSError as e:
                    raise StorageError(f"cannot write {path}: {e}") from e
        return cleaned

    def _is_current(self, tp: TopicPartition, log: Log) -> bool:
        """``log`` is still this manager's log of ``tp``, and online."""
        return self._logs.get(tp) is log and not log.offline

    def _clean_log_steps(
        self, tp: TopicPartition, log: Log, checkpoint: int | None, now: int
    ) -> Generator[Step, None, CleaningResult | None]:
        steps = self.cleaner.clean_steps(log, checkpoint, now)
        try:
            failed: Exception | None = None
            while True:
                try:
                    step = next(steps) if failed is None else steps.throw(failed)
                except StopIteration as stop:
                    result: CleaningResult | None = stop.value
                    return result
                failed = None
                try:
                    yield step
                except Exception as e:  # the driver's run of ``step`` failed: the cleaning's to handle
                    failed = e
                    continue
                if not self._is_current(tp, log):
                    return None  # removed or offline meanwhile: ``finally`` abandons the cleaning
        finally:
            steps.close()

    def remove_expired_producers(self, now_ms: int | None = None) -> int:
        """Forget, in every online log, the producers idle for producer.id.expiration.ms (Kafka checks
        every producer.id.expiration.check.interval.ms, 10 minutes). Returns how many were removed."""
        now = self._time_ms() if now_ms is None else now_ms
        return sum(log.remove_expired_producers(now) for log in self._online_logs())

    def _online_logs(self) -> list[Log]:
        return [log for log in self._logs.values() if not log.offline]

    # -- checkpoints ------------------------------------------------------------------------------
    def _by_dir(self, value: Callable[[Log], int]) -> dict[str, dict[TopicPartition, int]]:
        out: dict[str, dict[TopicPartition, int]] = {d: {} for d in self.log_dirs}
        for tp, log in self._logs.items():
            if not log.offline:
                out[self._log_dir_of[tp]][tp] = value(log)
        return out

    def _write_work(self, filename: str, value: Callable[[Log], int]) -> Callable[[], None]:
        """The offsets now, and the blocking write of them (to run in any thread; one at a time per
        file, as they share a temp file). Raises StorageError."""
        by_dir = self._by_dir(value)
        fs = self._fs

        def write() -> None:
            for log_dir, offsets in by_dir.items():
                try:
                    write_offset_checkpoint(fs, os.path.join(log_dir, filename), offsets)
                except OSError as e:
                    raise StorageError(f"cannot write {log_dir}/{filename}: {e}") from e

        return write

    def recovery_point_checkpoint_work(self) -> Callable[[], None]:
        return self._write_work(RECOVERY_POINT_CHECKPOINT, lambda log: log.recovery_point)

    def log_start_offset_checkpoint_work(self) -> Callable[[], None]:
        return self._write_work(LOG_START_OFFSET_CHECKPOINT, lambda log: log.log_start_offset)

    def high_watermark_checkpoint_work(self) -> Callable[[], None]:
        return self._write_work(REPLICATION_OFFSET_CHECKPOINT, lambda log: log.high_watermark)

    def checkpoint_recovery_points(self) -> None:
        self.recovery_point_checkpoint_work()()

    def checkpoint_log_start_offsets(self) -> None:
        self.log_start_offset_checkpoint_work()()

    def checkpoint_high_watermarks(self) -> None:
        self.high_watermark_checkpoint_work()()

    # -- shutdown ---------------------------------------------------------------------------------
    def _side_by_side(
        self, work: Callable[[TopicPartition, Log], T], items: list[tuple[TopicPartition, Log]]
    ) -> list[T]:
        """``work`` on every (partition, log), in up to ``recovery_threads`` threads per log dir."""
        threads = self.recovery_threads * len(self.log_dirs)
        return in_threads(lambda item: work(*item), items, threads, "log-shutdown")

    def shutdown(self) -> None:
        """Flush every log, write the checkpoints, close the files (each log takes a producer snapshot
        at its end), leave the clean-shutdown marker (only in log dirs whose logs all flushed and
        snapshotted). Logs are flushed, then closed, side by side in ``recovery_threads`` threads per
        log dir, as Kafka does with num.recovery.threads.per.data.dir: the fsyncs overlap."""

        def flush(tp: TopicPartition, log: Log) -> str | None:
            try:
                if not log.offline:
                    log.flush()
            except StorageError:
                return self._log_dir_of[tp]
            return None

        items = list(self._logs.items())
        failed_dirs = {d for d in self._side_by_side(flush, items) if d is not None}
        self.checkpoint_recovery_points()
        self.checkpoint_log_start_offsets()
        self.checkpoint_high_watermarks()
        self._side_by_side(lambda tp, log: log.close(), items)
        for log_dir in self.log_dirs:
            if log_dir in failed_dirs or any(self._log_dir_of[tp] == log_dir for tp in self.offline_partitions):
                continue
            self._fs.write_file_atomically(os.path.join(log_dir, CLEAN_SHUTDOWN_FILE), b"")
        self._logs.clear()
