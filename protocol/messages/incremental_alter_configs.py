"""IncrementalAlterConfigs (key 44): set, delete, append or subtract configs. Versions 0-1, flexible 1+."""

from __future__ import annotations

from protocol.api import api
from protocol.schema import Bool, Int8, Int16, Int32, String, Struct, struct


@struct
class AlterableConfig(Struct):
    name: String = ""
    config_operation: Int8 = 0  # 0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT
    value: String | None = ""


@struct
class AlterConfigsResource(Struct):
    resource_type: Int8 = 0
    resource_name: String = ""
    configs: list[AlterableConfig] = []


@struct
class IncrementalAlterConfigsRequest(Struct):
    resources: list[AlterConfigsResource] = []
    validate_only: Bool = False


@struct
class AlterConfigsResourceResponse(Struct):
    error_code: Int16 = 0
    error_message: String | None = ""
    resource_type: Int8 = 0
    resource_name: String = ""


@struct
class IncrementalAlterConfigsResponse(Struct):
    throttle_time_ms: Int32 = 0
    responses: list[AlterConfigsResourceResponse] = []


INCREMENTAL_ALTER_CONFIGS = api(
    44,
    "IncrementalAlterConfigs",
    IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse,
    versions="0-1",
    flexible="1+",
)
