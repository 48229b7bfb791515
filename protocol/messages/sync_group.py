"""SyncGroup (key 14): the leader hands out assignments; every member gets its own. Versions 0-5, flexible 4+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import Bytes, Int16, Int32, String, Struct, V, struct


@struct
class SyncGroupRequestAssignment(Struct):
    member_id: String = ""
    assignment: Bytes = b""


@struct
class SyncGroupRequest(Struct):
    group_id: String = ""
    generation_id: Int32 = 0
    member_id: String = ""
    group_instance_id: Annotated[String | None, V("3+")] = None
    protocol_type: Annotated[String | None, V("5+")] = None
    protocol_name: Annotated[String | None, V("5+")] = None
    assignments: list[SyncGroupRequestAssignment] = []


@struct
class SyncGroupResponse(Struct):
    throttle_time_ms: Annotated[Int32, V("1+")] = 0
    error_code: Int16 = 0
    protocol_type: Annotated[String | None, V("5+")] = None
    protocol_name: Annotated[String | None, V("5+")] = None
    assignment: Bytes = b""


SYNC_GROUP = api(14, "SyncGroup", SyncGroupRequest, SyncGroupResponse, versions="0-5", flexible="4+")
