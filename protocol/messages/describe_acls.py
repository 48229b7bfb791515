"""DescribeAcls (key 29): list the ACLs matching a filter. Versions 0-3, flexible 2+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import Int8, Int16, Int32, String, Struct, V, struct


@struct
class DescribeAclsRequest(Struct):
    resource_type_filter: Int8 = 0
    resource_name_filter: String | None = ""
    pattern_type_filter: Annotated[Int8, V("1+")] = 3
    principal_filter: String | None = ""
    host_filter: String | None = ""
    operation: Int8 = 0
    permission_type: Int8 = 0


@struct
class AclDescription(Struct):
    principal: String = ""
    host: String = ""
    operation: Int8 = 0
    permission_type: Int8 = 0


@struct
class DescribeAclsResource(Struct):
    resource_type: Int8 = 0
    resource_name: String = ""
    pattern_type: Annotated[Int8, V("1+")] = 3
    acls: list[AclDescription] = []


@struct
class DescribeAclsResponse(Struct):
    throttle_time_ms: Int32 = 0
    error_code: Int16 = 0
    error_message: String | None = ""
    resources: list[DescribeAclsResource] = []


DESCRIBE_ACLS = api(29, "DescribeAcls", DescribeAclsRequest, DescribeAclsResponse, versions="0-3", flexible="2+")
