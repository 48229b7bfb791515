"""ACLs and the authorizer's decision, as Kafka's ZooKeeper-era ``AclAuthorizer`` decides: pure, no I/O.

Vocabulary and codes are Kafka's (``ResourceType``, ``PatternType``, ``AclOperation``,
``AclPermissionType``). An ``AclBinding`` is a resource pattern (type, name, LITERAL or PREFIXED) and an
entry (principal, host, operation, permission). ``Authorizer.authorize`` answers one question, "may
``principal`` from ``host`` do ``operation`` on the resource ``(type, name)``?", in Kafka's order:

1. a principal in ``super.users`` may do anything;
2. the ACLs that apply to the resource are its LITERAL ones, the LITERAL wildcard ``*`` of its type, and
   every PREFIXED one whose name is a prefix of the resource's name;
3. none at all (for anybody): allowed only with ``allow.everyone.if.no.acl.found``;
4. a DENY entry matching the principal (or ``User:*``), the host (or ``*``) and the operation (or ALL)
   denies, whatever ALLOW says;
5. else a matching ALLOW entry allows, where READ, WRITE, DELETE and ALTER imply DESCRIBE and
   ALTER_CONFIGS implies DESCRIBE_CONFIGS; else denied.

Decisions are cached per (principal, host, operation, type, name); every change of the ACLs (``replace``)
clears the cache. Not thread-safe: the broker's event loop owns it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

WILDCARD = "*"
WILDCARD_PRINCIPAL = "User:*"
CLUSTER_NAME = "kafka-cluster"
CACHE_LIMIT = 100_000
NOT_REQUESTED = -2147483648  # authorized_operations when the client did not ask (Kafka's Int32.MIN_VALUE)

# Kafka's ZooKeeper-era class names, and Kafka 4's (KRaft's StandardAuthorizer: the same decisions, so the
# configs written for a 4.x broker, as the client libraries' test fixtures are, start kafkish too).
AUTHORIZER_CLASSES = frozenset({
    "kafka.security.authorizer.AclAuthorizer",
    "kafka.security.auth.SimpleAclAuthorizer",
    "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
})  # fmt: skip


class ResourceType(enum.IntEnum):
    UNKNOWN = 0
    ANY = 1
    TOPIC = 2
    GROUP = 3
    CLUSTER = 4
    TRANSACTIONAL_ID = 5
    DELEGATION_TOKEN = 6
    USER = 7


class PatternType(enum.IntEnum):
    UNKNOWN = 0
    ANY = 1
    MATCH = 2
    LITERAL = 3
    PREFIXED = 4


class AclOperation(enum.IntEnum):
    UNKNOWN = 0
    ANY = 1
    ALL = 2
    READ = 3
    WRITE = 4
    CREATE = 5
    DELETE = 6
    ALTER = 7
    DESCRIBE = 8
    CLUSTER_ACTION = 9
    DESCRIBE_CONFIGS = 10
    ALTER_CONFIGS = 11
    IDEMPOTENT_WRITE = 12
    CREATE_TOKENS = 13
    DESCRIBE_TOKENS = 14


class AclPermissionType(enum.IntEnum):
    UNKNOWN = 0
    ANY = 1
    DENY = 2
    ALLOW = 3


Op = AclOperation
RT = ResourceType

# The operations each resource type supports (Kafka's AclEntry.supportedOperations): the bits of an
# authorized-operations answer.
SUPPORTED_OPERATIONS: dict[ResourceType, tuple[AclOperation, ...]] = {
    RT.TOPIC: (Op.READ, Op.WRITE, Op.CREATE, Op.DESCRIBE, Op.DELETE, Op.ALTER, Op.DESCRIBE_CONFIGS, Op.ALTER_CONFIGS),
    RT.GROUP: (Op.READ, Op.DESCRIBE, Op.DELETE),
    RT.CLUSTER: (
        Op.CREATE,
        Op.CLUSTER_ACTION,
        Op.DESCRIBE_CONFIGS,
        Op.ALTER_CONFIGS,
        Op.IDEMPOTENT_WRITE,
        Op.ALTER,
        Op.DESCRIBE,
    ),
    RT.TRANSACTIONAL_ID: (Op.DESCRIBE, Op.WRITE),
    RT.DELEGATION_TOKEN: (Op.DESCRIBE,),
}

# An ALLOW of any of these operations also allows the key (Kafka: "implicitly allowed").
_IMPLIED_BY: dict[AclOperation, frozenset[AclOperation]] = {
    Op.DESCRIBE: frozenset({Op.DESCRIBE, Op.READ, Op.WRITE, Op.DELETE, Op.ALTER}),
    Op.DESCRIBE_CONFIGS: frozenset({Op.DESCRIBE_CONFIGS, Op.ALTER_CONFIGS}),
}


@dataclass(frozen=True, slots=True)
class ResourcePattern:
    resource_type: ResourceType
    name: str
    pattern_type: PatternType


@dataclass(frozen=True, slots=True)
class AccessControlEntry:
    principal: str
    host: str
    operation: AclOperation
    permission_type: AclPermissionType


@dataclass(frozen=True, slots=True)
class AclBinding:
    pattern: ResourcePattern
    entry: AccessControlEntry


@dataclass(frozen=True, slots=True)
class AclBindingFilter:
    """What DescribeAcls and DeleteAcls select by (None: any name, principal or host)."""

    resource_type: ResourceType
    name: str | None
    pattern_type: PatternType
    principal: str | None
    host: str | None
    operation: AclOperation
    permission_type: AclPermissionType

    def invalid_reason(self) -> str | None:
        """Why Kafka refuses this filter (INVALID_REQUEST), or None."""
        unknown = (
            self.resource_type == RT.UNKNOWN
            or self.pattern_type == PatternType.UNKNOWN
            or self.operation == Op.UNKNOWN
            or self.permission_type == AclPermissionType.UNKNOWN
        )
        return "The filter contains UNKNOWN elements" if unknown else None

    def matches(self, binding: AclBinding) -> bool:
        p, e = binding.pattern, binding.entry
        if self.resource_type != RT.ANY and self.resource_type != p.resource_type:
            return False
        if self.pattern_type not in (PatternType.ANY, PatternType.MATCH) and self.pattern_type != p.pattern_type:
            return False
        if self.name is not None:
            if self.pattern_type in (PatternType.ANY, p.pattern_type):
                if self.name != p.name:
                    return False
            elif p.pattern_type == PatternType.LITERAL:
                if self.name != p.name and p.name != WILDCARD:
                    return False
            elif not self.name.startswith(p.name):
                return False
        if self.principal is not None and self.principal != e.principal:
            return False
        if self.host is not None and self.host != e.host:
            return False
        if self.operation != Op.ANY and self.operation != e.operation:
            return False
        return self.permission_type == AclPermissionType.ANY or self.permission_type == e.permission_type


def invalid_binding_reason(binding: AclBinding) -> str | None:
    """Why CreateAcls refuses this binding (INVALID_REQUEST), or None."""
    p, e = binding.pattern, binding.entry
    if p.resource_type in (RT.UNKNOWN, RT.ANY) or p.pattern_type not in (PatternType.LITERAL, PatternType.PREFIXED):
        return "ACL binding contains unknown or filter elements"
    if e.operation in (Op.UNKNOWN, Op.ANY) or e.permission_type not in (
        AclPermissionType.ALLOW,
        AclPermissionType.DENY,
    ):
        return "ACL binding contains unknown or filter elements"
    if not p.name:
        return "Invalid empty resource name"
    if p.resource_type == RT.CLUSTER and p.name != CLUSTER_NAME:
        return f"The only valid name for the CLUSTER resource is {CLUSTER_NAME}"
    kind, sep, name = e.principal.partition(":")
    if not sep or not kind or not name:
        return f"Could not parse principal from `{e.principal}` (no colon is found)"
    return None


def parse_super_users(text: str) -> frozenset[str]:
    """``super.users``: principals separated by ``;`` (``User:a;User:b``)."""
    return frozenset(p.strip() for p in (text or "").split(";") if p.strip())


class Authorizer:
    """Kafka's AclAuthorizer decision over a set of bindings, with a decision cache."""

    def __init__(self, super_users: Iterable[str] = (), allow_if_no_acl: bool = False) -> None:
        self.super_users = frozenset(super_users)
        self.allow_if_no_acl = allow_if_no_acl
        self._literal: dict[tuple[ResourceType, str], list[AccessControlEntry]] = {}
        self._prefixed: dict[ResourceType, dict[str, list[AccessControlEntry]]] = {}
        self._bindings: frozenset[AclBinding] = frozenset()
        self._cache: dict[tuple[str, str, AclOperation, ResourceType, str], bool] = {}

    @property
    def bindings(self) -> frozenset[AclBinding]:
        return self._bindings

    def replace(self, bindings: Iterable[AclBinding]) -> None:
        """The full set of ACLs is now ``bindings``; every cached decision is dropped."""
        self._bindings = frozenset(bindings)
        self._literal, self._prefixed = {}, {}
        for b in self._bindings:
            p = b.pattern
            if p.pattern_type == PatternType.PREFIXED:
                self._prefixed.setdefault(p.resource_type, {}).setdefault(p.name, []).append(b.entry)
            else:
                self._literal.setdefault((p.resource_type, p.name), []).append(b.entry)
        self._cache.clear()

    def matching_entries(self, resource_type: ResourceType, name: str) -> list[AccessControlEntry]:
        entries = list(self._literal.get((resource_type, name), ()))
        if name != WILDCARD:
            entries += self._literal.get((resource_type, WILDCARD), ())
        for prefix, prefixed in self._prefixed.get(resource_type, {}).items():
            if name.startswith(prefix):
                entries += prefixed
        return entries

    def authorize(
        self, principal: str, host: str, operation: AclOperation, resource_type: ResourceType, name: str
    ) -> bool:
        key = (principal, host, operation, resource_type, name)
        decision = self._cache.get(key)
        if decision is None:
            decision = self._decide(principal, host, operation, resource_type, name)
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = decision
        return decision

    def allows_any(self, principal: str, host: str, operation: AclOperation, resource_type: ResourceType) -> bool:
        """Kafka's ``authorizeByResourceType`` (simplified): may the principal do ``operation`` on some
        resource of the type? A super user, an ALLOW of the operation (or ALL) on any pattern not
        cancelled by a DENY on the wildcard, or no ACL of the type at all with allow.everyone."""
        if principal in self.super_users:
            return True
        of_type = [b for b in self._bindings if b.pattern.resource_type == resource_type]
        if not of_type:
            return self.allow_if_no_acl
        mine = [
            b
            for b in of_type
            if b.entry.principal in (principal, WILDCARD_PRINCIPAL) and b.entry.host in (host, WILDCARD)
        ]
        ops = (operation, Op.ALL)
        if any(
            b.entry.permission_type == AclPermissionType.DENY and b.entry.operation in ops
            and b.pattern.pattern_type == PatternType.LITERAL and b.pattern.name == WILDCARD
            for b in mine
        ):  # fmt: skip
            return False
        return any(b.entry.permission_type == AclPermissionType.ALLOW and b.entry.operation in ops for b in mine)

    def authorized_operations(self, principal: str, host: str, resource_type: ResourceType, name: str) -> int:
        """The bitmask of the operations of the resource's type ``principal`` may do (bit = operation code)."""
        mask = 0
        for op in SUPPORTED_OPERATIONS.get(resource_type, ()):
            if self.authorize(principal, host, op, resource_type, name):
                mask |= 1 << op
        return mask

    def _decide(
        self, principal: str, host: str, operation: AclOperation, resource_type: ResourceType, name: str
    ) -> bool:
        if principal in self.super_users:
            return True
        entries = self.matching_entries(resource_type, name)
        if not entries:
            return self.allow_if_no_acl
        mine = [e for e in entries if e.principal in (principal, WILDCARD_PRINCIPAL) and e.host in (host, WILDCARD)]
        if any(e.permission_type == AclPermissionType.DENY and e.operation in (operation, Op.ALL) for e in mine):
            return False
        allowing = _IMPLIED_BY.get(operation, frozenset({operation}))
        return any(
            e.permission_type == AclPermissionType.ALLOW and (e.operation == Op.ALL or e.operation in allowing)
            for e in mine
        )


def all_operations_mask(resource_type: ResourceType) -> int:
    """The bitmask without an authorizer: every supported operation (Kafka answers so)."""
    mask = 0
    for op in SUPPORTED_OPERATIONS.get(resource_type, ()):
        mask |= 1 << op
    return mask
