"""DescribeClientQuotas (key 48): the quotas of the entities matching a filter. Versions 0-1, flexible 1+."""

from __future__ import annotations

from protocol.api import api
from protocol.schema import Bool, Float64, Int8, Int16, Int32, String, Struct, struct


@struct
class ComponentData(Struct):
    entity_type: String = ""
    match_type: Int8 = 0  # 0 exact name, 1 default name, 2 any specified name
    match: String | None = ""


@struct
class DescribeClientQuotasRequest(Struct):
    components: list[ComponentData] = []
    strict: Bool = False


@struct
class EntityData(Struct):
    entity_type: String = ""
    entity_name: String | None = ""  # None for the default entity


@struct
class ValueData(Struct):
    key: String = ""
    value: Float64 = 0.0


@struct
class EntryData(Struct):
    entity: list[EntityData] = []
    values: list[ValueData] = []


@struct
class DescribeClientQuotasResponse(Struct):
    throttle_time_ms: Int32 = 0
    error_code: Int16 = 0
    error_message: String | None = ""
    entries: list[EntryData] | None = []


DESCRIBE_CLIENT_QUOTAS = api(
    48,
    "DescribeClientQuotas",
    DescribeClientQuotasRequest,
    DescribeClientQuotasResponse,
    versions="0-1",
    flexible="1+",
)
