"""DeleteGroups (key 42): delete empty consumer groups and their offsets. Versions 0-2, flexible 2+."""

from __future__ import annotations

from protocol.api import api
from protocol.schema import Int16, Int32, String, Struct, struct


@struct
class DeleteGroupsRequest(Struct):
    groups_names: list[String] = []


@struct
class DeletableGroupResult(Struct):
    group_id: String = ""
    error_code: Int16 = 0


@struct
class DeleteGroupsResponse(Struct):
    throttle_time_ms: Int32 = 0
    results: list[DeletableGroupResult] = []


DELETE_GROUPS = api(42, "DeleteGroups", DeleteGroupsRequest, DeleteGroupsResponse, versions="0-2", flexible="2+")
