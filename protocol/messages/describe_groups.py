"""DescribeGroups (key 15): state, protocol and members of classic groups. Versions 0-5, flexible 5+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import Bool, Bytes, Int16, Int32, String, Struct, V, struct


@struct
class DescribeGroupsRequest(Struct):
    groups: list[String] = []
    include_authorized_operations: Annotated[Bool, V("3+")] = False


@struct
class DescribedGroupMember(Struct):
    member_id: String = ""
    group_instance_id: Annotated[String | None, V("4+")] = None
    client_id: String = ""
    client_host: String = ""
    member_metadata: Bytes = b""
    member_assignment: Bytes = b""


@struct
class DescribedGroup(Struct):
    error_code: Int16 = 0
    group_id: String = ""
    group_state: String = ""
    protocol_type: String = ""
    protocol_data: String = ""  # the chosen protocol's name, e.g. the assignor
    members: list[DescribedGroupMember] = []
    authorized_operations: Annotated[Int32, V("3+")] = -2147483648


@struct
class DescribeGroupsResponse(Struct):
    throttle_time_ms: Annotated[Int32, V("1+")] = 0
    groups: list[DescribedGroup] = []


DESCRIBE_GROUPS = api(
    15, "DescribeGroups", DescribeGroupsRequest, DescribeGroupsResponse, versions="0-5", flexible="5+"
)
