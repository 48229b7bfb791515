"""AlterClientQuotas (key 49): set or remove quota values of entities. Versions 0-1, flexible 1+."""

from __future__ import annotations

from protocol.api import api
from protocol.schema import Bool, Float64, Int16, Int32, String, Struct, struct


@struct
class EntityData(Struct):
    entity_type: String = ""
    entity_name: String | None = ""  # None for the default entity


@struct
class OpData(Struct):
    key: String = ""
    value: Float64 = 0.0
    remove: Bool = False


@struct
class AlterClientQuotasRequestEntryData(Struct):
    entity: list[EntityData] = []
    ops: list[OpData] = []


@struct
class AlterClientQuotasRequest(Struct):
    entries: list[AlterClientQuotasRequestEntryData] = []
    validate_only: Bool = False


@struct
class AlterClientQuotasResponseEntryData(Struct):
    error_code: Int16 = 0
    error_message: String | None = ""
    entity: list[EntityData] = []


@struct
class AlterClientQuotasResponse(Struct):
    throttle_time_ms: Int32 = 0
    entries: list[AlterClientQuotasResponseEntryData] = []


ALTER_CLIENT_QUOTAS = api(
    49,
    "AlterClientQuotas",
    AlterClientQuotasRequest,
    AlterClientQuotasResponse,
    versions="0-1",
    flexible="1+",
)
