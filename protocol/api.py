"""An API pairs its request and response with the versions they share.

Each module of ``protocol.messages`` ends with one ``api(...)`` call, e.g.::

    METADATA = api(3, "Metadata", MetadataRequest, MetadataResponse, versions="0-12", flexible="9+")

which sets the version range and the flexible versions on both messages and registers the API by key.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.exceptions import UnknownApi
from protocol.schema import Struct, VersionRange


@dataclass(frozen=True, slots=True)
class Api:
    key: int
    name: str
    request: type[Struct]
    response: type[Struct]
    versions: VersionRange
    flexible: VersionRange | None

    @property
    def min_version(self) -> int:
        return self.versions.low

    @property
    def max_version(self) -> int:
        assert self.versions.high is not None
        return self.versions.high

    def is_flexible(self, version: int) -> bool:
        return self.flexible is not None and version in self.flexible

    def request_header_version(self, version: int) -> int:
        # ControlledShutdown v0 predates the client id: its header is v0, as in Kafka.
        if self.key == 7 and version == 0:
            return 0
        return 2 if self.is_flexible(version) else 1

    def response_header_version(self, version: int) -> int:
        # ApiVersions responses always use header v0, so a client can read the error of a version it
        # sent too new (KIP-511).
        if self.key == 18:
            return 0
        return 1 if self.is_flexible(version) else 0


APIS: dict[int, Api] = {}


def api(key: int, name: str, request: type[Struct], response: type[Struct], *, versions: str, flexible: str) -> Api:
    valid = VersionRange.parse(versions)
    if valid is None or valid.high is None:
        raise ValueError(f"{name}: versions must be a closed range, not {versions!r}")
    flex = VersionRange.parse(flexible)
    for cls, suffix in ((request, "Request"), (response, "Response")):
        cls.__kafka_versions__ = valid
        cls.__kafka_flexible__ = flex
        cls.__kafka_name__ = name + suffix
    entry = Api(key, name, request, response, valid, flex)
    if key in APIS and APIS[key] != entry:
        raise ValueError(f"API key {key} is defined twice ({APIS[key].name}, {name})")
    APIS[key] = entry
    return entry


def lookup(key: int) -> Api:
    try:
        return APIS[key]
    except KeyError:
        raise UnknownApi(f"unknown API key {key}") from None
