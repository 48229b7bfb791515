"""The ACL admin APIs' common part: wire values to ``broker.security.acl`` types, and Kafka's answer
when no authorizer is configured.

Codes outside what Kafka defines become UNKNOWN (Kafka's ``fromCode``), which validation then refuses
(INVALID_REQUEST).
"""

from __future__ import annotations

import enum
from typing import Protocol, TypeVar

from broker.security.acl import (
    AccessControlEntry,
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    PatternType,
    ResourcePattern,
    ResourceType,
)

NO_AUTHORIZER = "No Authorizer is configured on the broker"

E = TypeVar("E", bound=enum.IntEnum)


def code(kind: type[E], value: int) -> E:
    try:
        return kind(value)
    except ValueError:
        return kind(0)  # UNKNOWN


class WireFilter(Protocol):
    resource_type_filter: int
    resource_name_filter: str | None
    pattern_type_filter: int
    principal_filter: str | None
    host_filter: str | None
    operation: int
    permission_type: int


class WireCreation(Protocol):
    resource_type: int
    resource_name: str
    resource_pattern_type: int
    principal: str
    host: str
    operation: int
    permission_type: int


def to_filter(f: WireFilter) -> AclBindingFilter:
    return AclBindingFilter(
        code(ResourceType, f.resource_type_filter),
        f.resource_name_filter,
        code(PatternType, f.pattern_type_filter),
        f.principal_filter,
        f.host_filter,
        code(AclOperation, f.operation),
        code(AclPermissionType, f.permission_type),
    )


def to_binding(c: WireCreation) -> AclBinding:
    return AclBinding(
        ResourcePattern(
            code(ResourceType, c.resource_type), c.resource_name, code(PatternType, c.resource_pattern_type)
        ),
        AccessControlEntry(
            c.principal, c.host, code(AclOperation, c.operation), code(AclPermissionType, c.permission_type)
        ),
    )
