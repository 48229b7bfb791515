"""ControlledShutdown (7), versions 0-3: a stopping broker asks the controller to move its leadership.

- Cluster mode, on the controller (``controller.zk.controlled_shutdown``): leadership of the broker's
  partitions moves to other ISR members, it leaves the ISRs; the answer lists the partitions it still
  leads. Another broker: NOT_CONTROLLER; an unknown broker: BROKER_NOT_AVAILABLE; an earlier
  incarnation's broker epoch (v2+): STALE_BROKER_EPOCH.
- Without ZooKeeper there is no controller to ask: NOT_CONTROLLER.
- v0 has a request header without client id (``Api.request_header_version``); v2 adds broker_epoch;
  v3 is flexible.
"""

from __future__ import annotations

from broker.controller.errors import ControllerError
from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from protocol.errors import ErrorCode
from protocol.messages.controlled_shutdown import (
    CONTROLLED_SHUTDOWN,
    ControlledShutdownRequest,
    ControlledShutdownResponse,
    RemainingPartition,
)


@handles(CONTROLLED_SHUTDOWN, versions="0-3")
async def handle_controlled_shutdown(
    ctx: RequestContext, request: ControlledShutdownRequest
) -> ControlledShutdownResponse:
    if not _authz.cluster_allowed(ctx):
        return ControlledShutdownResponse(error_code=ErrorCode.CLUSTER_AUTHORIZATION_FAILED)
    shut_down = ctx.components.controlled_shutdown
    if shut_down is None:
        return ControlledShutdownResponse(error_code=ErrorCode.NOT_CONTROLLER)
    broker_epoch = request.broker_epoch if ctx.version >= 2 else -1
    try:
        remaining = await shut_down(request.broker_id, broker_epoch)
    except ControllerError as exc:
        return ControlledShutdownResponse(error_code=exc.code)
    return ControlledShutdownResponse(
        error_code=ErrorCode.NONE,
        remaining_partitions=[RemainingPartition(topic_name=t, partition_index=p) for t, p in remaining],
    )
