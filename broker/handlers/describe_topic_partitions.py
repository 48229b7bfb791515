"""DescribeTopicPartitions (75), version 0 (KIP-966): topics' partitions, paged by a cursor.

What Kafka 3.7+ admin clients (``kafka-topics.sh --describe``) ask before falling back to Metadata.
As Kafka's DescribeTopicPartitionsRequestHandler and KRaftMetadataCache:

- An empty topic list means every topic; topics are answered in name order, starting at the cursor's
  topic (and partition). Named topics that are unknown get UNKNOWN_TOPIC_OR_PARTITION (or
  INVALID_TOPIC_EXCEPTION for an illegal name) with no partitions; with the empty list only
  existing topics appear.
- At most ``response_partition_limit`` partitions are returned (clamped to 1..2000, Kafka's
  ``max.request.partition.size.limit``). When a topic is cut short, ``next_cursor`` names it and
  the next partition; when the limit is reached at a topic's end and more topics follow,
  ``next_cursor`` names the next topic at partition 0.
- A cursor topic missing from a non-empty topic list, or a negative cursor partition ->
  INVALID_REQUEST for every topic asked for.
- Partitions come from the metadata cache (a leader not reachable on the request's listener:
  LEADER_NOT_AVAILABLE, leader -1). Eligible leader replicas are not used: the ELR and
  last-known-ELR lists are empty. Authorized operations: every topic operation (no authorizer). Flexible from v0.
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers.metadata import TOPIC_OPERATIONS
from broker.metadata_cache import NO_LEADER, MetadataCache, TopicImage
from broker.security.acl import ResourceType as RT
from broker.topics import InvalidTopic, validate_topic_name
from protocol.errors import ErrorCode
from protocol.messages.describe_topic_partitions import (
    DESCRIBE_TOPIC_PARTITIONS,
    Cursor,
    DescribeTopicPartitionsRequest,
    DescribeTopicPartitionsResponse,
    DescribeTopicPartitionsResponsePartition,
    DescribeTopicPartitionsResponseTopic,
)
from protocol.schema import ZERO_UUID

MAX_PARTITIONS = 2000  # max.request.partition.size.limit


@handles(DESCRIBE_TOPIC_PARTITIONS, versions="0-0")
async def handle_describe_topic_partitions(
    ctx: RequestContext, request: DescribeTopicPartitionsRequest
) -> DescribeTopicPartitionsResponse:
    cache = ctx.components.metadata_cache
    everything = not request.topics
    cursor = request.cursor
    start_name = cursor.topic_name if cursor is not None else ""
    names = set(cache.topics) if everything else {t.name for t in request.topics}
    if everything and _authz.enabled(ctx):  # the topics it may not describe are left out
        names = {name for name in names if _authz.allowed(ctx, RT.TOPIC, name)}
    names = {name for name in names if name >= start_name}
    if cursor is not None and (cursor.partition_index < 0 or (not everything and cursor.topic_name not in names)):
        return DescribeTopicPartitionsResponse(
            topics=[
                DescribeTopicPartitionsResponseTopic(error_code=ErrorCode.INVALID_REQUEST, name=t.name)
                for t in request.topics
            ]
        )
    remaining = max(min(MAX_PARTITIONS, request.response_partition_limit), 1)
    response = DescribeTopicPartitionsResponse()
    for name in sorted(names):
        if remaining == 0:
            response.next_cursor = Cursor(topic_name=name, partition_index=0)
            break
        topic = cache.topic(name)
        if not _authz.allowed(ctx, RT.TOPIC, name):
            response.topics.append(
                DescribeTopicPartitionsResponseTopic(error_code=ErrorCode.TOPIC_AUTHORIZATION_FAILED, name=name)
            )
            continue
        if topic is None:
            if not everything:
                response.topics.append(_missing(name))
            continue
        first = cursor.partition_index if cursor is not None and name == cursor.topic_name else 0
        count = len(topic.partitions)
        end = min(count, first + remaining)
        response.topics.append(_describe(cache, topic, first, end, ctx.listener))
        response.topics[-1].topic_authorized_operations = _authz.authorized_operations(ctx, True, RT.TOPIC, name)
        if end < count:
            response.next_cursor = Cursor(topic_name=name, partition_index=end)
            break
        remaining -= max(end - first, 0)
    return response


def _describe(
    cache: MetadataCache, topic: TopicImage, first: int, end: int, listener: str
) -> DescribeTopicPartitionsResponseTopic:
    partitions = []
    for index in range(first, end):
        state = topic.partitions.get(index)
        if state is None:
            continue
        reachable = cache.leader_endpoint(topic.name, index, listener) is not None
        partitions.append(
            DescribeTopicPartitionsResponsePartition(
                error_code=ErrorCode.NONE if reachable else ErrorCode.LEADER_NOT_AVAILABLE,
                partition_index=index,
                leader_id=state.leader if reachable else NO_LEADER,
                leader_epoch=state.leader_epoch,
                replica_nodes=list(state.replicas),
                isr_nodes=list(state.isr),
                eligible_leader_replicas=[],
                last_known_elr=[],
                offline_replicas=list(state.offline_replicas),
            )
        )
    return DescribeTopicPartitionsResponseTopic(
        error_code=ErrorCode.NONE,
        name=topic.name,
        topic_id=topic.topic_id,
        is_internal=topic.is_internal,
        partitions=partitions,
        topic_authorized_operations=TOPIC_OPERATIONS,
    )


def _missing(name: str) -> DescribeTopicPartitionsResponseTopic:
    try:
        validate_topic_name(name)
        code = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    except InvalidTopic:
        code = ErrorCode.INVALID_TOPIC_EXCEPTION
    return DescribeTopicPartitionsResponseTopic(
        error_code=code, name=name, topic_id=ZERO_UUID, topic_authorized_operations=TOPIC_OPERATIONS
    )
