"""DescribeLogDirs (key 35): log directories and the partition replicas in them. Versions 0-4, flexible 2+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import Bool, Int16, Int32, Int64, String, Struct, V, struct


@struct
class DescribableLogDirTopic(Struct):
    topic: String = ""
    partitions: list[Int32] = []


@struct
class DescribeLogDirsRequest(Struct):
    topics: list[DescribableLogDirTopic] | None = []  # null: every partition


@struct
class DescribeLogDirsPartition(Struct):
    partition_index: Int32 = 0
    partition_size: Int64 = 0
    offset_lag: Int64 = 0
    is_future_key: Bool = False


@struct
class DescribeLogDirsTopic(Struct):
    name: String = ""
    partitions: list[DescribeLogDirsPartition] = []


@struct
class DescribeLogDirsResult(Struct):
    error_code: Int16 = 0
    log_dir: String = ""
    topics: list[DescribeLogDirsTopic] = []
    total_bytes: Annotated[Int64, V("4+")] = -1
    usable_bytes: Annotated[Int64, V("4+")] = -1


@struct
class DescribeLogDirsResponse(Struct):
    throttle_time_ms: Int32 = 0
    error_code: Annotated[Int16, V("3+")] = 0
    results: list[DescribeLogDirsResult] = []


DESCRIBE_LOG_DIRS = api(
    35,
    "DescribeLogDirs",
    DescribeLogDirsRequest,
    DescribeLogDirsResponse,
    versions="0-4",
    flexible="2+",
)
