"""AlterPartitionReassignments (45), version 0.

As Kafka's KRaft controller, on a cluster of one broker:

- Unknown topic -> UNKNOWN_TOPIC_OR_PARTITION "Unable to find a topic named x."; unknown partition ->
  "Unable to find partition x:N.".
- ``replicas`` null cancels a reassignment: none is ever in progress, so NO_REASSIGNMENT_IN_PROGRESS.
- A target replica list is checked as Kafka checks a manual assignment (an empty list, a broker that
  is not registered, a broker twice -> INVALID_REPLICA_ASSIGNMENT). The only valid target on one
  broker is the current replica set, so a valid request completes at once and changes nothing.
- Errors are per partition; the top-level error is NONE with a null message. Flexible from v0.
"""

from __future__ import annotations

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
    response = AlterPartitionReassignmentsResponse(error_code=ErrorCode.NONE, error_message=None)
    for wanted in request.topics:
        count = ctx.components.metadata_cache.num_partitions(wanted.name)
        result = ReassignableTopicResponse(name=wanted.name)
        response.responses.append(result)
        for partition in wanted.partitions:
            code, message = ErrorCode.NONE, None
            if count is None:
                code, message = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Unable to find a topic named {wanted.name}."
            elif not 0 <= partition.partition_index < count:
                code = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                message = f"Unable to find partition {wanted.name}:{partition.partition_index}."
            elif partition.replicas is None:
                code, message = ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, "No partition reassignment is in progress."
            else:
                try:
                    ctx.components.controller.check_reassignment(
                        wanted.name, partition.partition_index, list(partition.replicas)
                    )
                except ControllerError as exc:
                    code, message = exc.code, exc.message
            result.partitions.append(
                ReassignablePartitionResponse(
                    partition_index=partition.partition_index, error_code=code, error_message=message
                )
            )
    return response
