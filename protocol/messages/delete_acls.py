"""DeleteAcls (key 31): remove the ACLs matching filters. Versions 0-3, flexible 2+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import Int8, Int16, Int32, String, Struct, V, struct


@struct
class DeleteAclsFilter(Struct):
    resource_type_filter: Int8 = 0
    resource_name_filter: String | None = ""
    pattern_type_filter: Annotated[Int8, V("1+")] = 3
    principal_filter: String | None = ""
    host_filter: String | None = ""
    operation: Int8 = 0
    permission_type: Int8 = 0


@struct
class DeleteAclsRequest(Struct):
    filters: list[DeleteAclsFilter] = []


@struct
class DeleteAclsMatchingAcl(Struct):
    error_code: Int16 = 0
    error_message: String | None = ""
    resource_type: Int8 = 0
    resource_name: String = ""
    pattern_type: Annotated[Int8, V("1+")] = 3
    principal: String = ""
    host: String = ""
    operation: Int8 = 0
    permission_type: Int8 = 0


@struct
class DeleteAclsFilterResult(Struct):
    error_code: Int16 = 0
    error_message: String | None = ""
    matching_acls: list[DeleteAclsMatchingAcl] = []


@struct
class DeleteAclsResponse(Struct):
    throttle_time_ms: Int32 = 0
    filter_results: list[DeleteAclsFilterResult] = []


DELETE_ACLS = api(31, "DeleteAcls", DeleteAclsRequest, DeleteAclsResponse, versions="0-3", flexible="2+")
