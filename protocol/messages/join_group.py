"""JoinGroup (key 11): a member joins a classic group and learns its generation. Versions 0-9, flexible 6+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import Bool, Bytes, Int16, Int32, String, Struct, V, struct


@struct
class JoinGroupRequestProtocol(Struct):
    name: String = ""
    metadata: Bytes = b""


@struct
class JoinGroupRequest(Struct):
    group_id: String = ""
    session_timeout_ms: Int32 = 0
    rebalance_timeout_ms: Annotated[Int32, V("1+")] = -1
    member_id: String = ""
    group_instance_id: Annotated[String | None, V("5+")] = None
    protocol_type: String = ""
    protocols: list[JoinGroupRequestProtocol] = []
    reason: Annotated[String | None, V("8+")] = None


@struct
class JoinGroupResponseMember(Struct):
    member_id: String = ""
    group_instance_id: Annotated[String | None, V("5+")] = None
    metadata: Bytes = b""


@struct
class JoinGroupResponse(Struct):
    throttle_time_ms: Annotated[Int32, V("2+")] = 0
    error_code: Int16 = 0
    generation_id: Int32 = -1
    protocol_type: Annotated[String | None, V("7+")] = None
    protocol_name: Annotated[String | None, V(nullable="7+")] = ""
    leader: String = ""
    skip_assignment: Annotated[Bool, V("9+")] = False
    member_id: String = ""
    members: list[JoinGroupResponseMember] = []


JOIN_GROUP = api(11, "JoinGroup", JoinGroupRequest, JoinGroupResponse, versions="0-9", flexible="6+")
