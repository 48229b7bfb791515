"""Heartbeat (key 12): a classic group member says it is alive. Versions 0-4, flexible 4+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import Int16, Int32, String, Struct, V, struct


@struct
class HeartbeatRequest(Struct):
    group_id: String = ""
    generation_id: Int32 = 0
    member_id: String = ""
    group_instance_id: Annotated[String | None, V("3+")] = None


@struct
class HeartbeatResponse(Struct):
    throttle_time_ms: Annotated[Int32, V("1+")] = 0
    error_code: Int16 = 0


HEARTBEAT = api(12, "Heartbeat", HeartbeatRequest, HeartbeatResponse, versions="0-4", flexible="4+")
