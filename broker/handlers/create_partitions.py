"""CreatePartitions (37), versions 0-3.

Behaviour follows Kafka's KRaft controller (ReplicationControlManager.createPartitions):

- ``count`` is the new total. Equal to the current count -> INVALID_PARTITIONS "Topic already has N
  partition(s)."; lower -> INVALID_PARTITIONS "... would not be an increase.".
- ``assignments`` (optional) give the new partitions' replicas: one per new partition, each a valid
  replica list of the topic's replication factor, else INVALID_REPLICA_ASSIGNMENT.
- A topic named twice in one request -> INVALID_REQUEST "Duplicate topic name." for it; an unknown
  topic -> UNKNOWN_TOPIC_OR_PARTITION (with no message, as Kafka).
- ``validate_only`` runs every check and changes nothing. ``timeout_ms`` is moot on one broker.
- New partitions adding up to more than 10,000 over the request -> POLICY_VIOLATION "Unable to perform
  excessively large batch operation." for every topic, before anything is built (Kafka's controller
  caps the records of one operation at 10,000, one per new partition).
- Errors are per topic; v2: flexible; v3: same as v2.
"""

from __future__ import annotations

from collections import Counter

from broker.controller.api import EXCESSIVE_BATCH, MAX_PARTITIONS_PER_REQUEST
from broker.controller.errors import ControllerError
from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.security.acl import ResourceType as RT
from protocol.errors import ErrorCode
from protocol.messages.create_partitions import (
    CREATE_PARTITIONS,
    CreatePartitionsRequest,
    CreatePartitionsResponse,
    CreatePartitionsTopicResult,
)


@handles(CREATE_PARTITIONS, versions="0-3")
async def handle_create_partitions(ctx: RequestContext, request: CreatePartitionsRequest) -> CreatePartitionsResponse:
    controller = ctx.components.controller
    cache = ctx.components.metadata_cache
    counts = Counter(topic.name for topic in request.topics)
    response = CreatePartitionsResponse()
    added = sum(max(0, t.count - (cache.num_partitions(t.name) or t.count)) for t in request.topics)
    if added > MAX_PARTITIONS_PER_REQUEST:
        for topic in request.topics:
            response.results.append(
                CreatePartitionsTopicResult(
                    name=topic.name, error_code=ErrorCode.POLICY_VIOLATION, error_message=EXCESSIVE_BATCH
                )
            )
        return response
    for topic in request.topics:
        result = CreatePartitionsTopicResult(name=topic.name, error_code=ErrorCode.NONE, error_message=None)
        response.results.append(result)
        if counts[topic.name] > 1:
            result.error_code, result.error_message = ErrorCode.INVALID_REQUEST, "Duplicate topic name."
            continue
        if not _authz.allowed(ctx, RT.TOPIC, topic.name):
            result.error_code = ErrorCode.TOPIC_AUTHORIZATION_FAILED
            continue
        assignment = None if topic.assignments is None else [list(a.broker_ids) for a in topic.assignments]
        try:
            if cache.topic(topic.name) is None:
                result.error_code = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                continue
            if request.validate_only:
                controller.check_new_partitions(topic.name, topic.count, assignment)
            else:
                await controller.create_partitions(topic.name, topic.count, assignment)
        except ControllerError as exc:
            result.error_code, result.error_message = exc.code, exc.message
    return response
