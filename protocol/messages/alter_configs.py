"""AlterConfigs (key 33): replace the whole configuration of resources. Versions 0-2, flexible 2+."""

from __future__ import annotations

from protocol.api import api
from protocol.schema import Bool, Int8, Int16, Int32, String, Struct, struct


@struct
class AlterableConfig(Struct):
    name: String = ""
    value: String | None = ""


@struct
class AlterConfigsResource(Struct):
    resource_type: Int8 = 0
    resource_name: String = ""
    configs: list[AlterableConfig] = []


@struct
class AlterConfigsRequest(Struct):
    resources: list[AlterConfigsResource] = []
    validate_only: Bool = False


@struct
class AlterConfigsResourceResponse(Struct):
    error_code: Int16 = 0
    error_message: String | None = ""
    resource_type: Int8 = 0
    resource_name: String = ""


@struct
class AlterConfigsResponse(Struct):
    throttle_time_ms: Int32 = 0
    responses: list[AlterConfigsResourceResponse] = []


ALTER_CONFIGS = api(
    33,
    "AlterConfigs",
    AlterConfigsRequest,
    AlterConfigsResponse,
    versions="0-2",
    flexible="2+",
)
