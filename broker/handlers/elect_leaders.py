"""ElectLeaders (43), versions 0-2.

As Kafka's KRaft controller (ReplicationControlManager.electLeaders), on a cluster of one broker that
leads every partition:

- Preferred election (type 0; the only one in v0): the preferred replica already leads, so each named
  partition gets ELECTION_NOT_NEEDED. Unclean election (type 1): the partition has a leader, so also
  ELECTION_NOT_NEEDED. Another type -> INVALID_REQUEST for the whole request.
- Unknown topic -> UNKNOWN_TOPIC_OR_PARTITION "No such topic as x"; unknown partition -> "No such
  partition as x-N".
- ``topic_partitions`` null means every partition: Kafka then leaves out the partitions where no
  election was needed, so every topic appears with an empty list.
- v1: election_type and a top-level error code; v2: flexible.
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from protocol.errors import ErrorCode
from protocol.messages.elect_leaders import (
    ELECT_LEADERS,
    ElectLeadersRequest,
    ElectLeadersResponse,
    PartitionResult,
    ReplicaElectionResult,
)

PREFERRED, UNCLEAN = 0, 1


@handles(ELECT_LEADERS, versions="0-2")
async def handle_elect_leaders(ctx: RequestContext, request: ElectLeadersRequest) -> ElectLeadersResponse:
    election = request.election_type if ctx.version >= 1 else PREFERRED
    if election not in (PREFERRED, UNCLEAN):
        return ElectLeadersResponse(error_code=ErrorCode.INVALID_REQUEST)
    topics = ctx.broker.topics
    response = ElectLeadersResponse(error_code=ErrorCode.NONE)
    if request.topic_partitions is None:
        for name in sorted(topics.topics):
            response.replica_election_results.append(ReplicaElectionResult(topic=name, partition_result=[]))
        return response
    for wanted in request.topic_partitions:
        result = ReplicaElectionResult(topic=wanted.topic)
        response.replica_election_results.append(result)
        topic = topics.get(wanted.topic)
        for index in wanted.partitions:
            if topic is None:
                code, message = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"No such topic as {wanted.topic}"
            elif not 0 <= index < topic.partitions:
                code, message = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"No such partition as {wanted.topic}-{index}"
            else:
                # The first replica is the preferred leader, and on a single broker it is this one.
                code, message = ErrorCode.ELECTION_NOT_NEEDED, "Leader election not needed for topic partition."
            result.partition_result.append(PartitionResult(partition_id=index, error_code=code, error_message=message))
    return response
