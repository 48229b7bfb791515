"""ControlledShutdown (key 7): a broker asks to have leadership moved off it. Versions 0-3, flexible 3+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import Int16, Int32, Int64, String, Struct, V, struct


@struct
class ControlledShutdownRequest(Struct):
    broker_id: Int32 = 0
    broker_epoch: Annotated[Int64, V("2+")] = -1


@struct
class RemainingPartition(Struct):
    topic_name: String = ""
    partition_index: Int32 = 0


@struct
class ControlledShutdownResponse(Struct):
    error_code: Int16 = 0
    remaining_partitions: list[RemainingPartition] = []


CONTROLLED_SHUTDOWN = api(
    7,
    "ControlledShutdown",
    ControlledShutdownRequest,
    ControlledShutdownResponse,
    versions="0-3",
    flexible="3+",
)
