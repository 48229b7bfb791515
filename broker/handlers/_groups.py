"""What the group handlers share: reaching the coordinator, and group-protocol argument checks."""

from __future__ import annotations

from broker.coordinator.group.coordinator import GroupCoordinator
from broker.dispatcher import RequestContext


def coordinator(ctx: RequestContext) -> GroupCoordinator:
    return ctx.broker.group_coordinator.coordinator
