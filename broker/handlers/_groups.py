"""What the group handlers share: reaching the coordinator, and group-protocol argument checks.

Handlers whose request may create a group or store its first records (FindCoordinator, JoinGroup,
OffsetCommit, ConsumerGroupHeartbeat) first make sure ``__consumer_offsets`` exists
(``offsets_topic_ready``), and answer COORDINATOR_NOT_AVAILABLE while it is being created. Await it
before touching the coordinator's state, never in the middle of a change.
"""

from __future__ import annotations

from broker.coordinator.group.coordinator import GroupCoordinator
from broker.dispatcher import RequestContext


def coordinator(ctx: RequestContext) -> GroupCoordinator:
    return ctx.broker.group_coordinator.coordinator


async def offsets_topic_ready(ctx: RequestContext) -> bool:
    """True once ``__consumer_offsets`` exists (creating it if needed; the request that starts the
    creation waits for it). False while it is being created: answer COORDINATOR_NOT_AVAILABLE."""
    return await ctx.broker.group_coordinator.offsets_topic.ensure_created()
