"""API key -> handler. Each handler declares the versions it truly supports, beside its code.

The same registry builds the ApiVersions response, so nothing unsupported is ever advertised::

    @handles(METADATA, versions="0-12")
    async def handle_metadata(ctx: RequestContext, request: MetadataRequest) -> MetadataResponse: ...

A handler returns the response, or None for a request that gets no response (a produce with acks=0).
Importing ``broker.handlers`` registers every handler module. The connection core needs only this
registry (and the KIP-511 answer built from it), never a handler module.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from protocol.api import Api
from protocol.errors import ErrorCode
from protocol.headers import RequestHeader
from protocol.messages.api_versions import API_VERSIONS, ApiVersion, ApiVersionsResponse
from protocol.schema import Struct, VersionRange

if TYPE_CHECKING:
    from broker.components import BrokerComponents
    from broker.security.authenticator import ConnectionSecurity

Handler = Callable[["RequestContext", Any], Awaitable[Struct | None]]
H = TypeVar("H", bound=Handler)


@dataclass(slots=True)
class RequestContext:
    """What a handler knows about the request besides its body, and the broker's components it works with."""

    components: BrokerComponents
    api: Api
    header: RequestHeader
    client_host: str
    client_port: int
    listener: str = "PLAINTEXT"
    security: ConnectionSecurity | None = None  # the connection's principal and SASL state
    connection_id: str = ""  # Kafka's "brokerHost:brokerPort-clientHost:clientPort-index"
    throttle_ms: int = 0  # set by a handler over a client quota: the connection is muted that long
    request_size: int = 0  # the request's bytes (what a produce quota counts)

    @property
    def version(self) -> int:
        return self.header.request_api_version

    @property
    def client_id(self) -> str:
        return self.header.client_id or ""


@dataclass(frozen=True, slots=True)
class Registration:
    api: Api
    versions: VersionRange
    handler: Handler

    @property
    def min_version(self) -> int:
        return self.versions.low

    @property
    def max_version(self) -> int:
        assert self.versions.high is not None
        return self.versions.high


class CloseConnection(Exception):
    """A handler's answer is to close the connection, after the responses before this one are sent.

    Kafka does this for a failed acks=0 produce: the producer gets no response, so a closed connection
    is how it learns to refresh its metadata."""


HANDLERS: dict[int, Registration] = {}


def handles(api: Api, *, versions: str) -> Callable[[H], H]:
    supported = VersionRange.parse(versions)
    if supported is None or supported.high is None:
        raise ValueError(f"{api.name}: a handler needs a closed version range, not {versions!r}")
    if supported.low < api.min_version or supported.high > api.max_version:
        raise ValueError(f"{api.name}: versions {versions} are outside what the protocol defines ({api.versions})")

    def register(handler: H) -> H:
        if api.key in HANDLERS:
            raise ValueError(f"two handlers for {api.name}")
        HANDLERS[api.key] = Registration(api, supported, handler)
        return handler

    return register


def supported_api_keys() -> list[ApiVersion]:
    """Every registered API and its version range: the body of an ApiVersions answer."""
    return [
        ApiVersion(api_key=key, min_version=reg.min_version, max_version=reg.max_version)
        for key, reg in sorted(HANDLERS.items())
    ]


def unsupported_api_versions_response() -> ApiVersionsResponse:
    """KIP-511: the answer to an ApiVersions request newer than ours (UNSUPPORTED_VERSION and our range
    of ApiVersions, sent in a v0 body); the connection answers it before any handler sees the request."""
    reg = HANDLERS[API_VERSIONS.key]
    return ApiVersionsResponse(
        error_code=ErrorCode.UNSUPPORTED_VERSION,
        api_keys=[ApiVersion(api_key=API_VERSIONS.key, min_version=reg.min_version, max_version=reg.max_version)],
    )
