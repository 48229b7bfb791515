"""ApiVersions (key 18): which APIs and versions the broker supports. Versions 0-4, flexible 3+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import Bool, Int16, Int32, Int64, String, Struct, V, struct


@struct
class ApiVersionsRequest(Struct):
    client_software_name: Annotated[String, V("3+")] = ""
    client_software_version: Annotated[String, V("3+")] = ""


@struct
class ApiVersion(Struct):
    api_key: Int16 = 0
    min_version: Int16 = 0
    max_version: Int16 = 0


@struct
class SupportedFeatureKey(Struct):
    name: Annotated[String, V("3+")] = ""
    min_version: Annotated[Int16, V("3+")] = 0
    max_version: Annotated[Int16, V("3+")] = 0


@struct
class FinalizedFeatureKey(Struct):
    name: Annotated[String, V("3+")] = ""
    max_version_level: Annotated[Int16, V("3+")] = 0
    min_version_level: Annotated[Int16, V("3+")] = 0


@struct
class ApiVersionsResponse(Struct):
    error_code: Int16 = 0
    api_keys: list[ApiVersion] = []
    throttle_time_ms: Annotated[Int32, V("1+")] = 0
    supported_features: Annotated[list[SupportedFeatureKey], V("3+", tag=0)] = []
    finalized_features_epoch: Annotated[Int64, V("3+", tag=1)] = -1
    finalized_features: Annotated[list[FinalizedFeatureKey], V("3+", tag=2)] = []
    zk_migration_ready: Annotated[Bool, V("3+", tag=3)] = False


API_VERSIONS = api(18, "ApiVersions", ApiVersionsRequest, ApiVersionsResponse, versions="0-4", flexible="3+")
