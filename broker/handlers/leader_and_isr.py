"""LeaderAndIsr (4), versions 0-5: the controller makes this broker leader or follower (cluster mode only).

- Fenced as UpdateMetadata (STALE_CONTROLLER_EPOCH, STALE_BROKER_EPOCH for the whole request; nothing
  changes). Without ZooKeeper: STALE_CONTROLLER_EPOCH always.
- Per partition: not naming this broker as a replica -> UNKNOWN_TOPIC_OR_PARTITION; a leader epoch
  not newer than the hosted one -> STALE_CONTROLLER_EPOCH (ignored, as Kafka); logs that cannot be
  made -> KAFKA_STORAGE_ERROR; else NONE (``ControllerCommands.leader_and_isr``).
- v0-1 ungrouped partition states; v2+ grouped by topic; v3 adding/removing replicas (not acted on);
  v4 flexible; v5 topic ids, ``type``, and errors grouped by topic id. (v6-7 are KRaft's.)
"""

from __future__ import annotations

from broker.controller.errors import ControllerError
from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers._controller_requests import commands_of
from protocol.errors import ErrorCode
from protocol.messages.leader_and_isr import (
    LEADER_AND_ISR,
    LeaderAndIsrPartitionError,
    LeaderAndIsrRequest,
    LeaderAndIsrResponse,
    LeaderAndIsrTopicError,
)


@handles(LEADER_AND_ISR, versions="0-5")
async def handle_leader_and_isr(ctx: RequestContext, request: LeaderAndIsrRequest) -> LeaderAndIsrResponse:
    if not _authz.cluster_allowed(ctx):
        return LeaderAndIsrResponse(error_code=ErrorCode.CLUSTER_AUTHORIZATION_FAILED)
    try:
        results = await commands_of(ctx).leader_and_isr(request, ctx.version)
    except ControllerError as exc:
        return LeaderAndIsrResponse(error_code=exc.code)
    if ctx.version < 5:
        return LeaderAndIsrResponse(
            error_code=ErrorCode.NONE,
            partition_errors=[
                LeaderAndIsrPartitionError(topic_name=topic, partition_index=index, error_code=code)
                for (topic, index), code in results.items()
            ],
        )
    ids = {t.topic_name: t.topic_id for t in request.topic_states}
    topics: dict[str, LeaderAndIsrTopicError] = {}
    for (topic, index), code in results.items():
        entry = topics.setdefault(topic, LeaderAndIsrTopicError(topic_id=ids[topic]))
        entry.partition_errors.append(LeaderAndIsrPartitionError(partition_index=index, error_code=code))
    return LeaderAndIsrResponse(error_code=ErrorCode.NONE, topics=list(topics.values()))
