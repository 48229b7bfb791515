"""What the group handlers share: reaching the coordinator, and group-protocol argument checks.

Handlers whose request may create a group or store its first records (FindCoordinator, JoinGroup,
OffsetCommit, ConsumerGroupHeartbeat) first make sure ``__consumer_offsets`` exists
(``offsets_topic_ready``), and answer COORDINATOR_NOT_AVAILABLE while it is being created. Await it
before touching the coordinator's state, never in the middle of a change. Operations that store
records answer through a callback once their append completes (``Completion`` awaits it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from typing import Any, Generic, TypeVar

from broker.coordinator.group.coordinator import GroupCoordinator
from broker.dispatcher import RequestContext

T = TypeVar("T")


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
