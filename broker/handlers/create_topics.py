"""CreateTopics (19), versions 0-7.

Behaviour follows Kafka's KRaft controller (ReplicationControlManager.createTopics):

- A request whose topics add up to more than 10,000 partitions (num_partitions, -1 counting as
  ``num.partitions``, or the manual assignments) -> POLICY_VIOLATION "Excessively large number of
  partitions per request." for every topic, before anything is built, ``validate_only`` too: Kafka's
  controller cap (MAX_PARTITIONS_PER_BATCH). It keeps a request from building billions of replica
  lists (2^31-1 partitions once stalled the broker for 100 s and ended in MemoryError).
- Checks in Kafka's order: a name given twice in one request -> INVALID_REQUEST "Duplicate topic
  name." for each; then the name (INVALID_TOPIC_EXCEPTION, also for names colliding in '.'/'_'),
  TOPIC_ALREADY_EXISTS, the configs (unknown name or bad value -> INVALID_CONFIG with Kafka's
  message), then partitions and replication factor (-1: the broker's ``num.partitions`` and
  ``default.replication.factor``; 0 or below -1 -> INVALID_PARTITIONS / INVALID_REPLICATION_FACTOR;
  more replicas than brokers -> INVALID_REPLICATION_FACTOR) or the manual assignment
  (INVALID_REPLICA_ASSIGNMENT, or INVALID_REQUEST when a count is also given).
- ``validate_only`` (v1+) runs every check and answers as a real creation would, creating nothing.
  Like Kafka, the answer still carries a freshly drawn topic id that is then forgotten.
- The request's ``timeout_ms`` does not matter: a single broker answers when the topic exists. The
  topics of one request are created concurrently, their logs in worker threads (the event loop goes
  on); a topic appears only once all its partitions exist (``EmbeddedController.create_topic``).
- v1: error_message; v2: throttle_time_ms (always 0: no quotas); v4: -1 counts; v5: flexible, and a
  successful result carries num_partitions, replication_factor and every topic config with its
  source (sorted by name; sensitive values null); v7: topic_id.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from broker.config import ConfigError, validate_topic_configs
from broker.controller.api import EXCESSIVE_CREATE_TOPICS, MAX_PARTITIONS_PER_REQUEST
from broker.controller.errors import ControllerError
from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.topics import new_topic_id
from protocol.errors import ErrorCode
from protocol.messages.create_topics import (
    CREATE_TOPICS,
    CreatableTopic,
    CreatableTopicConfigs,
    CreatableTopicResult,
    CreateTopicsRequest,
    CreateTopicsResponse,
)


@handles(CREATE_TOPICS, versions="0-7")
async def handle_create_topics(ctx: RequestContext, request: CreateTopicsRequest) -> CreateTopicsResponse:
    if _total_partitions(request, ctx.components.config.get("num.partitions")) > MAX_PARTITIONS_PER_REQUEST:
        return CreateTopicsResponse(
            topics=[
                CreatableTopicResult(
                    name=t.name, error_code=ErrorCode.POLICY_VIOLATION, error_message=EXCESSIVE_CREATE_TOPICS
                )
                for t in request.topics
            ]
        )
    counts = Counter(topic.name for topic in request.topics)
    results = [
        _duplicate(topic.name) if counts[topic.name] > 1 else _create(ctx, topic, request.validate_only)
        for topic in request.topics
    ]
    return CreateTopicsResponse(topics=list(await asyncio.gather(*results)))


def _total_partitions(request: CreateTopicsRequest, default: int) -> int:
    """The partitions a request asks for, counted as Kafka's controller counts them."""
    total = 0
    for topic in request.topics:
        if topic.assignments:
            total += len(topic.assignments)
        elif topic.num_partitions == -1:
            total += default
        elif topic.num_partitions > 0:
            total += topic.num_partitions
    return total


async def _duplicate(name: str) -> CreatableTopicResult:
    return CreatableTopicResult(name=name, error_code=ErrorCode.INVALID_REQUEST, error_message="Duplicate topic name.")


async def _create(ctx: RequestContext, topic: CreatableTopic, validate_only: bool) -> CreatableTopicResult:
    controller = ctx.components.controller
    if not _authz.create_topic_allowed(ctx, topic.name):
        return CreatableTopicResult(name=topic.name, error_code=ErrorCode.TOPIC_AUTHORIZATION_FAILED)
    try:
        controller.check_topic_name(topic.name)
        configs = _configs(ctx, topic)
        assignment: dict[int, list[int]] = {}
        for item in topic.assignments:
            if item.partition_index in assignment:
                raise ControllerError(
                    ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                    f"Found multiple manual partition assignments for partition {item.partition_index}",
                )
            assignment[item.partition_index] = list(item.broker_ids)
        replicas = controller.check_new_topic(topic.name, topic.num_partitions, topic.replication_factor, assignment)
        if validate_only:
            topic_id = new_topic_id()
        else:
            topic_id = await controller.create_topic(topic.name, replicas, configs)
    except ControllerError as exc:
        return CreatableTopicResult(name=topic.name, error_code=exc.code, error_message=exc.message)
    broker_config = ctx.components.config
    return CreatableTopicResult(
        name=topic.name,
        topic_id=topic_id,
        error_code=ErrorCode.NONE,
        error_message=None,
        num_partitions=len(replicas),
        replication_factor=len(replicas[0]),
        configs=[
            CreatableTopicConfigs(
                name=entry.name,
                value=None if entry.sensitive else entry.value,
                read_only=entry.read_only,
                config_source=entry.source,
                is_sensitive=entry.sensitive,
            )
            for entry in sorted(broker_config.describe_topic(configs, with_synonyms=False), key=lambda e: e.name)
        ],
    )


def _configs(ctx: RequestContext, topic: CreatableTopic) -> dict[str, Any]:
    try:
        configs = validate_topic_configs((config.name, config.value) for config in topic.configs)
        ctx.components.config.check_topic_configs(configs)  # the log config they make together
        return configs
    except ConfigError as exc:
        raise ControllerError(ErrorCode.INVALID_CONFIG, str(exc)) from None
