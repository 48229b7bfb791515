"""ACLs in ZooKeeper, in Kafka's ZooKeeper-era ``AclAuthorizer`` layout, followed by every broker.

- LITERAL patterns: ``/kafka-acl/<ResourceType>/<name>``; PREFIXED: ``/kafka-acl-extended/prefixed/
  <ResourceType>/<name>``; each holds ``{"version":1,"acls":[...]}`` (``broker.security.acl_store``).
- After a change, a sequential ``/kafka-acl-changes/acl_changes_`` node (data ``Topic:name``) for a
  literal pattern, or ``/kafka-acl-extended-changes/acl_changes_`` (JSON with ``resourceType``, ``name``,
  ``patternType``) for a prefixed one. Every broker watches both and re-reads the ACLs, so an ACL created
  through one broker is enforced by all; a new session re-reads them too (watches die with sessions).
  Notifications older than 15 minutes are deleted, as Kafka's brokers delete them.

A resource's znode is read-modify-written with its version, so ACLs changed through several brokers at
once are all kept (Kafka's conditional updates); after it, each broker re-reads every ACL znode.

Not thread-safe: the broker's event loop owns it; kazoo's threads come back through ``ZkClient``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time

from kazoo.exceptions import BadVersionError, NodeExistsError, NoNodeError

from broker.security.acl import AccessControlEntry, AclBinding, Authorizer, PatternType, ResourcePattern
from broker.security.acl_store import (
    TYPE_NAMES,
    TYPES_BY_NAME,
    AclDocumentError,
    AclStore,
    decode_entries,
    encode_entries,
    group_by_pattern,
)

from .client import ZkClient
from .watcher import ZkWatchedRead

log = logging.getLogger(__name__)

LITERAL_ROOT = "/kafka-acl"
PREFIXED_ROOT = "/kafka-acl-extended/prefixed"
LITERAL_CHANGES = "/kafka-acl-changes"
EXTENDED_CHANGES = "/kafka-acl-extended-changes"
CHANGE_PREFIX = "acl_changes_"
CHANGE_EXPIRATION_MS = 15 * 60 * 1000  # Kafka's ZkNodeChangeNotificationListener.changeExpirationMs
ROOTS = {PatternType.LITERAL: LITERAL_ROOT, PatternType.PREFIXED: PREFIXED_ROOT}


def acl_path(pattern: ResourcePattern) -> str:
    return f"{ROOTS[pattern.pattern_type]}/{TYPE_NAMES[pattern.resource_type]}/{pattern.name}"


def change_notification(pattern: ResourcePattern) -> tuple[str, bytes]:
    """The change path prefix and data Kafka writes for a change of ``pattern``'s ACLs."""
    if pattern.pattern_type == PatternType.LITERAL:
        return f"{LITERAL_CHANGES}/{CHANGE_PREFIX}", f"{TYPE_NAMES[pattern.resource_type]}:{pattern.name}".encode()
    document = {
        "version": 1,
        "resourceType": TYPE_NAMES[pattern.resource_type],
        "name": pattern.name,
        "patternType": pattern.pattern_type.name,
    }
    return f"{EXTENDED_CHANGES}/{CHANGE_PREFIX}", json.dumps(document, separators=(",", ":")).encode()


class ZkAclStore(AclStore):
    def __init__(self, zk: ZkClient, authorizer: Authorizer) -> None:
        super().__init__(authorizer)
        self.zk = zk
        self._reads = ZkWatchedRead(zk, "the ACLs", self._read_all)

    async def start(self) -> None:
        for path in (LITERAL_ROOT, PREFIXED_ROOT, LITERAL_CHANGES, EXTENDED_CHANGES):
            await self.zk.ensure_path(path)
        await self._read_all()
        self._reads.start()

    async def close(self) -> None:
        await self._reads.close()

    async def _persist(self, added: set[AclBinding], removed: set[AclBinding]) -> None:
        """Each changed resource's znode, read-modify-written with its version (as Kafka's conditional
        updates), so changes made at once through several brokers are all kept; then a notification."""
        adding, removing = group_by_pattern(added), group_by_pattern(removed)
        for pattern in sorted(set(adding) | set(removing), key=lambda p: (p.pattern_type, p.resource_type, p.name)):
            await self._update(pattern, set(adding.get(pattern, ())), set(removing.get(pattern, ())))
            prefix, note = change_notification(pattern)
            await self.zk.create(prefix, note, sequence=True)

    async def _update(
        self, pattern: ResourcePattern, add: set[AccessControlEntry], remove: set[AccessControlEntry]
    ) -> None:
        path = acl_path(pattern)
        while True:
            try:
                data, stat = await self.zk.get(path)
                version: int | None = stat.version
                try:
                    current = set(decode_entries(data))
                except AclDocumentError as exc:
                    log.error("replacing the unreadable ACLs of %s: %s", path, exc)
                    current = set()
            except NoNodeError:
                version, current = None, set()
            entries = (current | add) - remove
            try:
                if version is None:
                    if entries:
                        await self.zk.ensure_path(path.rsplit("/", 1)[0])
                        await self.zk.create(path, encode_entries(entries))
                elif entries:
                    await self.zk.set(path, encode_entries(entries), version)
                else:
                    await self.zk.delete(path, version)
                return
            except (BadVersionError, NodeExistsError, NoNodeError):
                continue  # another broker changed it meanwhile: read again

    # -- following the other brokers' changes (``_reads`` runs this at every watch and new session) ------
    async def _read_all(self) -> None:
        """Watch both change paths, then read every ACL znode and make them the authorizer's set."""
        for changes in (LITERAL_CHANGES, EXTENDED_CHANGES):
            children = await self.zk.get_children(changes, watch=self._reads.watch)
            await self._purge(changes, children)
        bindings: list[AclBinding] = []
        for pattern_type, root in ROOTS.items():
            for type_name in await _children(self.zk, root):
                resource_type = TYPES_BY_NAME.get(type_name)
                if resource_type is None:
                    continue
                for name in await _children(self.zk, f"{root}/{type_name}"):
                    pattern = ResourcePattern(resource_type, name, pattern_type)
                    path = acl_path(pattern)
                    try:
                        data, _ = await self.zk.get(path)
                        bindings += [AclBinding(pattern, e) for e in decode_entries(data)]
                    except NoNodeError:
                        continue
                    except AclDocumentError as exc:
                        log.error("ignoring the ACLs of %s: %s", path, exc)
        if set(bindings) != self.authorizer.bindings:
            self.authorizer.replace(bindings)
            log.info("ACLs now: %d bindings", len(bindings))

    async def _purge(self, changes: str, children: list[str]) -> None:
        """Delete the notifications older than Kafka's 15 minutes, oldest first (every broker may)."""
        cutoff_ms = time.time() * 1000 - CHANGE_EXPIRATION_MS
        for child in sorted(children):
            path = f"{changes}/{child}"
            stat = await self.zk.exists(path)
            if stat is not None and stat.ctime >= cutoff_ms:
                return
            with contextlib.suppress(NoNodeError):
                await self.zk.delete(path)


async def _children(zk: ZkClient, path: str) -> list[str]:
    try:
        return sorted(await zk.get_children(path))
    except NoNodeError:
        return []
