"""AlterReplicaLogDirs (34), versions 0-2: move partitions between this broker's ``log.dirs``.

As Kafka's ReplicaManager.alterReplicaLogDirs, per partition:

- The path must be one of the broker's log dirs exactly (absolute, as DescribeLogDirs lists them):
  else LOG_DIR_NOT_FOUND. A configured log dir that is missing on disk: KAFKA_STORAGE_ERROR.
- A topic whose future dir name (``topic-partition.uniqueId-future``) would pass 255 characters:
  INVALID_TOPIC_EXCEPTION. An offline partition: KAFKA_STORAGE_ERROR. A partition this broker does
  not host: REPLICA_NOT_AVAILABLE (Kafka keeps that code here for NOT_LEADER_OR_FOLLOWER), and
  UNKNOWN_TOPIC_OR_PARTITION for one the cluster does not know.
- The dir the partition already lives in: nothing to do (NONE); a move under way to another dir is
  called off, as Kafka removes the future replica when the destination changes.
- Another dir: NONE at once, and the move runs in the background (``storage.log_move``): the log's
  files are copied to a future dir in rounds in a worker thread while the partition keeps taking
  appends, until a round copies little; then, in one step on the event loop, the source is closed,
  the appends made since the last round are copied, and the moved log replaces it under the
  partition. DescribeLogDirs shows the future replica (``is_future_key``) in the destination while
  the copy runs, and the partition in its new dir afterwards.

Version notes: v1 same as v0; v2 flexible.

Not done: a move interrupted by a restart is abandoned (the ``-future`` dir removed at start-up)
rather than resumed; a fetch whose response is being sent from the old segment files when the swap
closes them may fail (the client retries).
"""

from __future__ import annotations

import asyncio
import logging
import os

from broker.components import BrokerComponents
from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.partition import NotLeaderOrFollower, UnknownTopicOrPartition
from protocol.errors import ErrorCode
from protocol.messages.alter_replica_log_dirs import (
    ALTER_REPLICA_LOG_DIRS,
    AlterReplicaLogDirPartitionResult,
    AlterReplicaLogDirsRequest,
    AlterReplicaLogDirsResponse,
    AlterReplicaLogDirTopicResult,
)
from storage.errors import LogOffline, StorageError
from storage.log_move import LogMove, future_dir_name_fits

log = logging.getLogger(__name__)

CAUGHT_UP_BYTES = 1 << 20
"""A copy round that copies less than this ends the catch-up: the rest is copied during the swap."""
MAX_ROUNDS = 20
"""Rounds before the swap at the latest, for a partition whose appends outpace the copy."""

_MOVES: set[asyncio.Task[None]] = set()  # keeps the background moves referenced until they end


@handles(ALTER_REPLICA_LOG_DIRS, versions="0-2")
async def handle_alter_replica_log_dirs(
    ctx: RequestContext, request: AlterReplicaLogDirsRequest
) -> AlterReplicaLogDirsResponse:
    results: dict[str, AlterReplicaLogDirTopicResult] = {}
    allowed = _authz.cluster_allowed(ctx)  # ALTER on the cluster, else every partition is refused
    for wanted in request.dirs:
        for topic in wanted.topics:
            result = results.setdefault(topic.name, AlterReplicaLogDirTopicResult(topic_name=topic.name))
            for index in topic.partitions:
                code = (
                    _alter(ctx.components, wanted.path, topic.name, index)
                    if allowed
                    else ErrorCode.CLUSTER_AUTHORIZATION_FAILED
                )
                result.partitions.append(AlterReplicaLogDirPartitionResult(partition_index=index, error_code=code))
    return AlterReplicaLogDirsResponse(results=list(results.values()))


def _alter(components: BrokerComponents, path: str, topic: str, index: int) -> ErrorCode:
    if path not in components.log_dirs:
        return ErrorCode.LOG_DIR_NOT_FOUND
    if not future_dir_name_fits(topic, index):
        return ErrorCode.INVALID_TOPIC_EXCEPTION
    if not os.path.isdir(path):
        return ErrorCode.KAFKA_STORAGE_ERROR
    manager = components.log_manager
    tp = (topic, index)
    under_way = manager.future_logs.get(tp)
    if under_way is not None and under_way.destination_dir != path:
        under_way.cancelled = True  # the destination changed: Kafka removes the future replica
        del manager.future_logs[tp]
    try:
        components.replica_manager.get_partition_or_exception(topic, index)
        source = manager.get_log(topic, index)
    except NotLeaderOrFollower:
        return ErrorCode.REPLICA_NOT_AVAILABLE
    except UnknownTopicOrPartition:
        return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    except LogOffline:
        return ErrorCode.KAFKA_STORAGE_ERROR
    if source is None:
        return ErrorCode.REPLICA_NOT_AVAILABLE
    if manager.log_dir_of(topic, index) == path or tp in manager.future_logs:
        return ErrorCode.NONE  # already there, or on its way there
    move = LogMove(source, path)
    manager.future_logs[tp] = move
    log.info("moving %s-%d from %s to %s", topic, index, os.path.dirname(source.directory), path)
    task = asyncio.get_running_loop().create_task(_run_move(components, move))
    _MOVES.add(task)
    task.add_done_callback(_MOVES.discard)
    return ErrorCode.NONE


async def _run_move(components: BrokerComponents, move: LogMove) -> None:
    manager = components.log_manager
    source = move.source
    tp = (source.topic, source.partition)
    doomed: str | None = None
    try:
        for _ in range(MAX_ROUNDS):
            end_offset = source.log_end_offset
            copied = await asyncio.to_thread(move.copy_round)
            move.copied_end_offset = end_offset
            if move.cancelled or copied < CAUGHT_UP_BYTES:
                break
        if move.cancelled or manager.logs.get(tp) is not source or manager.future_logs.get(tp) is not move:
            move.cancelled = True  # called off, or the partition was deleted meanwhile
        else:
            doomed = manager.complete_move(move)  # one step: no append interleaves
            partition = components.replica_manager.get_partition(*tp)
            if partition is not None:
                partition.log = manager.logs[tp]
            log.info("moved %s-%d to %s", tp[0], tp[1], move.destination_dir)
    except (OSError, StorageError) as e:
        log.error("moving %s-%d to %s failed: %s", tp[0], tp[1], move.destination_dir, e)
        move.cancelled = True
    finally:
        if manager.future_logs.get(tp) is move:
            del manager.future_logs[tp]
    if move.cancelled:
        await asyncio.to_thread(move.abandon)
    if doomed is not None:
        await asyncio.to_thread(manager.remove_deleted_dirs, [doomed])
