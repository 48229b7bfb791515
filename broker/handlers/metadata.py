"""Metadata (3), versions 0-12.

- v0: an empty topic list means every topic; v1+: null means every topic, empty means none.
- Topics asked for by id (v12+, name null) are found by id, else UNKNOWN_TOPIC_ID. v10-11 have the
  fields but Kafka refuses them: a null name or a topic id there gets INVALID_REQUEST for every topic.
- Auto-creation: an unknown, valid topic name is created with the broker's defaults when
  ``auto.create.topics.enable`` is on and the request allows it (always in v0-3, the flag in v4+).
  Kafka answers LEADER_NOT_AVAILABLE while a new topic's leaders are elected; a single broker leads
  once the logs exist, so the answer waits for them (made off the event loop) and comes back
  complete. A topic that another request is creating right now: LEADER_NOT_AVAILABLE.
- Invalid names get INVALID_TOPIC_EXCEPTION; unknown topics UNKNOWN_TOPIC_OR_PARTITION.
- Authorized operations (v8+): with no authorizer everything is allowed, so the bit field has every
  topic (and cluster) operation set when asked for.
"""

from __future__ import annotations

from broker.controller.errors import ControllerError
from broker.dispatcher import RequestContext, handles
from broker.topics import InvalidTopic, TopicMetadata, validate_topic_name
from protocol.errors import ErrorCode
from protocol.messages.metadata import (
    METADATA,
    MetadataRequest,
    MetadataResponse,
    MetadataResponseBroker,
    MetadataResponsePartition,
    MetadataResponseTopic,
)
from protocol.schema import ZERO_UUID

# AclOperation codes: READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9,
# DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12.
TOPIC_OPERATIONS = sum(1 << op for op in (3, 4, 5, 6, 7, 8, 10, 11))
CLUSTER_OPERATIONS = sum(1 << op for op in (5, 7, 8, 9, 10, 11, 12))
NOT_REQUESTED = -2147483648


@handles(METADATA, versions="0-12")
async def handle_metadata(ctx: RequestContext, request: MetadataRequest) -> MetadataResponse:
    if ctx.version < 12 and request.topics and any(t.name is None or t.topic_id != ZERO_UUID for t in request.topics):
        return refuse_topic_ids(request)
    broker = ctx.broker
    host, port = broker.advertised(ctx.listener)
    response = MetadataResponse(
        brokers=[
            MetadataResponseBroker(node_id=broker.node_id, host=host, port=port, rack=broker.config.get("broker.rack"))
        ],
        cluster_id=broker.cluster_id,
        controller_id=broker.node_id,
    )
    if ctx.version >= 8 and request.include_cluster_authorized_operations:
        response.cluster_authorized_operations = CLUSTER_OPERATIONS
    with_ops = ctx.version >= 8 and request.include_topic_authorized_operations
    if request.topics is None or (ctx.version == 0 and not request.topics):
        for topic in broker.topics.topics.values():
            response.topics.append(describe(topic, with_ops))
        return response
    allow_create = ctx.version < 4 or request.allow_auto_topic_creation
    for wanted in request.topics:
        if wanted.name is None:
            found = broker.topics.by_id.get(wanted.topic_id)
            if found is None:
                response.topics.append(
                    MetadataResponseTopic(error_code=ErrorCode.UNKNOWN_TOPIC_ID, name=None, topic_id=wanted.topic_id)
                )
            else:
                response.topics.append(describe(found, with_ops))
            continue
        response.topics.append(await lookup_or_create(ctx, wanted.name, allow_create, with_ops))
    return response


async def lookup_or_create(ctx: RequestContext, name: str, allow_create: bool, with_ops: bool) -> MetadataResponseTopic:
    broker = ctx.broker
    topic = broker.topics.get(name)
    if topic is not None:
        return describe(topic, with_ops)
    try:
        validate_topic_name(name)
    except InvalidTopic:
        return MetadataResponseTopic(error_code=ErrorCode.INVALID_TOPIC_EXCEPTION, name=name, is_internal=False)
    if broker.controller.is_being_created(name):
        return MetadataResponseTopic(error_code=ErrorCode.LEADER_NOT_AVAILABLE, name=name)
    if not (allow_create and broker.config.get("auto.create.topics.enable")):
        return MetadataResponseTopic(error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name=name)
    try:
        replicas = broker.controller.check_new_topic(name, -1, -1, None)
        topic = await broker.controller.create_topic_async(name, replicas, {})
    except ControllerError as exc:
        code = ErrorCode.LEADER_NOT_AVAILABLE if exc.code == ErrorCode.TOPIC_ALREADY_EXISTS else exc.code
        return MetadataResponseTopic(error_code=code, name=name)
    return describe(topic, with_ops)


def describe(topic: TopicMetadata, with_ops: bool) -> MetadataResponseTopic:
    return MetadataResponseTopic(
        error_code=ErrorCode.NONE,
        name=topic.name,
        topic_id=topic.topic_id or ZERO_UUID,
        is_internal=topic.internal,
        partitions=_partitions(topic),
        topic_authorized_operations=TOPIC_OPERATIONS if with_ops else NOT_REQUESTED,
    )


# The partitions of recently described topics: (topic, its replicas and leader epochs then, the
# answer). A topic of 1,000 partitions takes ~1 ms to describe and ~0.1 ms to compare, and clients ask
# for the same topics over and over. Answers share the cached list: nothing changes a response after
# its handler returns it, and a topic whose replicas or epochs changed gets a new list.
_DESCRIBED_MAX = 256
_described: dict[str, tuple[TopicMetadata, list[list[int]], list[int], list[MetadataResponsePartition]]] = {}


def _partitions(topic: TopicMetadata) -> list[MetadataResponsePartition]:
    cached = _described.get(topic.name)
    if cached is not None and cached[0] is topic and cached[1] == topic.replicas and cached[2] == topic.leader_epochs:
        return cached[3]
    parts = [
        MetadataResponsePartition(
            error_code=ErrorCode.NONE,
            partition_index=index,
            leader_id=replicas[0],
            leader_epoch=topic.leader_epochs[index],
            replica_nodes=list(replicas),
            isr_nodes=list(replicas),
        )
        for index, replicas in enumerate(topic.replicas)
    ]
    _described.pop(topic.name, None)
    if len(_described) >= _DESCRIBED_MAX:
        del _described[next(iter(_described))]  # the oldest entry
    _described[topic.name] = (topic, [list(r) for r in topic.replicas], list(topic.leader_epochs), parts)
    return parts


def refuse_topic_ids(request: MetadataRequest) -> MetadataResponse:
    """v10-11 carry topic ids but may not use them: Kafka refuses the whole request, INVALID_REQUEST
    for every topic (a null name answered as ""), and no brokers."""
    return MetadataResponse(
        topics=[
            MetadataResponseTopic(
                error_code=ErrorCode.INVALID_REQUEST, name=t.name or "", topic_id=t.topic_id, is_internal=False
            )
            for t in request.topics or ()
        ]
    )
