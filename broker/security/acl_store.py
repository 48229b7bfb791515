"""Where the ACLs are kept, and the ACL admin operations (create, describe, delete) over them.

Each resource pattern's entries are Kafka's znode document (``AclAuthorizer``'s JSON)::

    {"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow","operation":"Read","host":"*"}]}

``AclStore`` holds them in memory and feeds the ``Authorizer`` (the base, for in-process use);
``LogDirAclStore`` also writes them all to ``kafka-acls.json`` in the first log dir through storage's
atomic write (write-temp, fsync, rename), so a crash leaves the old set or the new one. In cluster mode
``broker.controller.zk.acls.ZkAclStore`` takes its place: ``/kafka-acl/<Type>/<name>`` (LITERAL),
``/kafka-acl-extended/prefixed/<Type>/<name>`` (PREFIXED) and change notifications every broker follows.

Not thread-safe: the broker's event loop owns it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable

from broker.security.acl import (
    AccessControlEntry,
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    Authorizer,
    PatternType,
    ResourcePattern,
    ResourceType,
)
from storage.fs import REAL_FS, FileSystem

FILE_NAME = "kafka-acls.json"

# Kafka's names in its JSON and znode paths (``ResourceType.toJava``'s ``name``, PascalCase).
TYPE_NAMES = {
    ResourceType.TOPIC: "Topic",
    ResourceType.GROUP: "Group",
    ResourceType.CLUSTER: "Cluster",
    ResourceType.TRANSACTIONAL_ID: "TransactionalId",
    ResourceType.DELEGATION_TOKEN: "DelegationToken",
    ResourceType.USER: "User",
}
TYPES_BY_NAME = {v: k for k, v in TYPE_NAMES.items()}
OPERATION_NAMES = {op: "".join(w.capitalize() for w in op.name.split("_")) for op in AclOperation}
OPERATIONS_BY_NAME = {v: k for k, v in OPERATION_NAMES.items()}
PERMISSION_NAMES = {AclPermissionType.ALLOW: "Allow", AclPermissionType.DENY: "Deny"}
PERMISSIONS_BY_NAME = {v: k for k, v in PERMISSION_NAMES.items()}


class AclDocumentError(ValueError):
    """A stored ACL document Kafka's format does not allow."""


def encode_entries(entries: Iterable[AccessControlEntry]) -> bytes:
    acls = [
        {
            "principal": e.principal,
            "permissionType": PERMISSION_NAMES[e.permission_type],
            "operation": OPERATION_NAMES[e.operation],
            "host": e.host,
        }
        for e in sorted(entries, key=lambda e: (e.principal, e.host, e.operation, e.permission_type))
    ]
    return json.dumps({"version": 1, "acls": acls}, separators=(",", ":")).encode()


def decode_entries(data: bytes | None) -> list[AccessControlEntry]:
    if not data:
        return []
    try:
        document = json.loads(data)
        return [
            AccessControlEntry(
                str(a["principal"]),
                str(a["host"]),
                OPERATIONS_BY_NAME[a["operation"]],
                PERMISSIONS_BY_NAME[a["permissionType"]],
            )
            for a in document.get("acls") or []
        ]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise AclDocumentError(f"not an ACL document: {data[:200]!r} ({exc!r})") from None


def group_by_pattern(bindings: Iterable[AclBinding]) -> dict[ResourcePattern, list[AccessControlEntry]]:
    grouped: dict[ResourcePattern, list[AccessControlEntry]] = {}
    for b in bindings:
        grouped.setdefault(b.pattern, []).append(b.entry)
    return grouped


class AclStore:
    def __init__(self, authorizer: Authorizer) -> None:
        self.authorizer = authorizer

    def describe(self, flt: AclBindingFilter) -> list[AclBinding]:
        return [b for b in self.authorizer.bindings if flt.matches(b)]

    async def create(self, bindings: list[AclBinding]) -> None:
        """Add ``bindings`` (already valid) and keep them; ones already present change nothing."""
        current = self.authorizer.bindings
        new = [b for b in bindings if b not in current]
        if not new:
            return
        self.authorizer.replace(current | set(new))
        await self._persist(set(new), set())

    async def delete(self, filters: list[AclBindingFilter]) -> list[list[AclBinding]]:
        """Remove what each filter matches; per filter, the bindings it removed."""
        current = self.authorizer.bindings
        removed = [sorted((b for b in current if f.matches(b)), key=_order) for f in filters]
        gone = {b for r in removed for b in r}
        if gone:
            self.authorizer.replace(current - gone)
            await self._persist(set(), gone)
        return removed

    async def _persist(self, added: set[AclBinding], removed: set[AclBinding]) -> None:
        """Keep a change (what was added, what was removed); in memory only here."""


class LogDirAclStore(AclStore):
    def __init__(self, authorizer: Authorizer, log_dir: str, fs: FileSystem = REAL_FS) -> None:
        super().__init__(authorizer)
        self.path = os.path.join(log_dir, FILE_NAME)
        self.fs = fs

    def load(self) -> None:
        """Read the file if there is one; a file that cannot be read is an error (never silently empty)."""
        try:
            with open(self.path, encoding="utf-8") as f:
                documents = json.load(f)
        except FileNotFoundError:
            return
        bindings = []
        try:
            for doc in documents:
                kind, pattern_type = TYPES_BY_NAME[doc["resourceType"]], PatternType[doc["patternType"]]
                pattern = ResourcePattern(kind, str(doc["name"]), pattern_type)
                entries = decode_entries(json.dumps(doc["document"]).encode())
                bindings += [AclBinding(pattern, e) for e in entries]
        except (KeyError, TypeError) as exc:
            raise AclDocumentError(f"{self.path}: not an ACL file ({exc!r})") from None
        self.authorizer.replace(bindings)

    async def _persist(self, added: set[AclBinding], removed: set[AclBinding]) -> None:
        grouped = group_by_pattern(self.authorizer.bindings)
        data = [
            {
                "resourceType": TYPE_NAMES[p.resource_type],
                "name": p.name,
                "patternType": p.pattern_type.name,
                "document": json.loads(encode_entries(entries)),
            }
            for p, entries in sorted(grouped.items(), key=lambda kv: (kv[0].resource_type, kv[0].name))
        ]
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self.fs.write_file_atomically(self.path, json.dumps(data, indent=1).encode())


def _order(b: AclBinding) -> tuple[int, str, int, str, str, int, int]:
    p, e = b.pattern, b.entry
    return (p.resource_type, p.name, p.pattern_type, e.principal, e.host, e.operation, e.permission_type)
