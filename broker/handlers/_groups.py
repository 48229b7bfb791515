"""What the group handlers share: reaching the coordinator, the offsets a commit may store, and
group-protocol argument checks.

Handlers whose request may create a group or store its first records (FindCoordinator, JoinGroup,
OffsetCommit, ConsumerGroupHeartbeat) first make sure ``__consumer_offsets`` exists
(``offsets_topic_ready``), and answer COORDINATOR_NOT_AVAILABLE while it is being created. Await it
before touching the coordinator's state, never in the middle of a change. Operations that store
records answer through a callback once their append completes (``Completion`` awaits it).

OffsetCommit and TxnOffsetCommit check their partitions alike (``offsets_to_commit``): a topic the
principal may not read is TOPIC_AUTHORIZATION_FAILED, a partition that does not exist
UNKNOWN_TOPIC_OR_PARTITION; only the rest go to the coordinator.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator, Sequence
from typing import Any, Generic, Protocol, TypeVar

from broker.coordinator.group.coordinator import GroupCoordinator
from broker.coordinator.group.group import OffsetAndMetadata
from broker.dispatcher import RequestContext
from broker.handlers import _authz
from broker.security.acl import ResourceType
from protocol.errors import ErrorCode

T = TypeVar("T")
TopicPartition = tuple[str, int]


class _CommitPartition(Protocol):
    @property
    def partition_index(self) -> int: ...


P = TypeVar("P", bound=_CommitPartition)
P_co = TypeVar("P_co", bound=_CommitPartition, covariant=True)


class _CommitTopic(Protocol[P_co]):
    @property
    def name(self) -> str: ...
    @property
    def partitions(self) -> Sequence[P_co]: ...


def coordinator(ctx: RequestContext) -> GroupCoordinator:
    return ctx.components.group_coordinator.coordinator


async def offsets_topic_ready(ctx: RequestContext) -> bool:
    """True once ``__consumer_offsets`` exists (creating it if needed; the request that starts the
    creation waits for it). False while it is being created: answer COORDINATOR_NOT_AVAILABLE."""
    return await ctx.components.group_coordinator.offsets_topic.ensure_created()


class Completion(Generic[T]):
    """The answer of a coordinator operation that calls back (at once, or once its records are
    committed): pass ``set`` as the callback, then ``await`` the completion for the answer."""

    def __init__(self) -> None:
        self._done: asyncio.Future[T] = asyncio.get_running_loop().create_future()

    def set(self, result: T) -> None:
        if not self._done.done():
            self._done.set_result(result)

    def __await__(self) -> Generator[Any, None, T]:
        return self._done.__await__()


def offsets_to_commit(
    ctx: RequestContext, topics: Sequence[_CommitTopic[P]], offset: Callable[[P], OffsetAndMetadata]
) -> tuple[dict[TopicPartition, ErrorCode], dict[TopicPartition, OffsetAndMetadata]]:
    """The partitions of a commit request refused outright (their errors), and the offsets of the
    others (``offset`` of each) for the coordinator to commit."""
    errors: dict[TopicPartition, ErrorCode] = {}
    offsets: dict[TopicPartition, OffsetAndMetadata] = {}
    for topic in topics:
        count = ctx.components.metadata_cache.num_partitions(topic.name)
        denied = not _authz.allowed(ctx, ResourceType.TOPIC, topic.name)
        for p in topic.partitions:
            tp = (topic.name, p.partition_index)
            if denied:
                errors[tp] = ErrorCode.TOPIC_AUTHORIZATION_FAILED
            elif count is None or not 0 <= p.partition_index < count:
                errors[tp] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            else:
                offsets[tp] = offset(p)
    return errors, offsets
