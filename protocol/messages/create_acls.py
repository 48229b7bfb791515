"""CreateAcls (key 30): add ACL bindings. Versions 0-3, flexible 2+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import Int8, Int16, Int32, String, Struct, V, struct


@struct
class AclCreation(Struct):
    resource_type: Int8 = 0
    resource_name: String = ""
    resource_pattern_type: Annotated[Int8, V("1+")] = 3
    principal: String = ""
    host: String = ""
    operation: Int8 = 0
    permission_type: Int8 = 0


@struct
class CreateAclsRequest(Struct):
    creations: list[AclCreation] = []


@struct
class AclCreationResult(Struct):
    error_code: Int16 = 0
    error_message: String | None = ""


@struct
class CreateAclsResponse(Struct):
    throttle_time_ms: Int32 = 0
    results: list[AclCreationResult] = []


CREATE_ACLS = api(30, "CreateAcls", CreateAclsRequest, CreateAclsResponse, versions="0-3", flexible="2+")
