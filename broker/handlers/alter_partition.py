"""AlterPartition (56), versions 0-3: a partition leader proposes an ISR change to the controller.

- Answered by the active controller only (``ZkController.alter_partition``, run on its event queue;
  the checks and errors are in ``broker.controller.zk.isr_changes``). Any other broker, or a broker
  without ZooKeeper, answers the top-level NOT_CONTROLLER (Kafka's ZooKeeper-mode broker does), so the
  leader looks for the controller again.
- As in Kafka's ZooKeeper mode it is accepted on any listener: it is an inter-broker API guarded by
  CLUSTER_ACTION authorization, which kafkish does not have yet.
- v0-1 name topics, v2+ use topic ids; v3 carries the new ISR with broker epochs.
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from protocol.errors import ErrorCode
from protocol.messages.alter_partition import ALTER_PARTITION, AlterPartitionRequest, AlterPartitionResponse


@handles(ALTER_PARTITION, versions="0-3")
async def handle_alter_partition(ctx: RequestContext, request: AlterPartitionRequest) -> AlterPartitionResponse:
    if not _authz.cluster_allowed(ctx):
        return AlterPartitionResponse(error_code=ErrorCode.CLUSTER_AUTHORIZATION_FAILED)
    controller = ctx.components.isr_controller
    if controller is None:
        return AlterPartitionResponse(error_code=ErrorCode.NOT_CONTROLLER)
    return await controller(request, ctx.version)
