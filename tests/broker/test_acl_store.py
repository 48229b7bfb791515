"""The log dir's ACL file: written atomically on every change, read back at start (a restarted broker
enforces the same ACLs), and a file that cannot be read is an error, never an empty set."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

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
from broker.security.acl_store import FILE_NAME, LogDirAclStore

READ = AccessControlEntry("User:alice", "*", AclOperation.READ, AclPermissionType.ALLOW)
DENY = AccessControlEntry("User:bob", "10.0.0.1", AclOperation.ALL, AclPermissionType.DENY)
ORDERS = ResourcePattern(ResourceType.TOPIC, "orders", PatternType.LITERAL)
TEAM = ResourcePattern(ResourceType.GROUP, "team-", PatternType.PREFIXED)
EVERYTHING = AclBindingFilter(
    ResourceType.ANY, None, PatternType.ANY, None, None, AclOperation.ANY, AclPermissionType.ANY
)


def test_acls_survive_a_restart_and_deletions_too(tmp_path: Path) -> None:
    store = LogDirAclStore(Authorizer(), str(tmp_path))
    bindings = [AclBinding(ORDERS, READ), AclBinding(TEAM, DENY), AclBinding(TEAM, READ)]
    asyncio.run(store.create(bindings))
    again = LogDirAclStore(Authorizer(), str(tmp_path))
    again.load()
    assert again.authorizer.bindings == set(bindings)
    assert again.authorizer.authorize("User:alice", "1.2.3.4", AclOperation.DESCRIBE, ResourceType.GROUP, "team-x")
    assert not again.authorizer.authorize("User:bob", "10.0.0.1", AclOperation.READ, ResourceType.GROUP, "team-x")
    team_only = AclBindingFilter(
        ResourceType.GROUP, None, PatternType.ANY, None, None, AclOperation.ANY, AclPermissionType.ANY
    )
    (removed,) = asyncio.run(again.delete([team_only]))
    assert set(removed) == {AclBinding(TEAM, DENY), AclBinding(TEAM, READ)}
    third = LogDirAclStore(Authorizer(), str(tmp_path))
    third.load()
    assert third.describe(EVERYTHING) == [AclBinding(ORDERS, READ)]
    document = json.loads((tmp_path / FILE_NAME).read_text())
    assert document[0]["document"] == {
        "version": 1,
        "acls": [{"principal": "User:alice", "permissionType": "Allow", "operation": "Read", "host": "*"}],
    }


def test_an_unreadable_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_text("{not json")
    with pytest.raises(ValueError):
        LogDirAclStore(Authorizer(), str(tmp_path)).load()


def test_a_file_of_unknown_resource_types_is_an_error(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_text('[{"resourceType": "Nope", "name": "x", "patternType": "LITERAL"}]')
    with pytest.raises(ValueError, match="not an ACL file"):
        LogDirAclStore(Authorizer(), str(tmp_path)).load()
