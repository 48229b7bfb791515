"""What the three controller-to-broker handlers share: refusing them where no controller may command.

A broker without ZooKeeper (the embedded default) is its own controller: LeaderAndIsr, UpdateMetadata
and StopReplica from anyone are answered ``STALE_CONTROLLER_EPOCH`` and change nothing.
"""

from __future__ import annotations

from broker.controller.commands import ControllerCommands
from broker.controller.errors import ControllerError
from broker.dispatcher import RequestContext
from protocol.errors import ErrorCode


def commands_of(ctx: RequestContext) -> ControllerCommands:
    commands = ctx.components.controller_commands
    if commands is None:
        raise ControllerError(
            ErrorCode.STALE_CONTROLLER_EPOCH, "This broker runs without ZooKeeper and takes no controller requests."
        )
    return commands
