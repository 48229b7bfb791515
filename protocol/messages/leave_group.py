"""LeaveGroup (key 13): members leave a classic group. Versions 0-5, flexible 4+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import Int16, Int32, String, Struct, V, struct


@struct
class MemberIdentity(Struct):
    member_id: Annotated[String, V("3+")] = ""
    group_instance_id: Annotated[String | None, V("3+")] = None
    reason: Annotated[String | None, V("5+")] = None


@struct
class LeaveGroupRequest(Struct):
    group_id: String = ""
    member_id: Annotated[String, V("0-2")] = ""
    members: Annotated[list[MemberIdentity], V("3+")] = []


@struct
class MemberResponse(Struct):
    member_id: Annotated[String, V("3+")] = ""
    group_instance_id: Annotated[String | None, V("3+")] = ""
    error_code: Annotated[Int16, V("3+")] = 0


@struct
class LeaveGroupResponse(Struct):
    throttle_time_ms: Annotated[Int32, V("1+")] = 0
    error_code: Int16 = 0
    members: Annotated[list[MemberResponse], V("3+")] = []


LEAVE_GROUP = api(13, "LeaveGroup", LeaveGroupRequest, LeaveGroupResponse, versions="0-5", flexible="4+")
