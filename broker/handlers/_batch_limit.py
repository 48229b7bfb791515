"""Kafka's bound on the partitions one admin request may create: 10,000.

Kafka's controller refuses a CreateTopics request whose topics would add up to more than
``MAX_PARTITIONS_PER_BATCH`` partitions ("Excessively large number of partitions per request."), and a
CreatePartitions request that would write more records than that ("Unable to perform excessively
large batch operation."), both with POLICY_VIOLATION for every topic of the request, before any work
is done. The bound is what keeps a request for 2**31 - 1 partitions from building an assignment that
size (and, here, from blocking the event loop while it does).

Each handler calls its check first; None means the request is within the bound.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from protocol.errors import ErrorCode
from protocol.messages.create_partitions import (
    CreatePartitionsRequest,
    CreatePartitionsResponse,
    CreatePartitionsTopicResult,
)
from protocol.messages.create_topics import CreatableTopicResult, CreateTopicsRequest, CreateTopicsResponse

if TYPE_CHECKING:
    from broker.dispatcher import RequestContext

MAX_PARTITIONS_PER_BATCH = 10_000
TOO_MANY_FOR_CREATE_TOPICS = "Excessively large number of partitions per request."
TOO_MANY_FOR_CREATE_PARTITIONS = "Unable to perform excessively large batch operation."


def refuse_create_topics(ctx: RequestContext, request: CreateTopicsRequest) -> CreateTopicsResponse | None:
    """The answer to a CreateTopics request over the bound (counted as Kafka counts: -1 is the broker's
    ``num.partitions``, a manual assignment its length), or None."""
    default: int = ctx.broker.config.get("num.partitions")
    total = 0
    for topic in request.topics:
        if topic.assignments:
            total += len(topic.assignments)
        elif topic.num_partitions == -1:
            total += default
        elif topic.num_partitions > 0:
            total += topic.num_partitions
    if total <= MAX_PARTITIONS_PER_BATCH:
        return None
    return CreateTopicsResponse(
        topics=[
            CreatableTopicResult(
                name=t.name, error_code=ErrorCode.POLICY_VIOLATION, error_message=TOO_MANY_FOR_CREATE_TOPICS
            )
            for t in request.topics
        ]
    )


def refuse_create_partitions(ctx: RequestContext, request: CreatePartitionsRequest) -> CreatePartitionsResponse | None:
    """The answer to a CreatePartitions request that would add more than the bound of partitions to
    existing topics, or None."""
    total = 0
    for name, count in {t.name: t.count for t in request.topics}.items():
        topic = ctx.broker.topics.get(name)
        if topic is not None and count > topic.partitions:
            total += count - topic.partitions
    if total <= MAX_PARTITIONS_PER_BATCH:
        return None
    return CreatePartitionsResponse(
        results=[
            CreatePartitionsTopicResult(
                name=t.name, error_code=ErrorCode.POLICY_VIOLATION, error_message=TOO_MANY_FOR_CREATE_PARTITIONS
            )
            for t in request.topics
        ]
    )
