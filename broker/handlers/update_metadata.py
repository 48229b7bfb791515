"""UpdateMetadata (6), versions 0-8: the controller pushes the cluster's metadata (cluster mode only).

- Fenced by ``ControllerCommands.check``: not from the controller this broker sees, or an older
  controller epoch -> STALE_CONTROLLER_EPOCH; an older broker epoch (v5+) -> STALE_BROKER_EPOCH.
  Nothing changes then. Without ZooKeeper: STALE_CONTROLLER_EPOCH always.
- Otherwise the content replaces the metadata cache's view (brokers, controller; partitions merged,
  a leader of -2 removes a partition; v8 ``type`` 2 is a full snapshot).
"""

from __future__ import annotations

from broker.controller.errors import ControllerError
from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers._controller_requests import commands_of
from protocol.errors import ErrorCode
from protocol.messages.update_metadata import UPDATE_METADATA, UpdateMetadataRequest, UpdateMetadataResponse


@handles(UPDATE_METADATA, versions="0-8")
async def handle_update_metadata(ctx: RequestContext, request: UpdateMetadataRequest) -> UpdateMetadataResponse:
    if not _authz.cluster_allowed(ctx):
        return UpdateMetadataResponse(error_code=ErrorCode.CLUSTER_AUTHORIZATION_FAILED)
    try:
        await commands_of(ctx).update_metadata(request, ctx.version)
    except ControllerError as exc:
        return UpdateMetadataResponse(error_code=exc.code)
    return UpdateMetadataResponse(error_code=ErrorCode.NONE)
