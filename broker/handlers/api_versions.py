"""ApiVersions (18), versions 0-4.

- The answer lists exactly the registered handlers and their version ranges (``broker.dispatcher``),
  as narrowed at start-up to the release ``kafkish.api.version.profile`` names (``broker.version_profiles``;
  Kafka 3.9 by default).
- A request newer than v4 is answered by the connection with UNSUPPORTED_VERSION and the supported
  range of ApiVersions in a v0 body (KIP-511), so the client retries with a version we know.
- v3+: client software name and version must match Kafka's pattern, else INVALID_REQUEST.
- No features are advertised; the default-valued tagged fields are omitted, as Kafka does (librdkafka
  2.0's parser breaks on them).
"""

from __future__ import annotations

import re

from broker.dispatcher import RequestContext, handles, supported_api_keys
from protocol.errors import ErrorCode
from protocol.messages.api_versions import API_VERSIONS, ApiVersionsRequest, ApiVersionsResponse

_SOFTWARE = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$")


@handles(API_VERSIONS, versions="0-4")
async def handle_api_versions(ctx: RequestContext, request: ApiVersionsRequest) -> ApiVersionsResponse:
    if ctx.version >= 3 and not (
        _SOFTWARE.match(request.client_software_name) and _SOFTWARE.match(request.client_software_version)
    ):
        return ApiVersionsResponse(error_code=ErrorCode.INVALID_REQUEST)
    return ApiVersionsResponse(error_code=ErrorCode.NONE, api_keys=supported_api_keys())
