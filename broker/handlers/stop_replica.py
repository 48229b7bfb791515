"""StopReplica (5), versions 0-3: the controller stops (and with ``delete``, deletes) replicas here.

- Fenced as UpdateMetadata (STALE_CONTROLLER_EPOCH, STALE_BROKER_EPOCH for the whole request; nothing
  changes). Without ZooKeeper: STALE_CONTROLLER_EPOCH always.
- Each partition stops being served at once (a leader's waiting requests complete with
  NOT_LEADER_OR_FOLLOWER); with delete its directory is renamed for deletion, then removed in a worker
  thread. A partition not hosted here is NONE too, as in Kafka.
- v0 ungrouped partitions; v1-2 grouped by topic with one ``delete_partitions``; v2 flexible; v3 per
  partition leader epoch and delete flag. (v4 is KRaft's.)
"""

from __future__ import annotations

from broker.controller.errors import ControllerError
from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers._controller_requests import commands_of
from protocol.errors import ErrorCode
from protocol.messages.stop_replica import (
    STOP_REPLICA,
    StopReplicaPartitionError,
    StopReplicaRequest,
    StopReplicaResponse,
)


@handles(STOP_REPLICA, versions="0-3")
async def handle_stop_replica(ctx: RequestContext, request: StopReplicaRequest) -> StopReplicaResponse:
    if not _authz.cluster_allowed(ctx):
        return StopReplicaResponse(error_code=ErrorCode.CLUSTER_AUTHORIZATION_FAILED)
    try:
        results = await commands_of(ctx).stop_replica(request, ctx.version)
    except ControllerError as exc:
        return StopReplicaResponse(error_code=exc.code)
    return StopReplicaResponse(
        partition_errors=[
            StopReplicaPartitionError(topic_name=topic, partition_index=index, error_code=code)
            for (topic, index), code in results.items()
        ]
    )
