"""DescribeConfigs (key 32): configuration of topics, brokers and loggers. Versions 0-4, flexible 4+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import Bool, Int8, Int16, Int32, String, Struct, V, struct


@struct
class DescribeConfigsResource(Struct):
    resource_type: Int8 = 0
    resource_name: String = ""
    configuration_keys: list[String] | None = []  # null: every key


@struct
class DescribeConfigsRequest(Struct):
    resources: list[DescribeConfigsResource] = []
    include_synonyms: Annotated[Bool, V("1+")] = False
    include_documentation: Annotated[Bool, V("3+")] = False


@struct
class DescribeConfigsSynonym(Struct):
    name: Annotated[String, V("1+")] = ""
    value: Annotated[String | None, V("1+")] = ""
    source: Annotated[Int8, V("1+")] = 0


@struct
class DescribeConfigsResourceResult(Struct):
    name: String = ""
    value: String | None = ""
    read_only: Bool = False
    is_default: Annotated[Bool, V("0")] = False
    config_source: Annotated[Int8, V("1+")] = -1
    is_sensitive: Bool = False
    synonyms: Annotated[list[DescribeConfigsSynonym], V("1+")] = []
    config_type: Annotated[Int8, V("3+")] = 0
    documentation: Annotated[String | None, V("3+")] = ""


@struct
class DescribeConfigsResult(Struct):
    error_code: Int16 = 0
    error_message: String | None = ""
    resource_type: Int8 = 0
    resource_name: String = ""
    configs: list[DescribeConfigsResourceResult] = []


@struct
class DescribeConfigsResponse(Struct):
    throttle_time_ms: Int32 = 0
    results: list[DescribeConfigsResult] = []


DESCRIBE_CONFIGS = api(
    32,
    "DescribeConfigs",
    DescribeConfigsRequest,
    DescribeConfigsResponse,
    versions="0-4",
    flexible="4+",
)
