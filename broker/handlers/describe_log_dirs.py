"""DescribeLogDirs (35), versions 0-4.

As Kafka's ReplicaManager.describeLogDirs:

- One result per configured log dir (its absolute path), listing the asked-for partitions it holds
  (``topics`` null: every partition) with their size in bytes; partitions not held are left out, as
  are topics left with no partition. Offset lag is 0 (this broker leads every partition).
- A partition being moved to another log dir (AlterReplicaLogDirs) is also listed in the destination
  as its future replica (is_future_key true), with the bytes of segments copied so far and its lag:
  the log end offset less the offset the copy is known to hold (the end offset when the last
  completed copy round began).
- A log dir that is missing or unreadable -> KAFKA_STORAGE_ERROR for that dir. A partition whose
  log is offline is left out.
- v3: top-level error_code (NONE: no authorizer); v4: the file system's total and usable bytes
  (``os.statvfs``). v2: flexible.
"""

from __future__ import annotations

import os

from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from protocol.errors import ErrorCode
from protocol.messages.describe_log_dirs import (
    DESCRIBE_LOG_DIRS,
    DescribeLogDirsPartition,
    DescribeLogDirsRequest,
    DescribeLogDirsResponse,
    DescribeLogDirsResult,
    DescribeLogDirsTopic,
)
from storage.log.log import Log


@handles(DESCRIBE_LOG_DIRS, versions="0-4")
async def handle_describe_log_dirs(ctx: RequestContext, request: DescribeLogDirsRequest) -> DescribeLogDirsResponse:
    wanted = None if request.topics is None else {(t.topic, p) for t in request.topics for p in t.partitions}
    logs = ctx.components.log_manager.logs
    response = DescribeLogDirsResponse(error_code=ErrorCode.NONE)
    if not _authz.cluster_allowed(ctx):  # Kafka: CLUSTER_AUTHORIZATION_FAILED (v3+ carry it), no dirs
        response.error_code = ErrorCode.CLUSTER_AUTHORIZATION_FAILED
        return response
    for log_dir in ctx.components.log_dirs:
        try:
            stats = os.statvfs(log_dir)
        except OSError:
            response.results.append(DescribeLogDirsResult(error_code=ErrorCode.KAFKA_STORAGE_ERROR, log_dir=log_dir))
            continue
        topics: dict[str, list[DescribeLogDirsPartition]] = {}
        for (topic, index), log in sorted(logs.items()):
            if _in_dir(log, log_dir) and not log.offline and (wanted is None or (topic, index) in wanted):
                topics.setdefault(topic, []).append(
                    DescribeLogDirsPartition(partition_index=index, partition_size=log.size, offset_lag=0)
                )
        for (topic, index), move in sorted(ctx.components.log_manager.future_logs.items()):
            if move.destination_dir == log_dir and (wanted is None or (topic, index) in wanted):
                lag = max(move.source.log_end_offset - move.copied_end_offset, 0)
                topics.setdefault(topic, []).append(
                    DescribeLogDirsPartition(
                        partition_index=index, partition_size=move.future_size, offset_lag=lag, is_future_key=True
                    )
                )
        response.results.append(
            DescribeLogDirsResult(
                error_code=ErrorCode.NONE,
                log_dir=log_dir,
                topics=[DescribeLogDirsTopic(name=name, partitions=parts) for name, parts in topics.items()],
                total_bytes=stats.f_blocks * stats.f_frsize,
                usable_bytes=stats.f_bavail * stats.f_frsize,
            )
        )
    return response


def _in_dir(log: Log, log_dir: str) -> bool:
    return os.path.dirname(os.path.abspath(log.directory)) == log_dir
