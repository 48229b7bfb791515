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
- Everything comes from the metadata cache: brokers are the live ones with an endpoint on the
  listener the request came in on; a partition whose leader is not alive there has leader -1 and
  LEADER_NOT_AVAILABLE (LISTENER_NOT_FOUND from v6 when the leader is alive without that listener),
  as Kafka's metadata cache answers; replicas, ISR and offline replicas as the cache has them.
- A broker of a cluster that has not yet had its first UpdateMetadata (just started: the controller
  tells it the cluster a moment after it registers) holds Metadata requests until it has, for at most
  ``FIRST_UPDATE_WAIT_S``. Kafka answers at once with an empty broker list; clients then forget the
  brokers they knew (librdkafka reports all brokers down), so waiting a moment serves them better.
- Authorized operations (v8+): with no authorizer everything is allowed, so the bit field has every
  topic (and cluster) operation set when asked for; with one, the operations the principal may do.
- With an authorizer (``_authz``): a list of every topic leaves out those the principal may not
  DESCRIBE; a topic asked for by name or id is TOPIC_AUTHORIZATION_FAILED; auto-creation needs CREATE
  on the cluster or on the topic, else TOPIC_AUTHORIZATION_FAILED.
"""

from __future__ import annotations

import asyncio
import contextlib

from broker.controller.errors import ControllerError
from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.metadata_cache import NO_LEADER, MetadataCache, TopicImage
from broker.security.acl import CLUSTER_NAME
from broker.security.acl import ResourceType as RT
from broker.topics import InvalidTopic, validate_topic_name
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
FIRST_UPDATE_WAIT_S = 5.0
LISTENER_ERRORS_VERSION = 6  # from v6 a leader without the request's listener is LISTENER_NOT_FOUND


@handles(METADATA, versions="0-12")
async def handle_metadata(ctx: RequestContext, request: MetadataRequest) -> MetadataResponse:
    if ctx.version < 12 and request.topics and any(t.name is None or t.topic_id != ZERO_UUID for t in request.topics):
        return refuse_topic_ids(request)
    cache = ctx.components.metadata_cache
    if not cache.initialized.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(cache.initialized.wait(), FIRST_UPDATE_WAIT_S)
    response = MetadataResponse(
        brokers=[
            MetadataResponseBroker(node_id=broker.id, host=endpoint.host, port=endpoint.port, rack=broker.rack)
            for broker, endpoint in cache.alive_endpoints(ctx.listener)
        ],
        cluster_id=cache.cluster_id,
        controller_id=cache.controller_id,
    )
    if ctx.version >= 8 and request.include_cluster_authorized_operations:
        response.cluster_authorized_operations = _authz.authorized_operations(ctx, True, RT.CLUSTER, CLUSTER_NAME)
    with_ops = ctx.version >= 8 and request.include_topic_authorized_operations
    if request.topics is None or (ctx.version == 0 and not request.topics):
        checks = _authz.enabled(ctx)
        for topic in cache.topics.values():
            if not checks or _authz.allowed(ctx, RT.TOPIC, topic.name):  # the others are hidden
                response.topics.append(describe(ctx, topic, with_ops))
        return response
    allow_create = ctx.version < 4 or request.allow_auto_topic_creation
    for wanted in request.topics:
        if wanted.name is None:
            found = cache.topic_by_id(wanted.topic_id)
            if found is None:
                response.topics.append(
                    MetadataResponseTopic(error_code=ErrorCode.UNKNOWN_TOPIC_ID, name=None, topic_id=wanted.topic_id)
                )
            elif not _authz.allowed(ctx, RT.TOPIC, found.name):
                response.topics.append(_denied(None, wanted.topic_id))
            else:
                response.topics.append(describe(ctx, found, with_ops))
            continue
        if not _authz.allowed(ctx, RT.TOPIC, wanted.name):
            response.topics.append(_denied(wanted.name, ZERO_UUID))
            continue
        response.topics.append(await lookup_or_create(ctx, wanted.name, allow_create, with_ops))
    return response


async def lookup_or_create(ctx: RequestContext, name: str, allow_create: bool, with_ops: bool) -> MetadataResponseTopic:
    broker = ctx.components
    topic = broker.metadata_cache.topic(name)
    if topic is not None:
        return describe(ctx, topic, with_ops)
    try:
        validate_topic_name(name)
    except InvalidTopic:
        return MetadataResponseTopic(error_code=ErrorCode.INVALID_TOPIC_EXCEPTION, name=name, is_internal=False)
    if broker.controller.is_being_created(name):
        return MetadataResponseTopic(error_code=ErrorCode.LEADER_NOT_AVAILABLE, name=name)
    if not (allow_create and broker.config.get("auto.create.topics.enable")):
        return MetadataResponseTopic(error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name=name)
    if not _authz.create_topic_allowed(ctx, name):
        return _denied(name, ZERO_UUID)
    try:
        replicas = broker.controller.check_new_topic(name, -1, -1, None)
        await broker.controller.create_topic(name, replicas, {})
    except ControllerError as exc:
        code = ErrorCode.LEADER_NOT_AVAILABLE if exc.code == ErrorCode.TOPIC_ALREADY_EXISTS else exc.code
        return MetadataResponseTopic(error_code=code, name=name)
    topic = broker.metadata_cache.topic(name)
    if topic is None:  # deleted at once by another client
        return MetadataResponseTopic(error_code=ErrorCode.LEADER_NOT_AVAILABLE, name=name)
    return describe(ctx, topic, with_ops)


def describe(ctx: RequestContext, topic: TopicImage, with_ops: bool) -> MetadataResponseTopic:
    cache = ctx.components.metadata_cache
    return MetadataResponseTopic(
        error_code=ErrorCode.NONE,
        name=topic.name,
        topic_id=topic.topic_id or ZERO_UUID,
        is_internal=topic.is_internal,
        partitions=_partitions(cache, topic, ctx.listener, ctx.version >= LISTENER_ERRORS_VERSION),
        topic_authorized_operations=_authz.authorized_operations(ctx, with_ops, RT.TOPIC, topic.name),
    )


def _denied(name: str | None, topic_id: bytes) -> MetadataResponseTopic:
    return MetadataResponseTopic(
        error_code=ErrorCode.TOPIC_AUTHORIZATION_FAILED, name=name, topic_id=topic_id, is_internal=False
    )


# The partitions of recently described topics, keyed by topic name: (the topic image, listener and
# cache generation they were built from, the answer). A topic of 1,000 partitions takes ~1 ms to
# describe, and clients ask for the same topics over and over. Answers share the cached list: nothing
# changes a response after its handler returns it, and any cache update makes a new one.
_DESCRIBED_MAX = 256
_described: dict[str, tuple[TopicImage, str, int, list[MetadataResponsePartition]]] = {}


def _partitions(
    cache: MetadataCache, topic: TopicImage, listener: str, listener_errors: bool
) -> list[MetadataResponsePartition]:
    cached = _described.get(topic.name)
    if cached is not None and cached[0] is topic and cached[1] == listener and cached[2] == cache.generation:
        return cached[3]
    parts = []
    reachable = {broker.id for broker, _ in cache.alive_endpoints(listener)}
    for index, state in topic.partitions.items():
        code = ErrorCode.NONE
        leader = state.leader
        if leader not in reachable:
            # As Kafka: a leader that is not alive, or not reachable on this listener, is no leader.
            alive = cache.alive_broker(state.leader) is not None
            code = ErrorCode.LISTENER_NOT_FOUND if alive and listener_errors else ErrorCode.LEADER_NOT_AVAILABLE
            leader = NO_LEADER
        parts.append(
            MetadataResponsePartition(
                error_code=code,
                partition_index=index,
                leader_id=leader,
                leader_epoch=state.leader_epoch,
                replica_nodes=list(state.replicas),
                isr_nodes=list(state.isr),
                offline_replicas=list(state.offline_replicas),
            )
        )
    _described.pop(topic.name, None)
    if len(_described) >= _DESCRIBED_MAX:
        del _described[next(iter(_described))]  # the oldest entry
    _described[topic.name] = (topic, listener, cache.generation, parts)
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
