"""DeleteTopics (20), versions 0-6.

Behaviour follows Kafka's KRaft controller (ControllerApis.deleteTopics):

- ``delete.topic.enable=false``: every topic gets TOPIC_DELETION_DISABLED (v3+) or INVALID_REQUEST
  "Topic deletion is disabled." (v0-2, which predate the error code).
- v6 names topics by name or by id. Both given -> INVALID_REQUEST "You may not specify both topic
  name and topic id."; neither -> "Neither topic name nor id were specified."; a name or id given
  twice -> INVALID_REQUEST "Duplicate topic name." / "Duplicate topic id."; a name that resolves to
  an id also given -> "The provided topic name maps to an ID that was already supplied.".
- Unknown names -> UNKNOWN_TOPIC_OR_PARTITION, unknown ids -> UNKNOWN_TOPIC_ID.
- Internal topics (``__consumer_offsets``, ``__transaction_state``) are refused with INVALID_REQUEST
  and the message of Kafka's own tool ("Topic __consumer_offsets is a kafka internal topic and is not
  allowed to be marked for deletion."): deleting one loses every group's offsets.
- The partitions' log dirs are renamed for deletion first (Kafka's ``topic-N.uniqueId-delete``, the
  topic name cut short to fit 255 characters), all or none; only then is the topic gone from
  metadata. A rename that fails -> KAFKA_STORAGE_ERROR and the topic stays whole. ``timeout_ms`` is moot.
- v1: throttle_time_ms (0); v4: flexible; v5: error_message; v6: topic ids.
"""

from __future__ import annotations

from collections import Counter

from broker.controller.errors import ControllerError
from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.security.acl import ResourceType as RT
from protocol.errors import ErrorCode
from protocol.messages.delete_topics import (
    DELETE_TOPICS,
    DeletableTopicResult,
    DeleteTopicsRequest,
    DeleteTopicsResponse,
)
from protocol.schema import ZERO_UUID

UNKNOWN_TOPIC = "This server does not host this topic-partition."
UNKNOWN_TOPIC_ID = "This server does not host this topic ID."
NAME_MAPS_TO_ID = "The provided topic name maps to an ID that was already supplied."


@handles(DELETE_TOPICS, versions="0-6")
async def handle_delete_topics(ctx: RequestContext, request: DeleteTopicsRequest) -> DeleteTopicsResponse:
    if ctx.version >= 6:
        wanted = [(t.name, t.topic_id) for t in request.topics]
    else:
        wanted = [(name, ZERO_UUID) for name in request.topic_names]
    response = DeleteTopicsResponse()
    if not ctx.components.config.get("delete.topic.enable"):
        code, message = (
            (ErrorCode.TOPIC_DELETION_DISABLED, None)
            if ctx.version >= 3
            else (ErrorCode.INVALID_REQUEST, "Topic deletion is disabled.")
        )
        for name, topic_id in wanted:
            response.responses.append(
                DeletableTopicResult(name=name, topic_id=topic_id, error_code=code, error_message=message)
            )
        return response
    cache = ctx.components.metadata_cache
    names = Counter(name for name, topic_id in wanted if name is not None and topic_id == ZERO_UUID)
    ids = Counter(topic_id for name, topic_id in wanted if name is None and topic_id != ZERO_UUID)
    resolved: dict[bytes, str] = {}  # topic id -> name, of those to delete
    clashing: set[bytes] = set()  # ids also named by a name: neither is deleted
    for name, topic_id in wanted:
        result = DeletableTopicResult(name=name, topic_id=topic_id, error_code=ErrorCode.NONE, error_message=None)
        response.responses.append(result)
        if name is not None and topic_id != ZERO_UUID:
            _fail(result, ErrorCode.INVALID_REQUEST, "You may not specify both topic name and topic id.")
        elif name is None and topic_id == ZERO_UUID:
            _fail(result, ErrorCode.INVALID_REQUEST, "Neither topic name nor id were specified.")
        elif name is not None and names[name] > 1:
            _fail(result, ErrorCode.INVALID_REQUEST, "Duplicate topic name.")
        elif name is None and ids[topic_id] > 1:
            _fail(result, ErrorCode.INVALID_REQUEST, "Duplicate topic id.")
        elif name is None:
            found = cache.topic_by_id(topic_id)
            if found is None:
                _fail(result, ErrorCode.UNKNOWN_TOPIC_ID, UNKNOWN_TOPIC_ID)
            else:
                result.name = found.name
                resolved[topic_id] = found.name
        elif not _authz.allowed(ctx, RT.TOPIC, name):  # before its existence, as Kafka: nothing is revealed
            _fail(result, ErrorCode.TOPIC_AUTHORIZATION_FAILED, "Topic authorization failed.")
        else:
            found = cache.topic(name)
            if found is None:
                _fail(result, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_TOPIC)
            elif found.topic_id in ids:
                _fail(result, ErrorCode.INVALID_REQUEST, NAME_MAPS_TO_ID)
                clashing.add(found.topic_id)
            else:
                result.topic_id = found.topic_id
                resolved[found.topic_id] = name
    for result in response.responses:
        if result.error_code == ErrorCode.NONE and result.topic_id in clashing:
            _fail(result, ErrorCode.INVALID_REQUEST, NAME_MAPS_TO_ID)
        elif result.error_code == ErrorCode.NONE and result.topic_id in resolved:
            name = resolved.pop(result.topic_id)
            if not _authz.allowed(ctx, RT.TOPIC, name):
                _fail(result, ErrorCode.TOPIC_AUTHORIZATION_FAILED, "Topic authorization failed.")
                continue
            try:
                await ctx.components.controller.delete_topic(name)
            except ControllerError as exc:
                _fail(result, exc.code, exc.message)
    return response


def _fail(result: DeletableTopicResult, code: ErrorCode, message: str) -> None:
    result.error_code = code
    result.error_message = message
