"""ListGroups (key 16): the groups a broker coordinates. Versions 0-5, flexible 3+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import Int16, Int32, String, Struct, V, struct


@struct
class ListGroupsRequest(Struct):
    states_filter: Annotated[list[String], V("4+")] = []
    types_filter: Annotated[list[String], V("5+")] = []


@struct
class ListedGroup(Struct):
    group_id: String = ""
    protocol_type: String = ""
    group_state: Annotated[String, V("4+")] = ""
    group_type: Annotated[String, V("5+")] = ""


@struct
class ListGroupsResponse(Struct):
    throttle_time_ms: Annotated[Int32, V("1+")] = 0
    error_code: Int16 = 0
    groups: list[ListedGroup] = []


LIST_GROUPS = api(16, "ListGroups", ListGroupsRequest, ListGroupsResponse, versions="0-5", flexible="3+")
