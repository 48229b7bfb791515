"""AlterReplicaLogDirs (key 34): move partition replicas between a broker's log dirs. Versions 0-2, flexible 2+."""

from __future__ import annotations

from protocol.api import api
from protocol.schema import Int16, Int32, String, Struct, struct


@struct
class AlterReplicaLogDirTopic(Struct):
    name: String = ""
    partitions: list[Int32] = []


@struct
class AlterReplicaLogDir(Struct):
    path: String = ""
    topics: list[AlterReplicaLogDirTopic] = []


@struct
class AlterReplicaLogDirsRequest(Struct):
    dirs: list[AlterReplicaLogDir] = []


@struct
class AlterReplicaLogDirPartitionResult(Struct):
    partition_index: Int32 = 0
    error_code: Int16 = 0


@struct
class AlterReplicaLogDirTopicResult(Struct):
    topic_name: String = ""
    partitions: list[AlterReplicaLogDirPartitionResult] = []


@struct
class AlterReplicaLogDirsResponse(Struct):
    throttle_time_ms: Int32 = 0
    results: list[AlterReplicaLogDirTopicResult] = []


ALTER_REPLICA_LOG_DIRS = api(
    34,
    "AlterReplicaLogDirs",
    AlterReplicaLogDirsRequest,
    AlterReplicaLogDirsResponse,
    versions="0-2",
    flexible="2+",
)
