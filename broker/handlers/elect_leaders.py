"""ElectLeaders (43), versions 0-2.

Cluster mode: the controller elects (``controller.zk.leader_balance``, Kafka 2.4+'s
KafkaController.electLeaders); a broker that is not the controller answers NOT_CONTROLLER per partition,
as clients send this request to the controller. Per partition: none, ELECTION_NOT_NEEDED,
PREFERRED_LEADER_NOT_AVAILABLE, ELIGIBLE_LEADERS_NOT_AVAILABLE or UNKNOWN_TOPIC_OR_PARTITION.

The embedded controller, as Kafka's KRaft controller (ReplicationControlManager.electLeaders), on a
cluster of one broker that leads every partition:

- Preferred election (type 0; the only one in v0): the preferred replica already leads, so each named
  partition gets ELECTION_NOT_NEEDED. Unclean election (type 1): the partition has a leader, so also
  ELECTION_NOT_NEEDED. Another type -> INVALID_REQUEST for the whole request.
- Unknown topic -> UNKNOWN_TOPIC_OR_PARTITION "No such topic as x"; unknown partition -> "No such
  partition as x-N".
- ``topic_partitions`` null means every partition: Kafka then leaves out the partitions where no
  election was needed, so every topic appears with an empty list.
- Without ALTER on the cluster: CLUSTER_AUTHORIZATION_FAILED for every partition asked for (v0 has no
  top-level code, so the partitions carry the refusal), and at the top in v1+.
- v1: election_type and a top-level error code; v2: flexible.
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
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
    if not _authz.cluster_allowed(ctx):
        return _denied(request)
    election = request.election_type if ctx.version >= 1 else PREFERRED
    if election not in (PREFERRED, UNCLEAN):
        return ElectLeadersResponse(error_code=ErrorCode.INVALID_REQUEST)
    cache = ctx.components.metadata_cache
    if request.topic_partitions is None:  # every partition; those needing no election are left out
        wanted = [(name, index) for name in sorted(cache.topics) for index in sorted(cache.topics[name].partitions)]
    else:
        wanted = [(t.topic, index) for t in request.topic_partitions for index in t.partitions]
    outcome = await ctx.components.controller.elect_leaders(election == PREFERRED, wanted)
    response = ElectLeadersResponse(error_code=ErrorCode.NONE)
    results: dict[str, ReplicaElectionResult] = {}
    names = sorted(cache.topics) if request.topic_partitions is None else [t.topic for t in request.topic_partitions]
    for name in names:
        if name not in results:
            results[name] = ReplicaElectionResult(topic=name)
            response.replica_election_results.append(results[name])
    for name, index in wanted:
        error = outcome[(name, index)]
        code, message = (ErrorCode.NONE, None) if error is None else (error.code, error.message)
        if request.topic_partitions is None and code == ErrorCode.ELECTION_NOT_NEEDED:
            continue
        results[name].partition_result.append(
            PartitionResult(partition_id=index, error_code=code, error_message=message)
        )
    return response


def _denied(request: ElectLeadersRequest) -> ElectLeadersResponse:
    """Kafka's refusal without ALTER on the cluster: every partition asked for (none for "all") gets
    CLUSTER_AUTHORIZATION_FAILED with no message, and v1+ carry the code at the top as well."""
    denied = ErrorCode.CLUSTER_AUTHORIZATION_FAILED
    results: dict[str, ReplicaElectionResult] = {}
    for wanted in request.topic_partitions or []:
        result = results.setdefault(wanted.topic, ReplicaElectionResult(topic=wanted.topic))
        for index in dict.fromkeys(wanted.partitions):
            result.partition_result.append(PartitionResult(partition_id=index, error_code=denied, error_message=None))
    return ElectLeadersResponse(error_code=denied, replica_election_results=list(results.values()))
