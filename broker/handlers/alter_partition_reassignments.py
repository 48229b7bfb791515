"""AlterPartitionReassignments (45), version 0 (the only one Kafka defines).

Cluster mode, as Kafka 2.4+'s ZooKeeper-mode broker: the controller starts or cancels each reassignment
(``controller.zk.reassignment``) and answers once it has; a broker that is not the controller answers the
top-level NOT_CONTROLLER "This is not the correct controller for this cluster." (clients send this request
to the controller). Per partition: none; INVALID_REPLICA_ASSIGNMENT (an empty list, a broker twice, a
negative id, an added broker that is not alive); NO_REASSIGNMENT_IN_PROGRESS (``replicas`` null for a
partition that is not moving); UNKNOWN_TOPIC_OR_PARTITION "The partition does not exist." (also for a
topic queued for deletion).

One broker without ZooKeeper, as Kafka's KRaft controller on a cluster of one broker:

- Unknown topic -> UNKNOWN_TOPIC_OR_PARTITION "Unable to find a topic named x."; unknown partition ->
  "Unable to find partition x:N.".
- ``replicas`` null cancels a reassignment: none is ever in progress, so NO_REASSIGNMENT_IN_PROGRESS.
- A target replica list is checked as Kafka checks a manual assignment (an empty list, a broker that
  is not registered, a broker twice -> INVALID_REPLICA_ASSIGNMENT). The only valid target on one
  broker is the current replica set, so a valid request completes at once and changes nothing.

Errors are per partition (NONE with a null message); the top-level error is NONE with an empty message,
Kafka's generated default (a real 2.4.1 broker answers so). Flexible from v0.
"""

from __future__ import annotations

from collections.abc import Sequence

from broker.controller.errors import ControllerError
from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from protocol.errors import ErrorCode
from protocol.messages.alter_partition_reassignments import (
    ALTER_PARTITION_REASSIGNMENTS,
    AlterPartitionReassignmentsRequest,
    AlterPartitionReassignmentsResponse,
    ReassignablePartitionResponse,
    ReassignableTopicResponse,
)


@handles(ALTER_PARTITION_REASSIGNMENTS, versions="0-0")
async def handle_alter_partition_reassignments(
    ctx: RequestContext, request: AlterPartitionReassignmentsRequest
) -> AlterPartitionReassignmentsResponse:
    if not _authz.cluster_allowed(ctx):
        denied, refusal = ErrorCode.CLUSTER_AUTHORIZATION_FAILED, _authz.cluster_denied_message(ctx)
        return AlterPartitionReassignmentsResponse(
            error_code=denied,
            error_message=refusal,
            responses=[  # Kafka answers every partition asked for with the same error
                ReassignableTopicResponse(
                    name=topic.name,
                    partitions=[
                        ReassignablePartitionResponse(
                            partition_index=p.partition_index, error_code=denied, error_message=refusal
                        )
                        for p in topic.partitions
                    ],
                )
                for topic in request.topics
            ],
        )
    wanted: dict[tuple[str, int], Sequence[int] | None] = {}
    for topic in request.topics:
        for partition in topic.partitions:
            replicas = None if partition.replicas is None else list(partition.replicas)
            wanted[(topic.name, partition.partition_index)] = replicas
    try:
        outcome = await ctx.components.controller.alter_partition_reassignments(wanted)
    except ControllerError as exc:
        return AlterPartitionReassignmentsResponse(error_code=exc.code, error_message=exc.message)
    response = AlterPartitionReassignmentsResponse(error_code=ErrorCode.NONE, error_message="")
    by_topic: dict[str, ReassignableTopicResponse] = {}
    for (name, index), error in outcome.items():
        if name not in by_topic:
            by_topic[name] = ReassignableTopicResponse(name=name)
            response.responses.append(by_topic[name])
        by_topic[name].partitions.append(
            ReassignablePartitionResponse(
                partition_index=index,
                error_code=ErrorCode.NONE if error is None else error.code,
                error_message=None if error is None else error.message,
            )
        )
    return response
