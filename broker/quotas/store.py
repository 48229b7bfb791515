"""Where client quotas are kept, and DescribeClientQuotas's filter over them.

``ClientQuotaStore`` holds every entity's quota config in memory, by config path (``users/alice``,
``clients/<default>``: ``broker.quotas.entities``), values as the text Kafka stores. ``LogDirClientQuotaStore``
also writes them all to ``client-quotas.json`` in the first log dir through storage's atomic write,
as the SCRAM credentials are kept (single broker). In cluster mode
``broker.controller.zk.client_quotas.ZkClientQuotaStore`` takes its place: it writes
``/config/users/...`` and ``/config/clients/...`` with change notifications, and follows them.

``changed`` callbacks run after every change (the quota manager drops rates whose quota went).
Not thread-safe: the broker's event loop owns it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from broker.quotas.entities import (
    ABSENT,
    CLIENT_ID,
    QUOTA_KEYS,
    USER,
    Entity,
    InvalidQuota,
    UnsupportedEntityType,
    path_entity,
    quota_values,
)
from storage.fs import REAL_FS, FileSystem

FILE_NAME = "client-quotas.json"
MATCH_EXACT, MATCH_DEFAULT, MATCH_ANY = 0, 1, 2


class ClientQuotaStore:
    def __init__(self) -> None:
        self.configs: dict[str, dict[str, str]] = {}  # config path -> quota key -> value text
        self.listeners: list[Callable[[], None]] = []

    def alter(self, changes: Mapping[str, Mapping[str, str | None]]) -> None:
        """Apply one request's changes (None removes a key) at once, then persist the paths changed."""
        for path, ops in changes.items():
            config = self.configs.setdefault(path, {})
            for key, value in ops.items():
                if value is None:
                    config.pop(key, None)
                else:
                    config[key] = value
            if not config:
                del self.configs[path]
        self._persist(set(changes))
        self._changed()

    def replace(self, path: str, config: Mapping[str, object] | None) -> None:
        """Set one entity's quotas from its config node (None: removed); keys other than quotas ignored."""
        values = {k: str(v) for k, v in (config or {}).items() if k in QUOTA_KEYS}
        if values:
            self.configs[path] = values
        else:
            self.configs.pop(path, None)
        self._changed()

    def _changed(self) -> None:
        for listener in self.listeners:
            listener()

    def _persist(self, paths: set[str]) -> None:
        """Where the quotas are kept; in memory only here."""

    async def persisted(self) -> None:
        """Wait until every change so far is kept (a ZooKeeper store writes after ``alter`` returns)."""


class LogDirClientQuotaStore(ClientQuotaStore):
    def __init__(self, log_dir: str, fs: FileSystem = REAL_FS) -> None:
        super().__init__()
        self.path = os.path.join(log_dir, FILE_NAME)
        self.fs = fs

    def load(self) -> None:
        """Read the file if there is one; a file that cannot be read is an error (never silently empty)."""
        try:
            with open(self.path, encoding="utf-8") as f:
                documents = json.load(f)
        except FileNotFoundError:
            return
        for path, document in documents.items():
            self.replace(path, document.get("config"))

    def _persist(self, paths: set[str]) -> None:
        data = {path: {"version": 1, "config": config} for path, config in sorted(self.configs.items())}
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self.fs.write_file_atomically(self.path, json.dumps(data, indent=1, sort_keys=True).encode())


@dataclass(frozen=True, slots=True)
class Component:
    entity_type: str
    match_type: int
    match: str | None


def check_filter(components: Iterable[Component]) -> dict[str, Component]:
    """A DescribeClientQuotas filter by entity type, or InvalidQuota / UnsupportedEntityType as Kafka
    refuses it (a duplicate or empty type, an exact match without a name, an unknown match type)."""
    by_type: dict[str, Component] = {}
    for component in components:
        if component.entity_type == "":
            raise InvalidQuota("Unexpected empty filter component entity type")
        if component.entity_type not in (USER, CLIENT_ID):
            raise UnsupportedEntityType(f"Custom entity type '{component.entity_type}' not supported")
        if component.entity_type in by_type:
            kind = "user" if component.entity_type == USER else "client"
            raise InvalidQuota(f"Duplicate {kind} filter component entity type")
        if component.match_type not in (MATCH_EXACT, MATCH_DEFAULT, MATCH_ANY):
            raise InvalidQuota(f"Unexpected match type: {component.match_type}")
        if component.match_type == MATCH_EXACT and component.match is None:
            raise InvalidQuota(f"Unexpected null match for an exact {component.entity_type} filter component")
        by_type[component.entity_type] = component
    return by_type


def describe(
    configs: Mapping[str, Mapping[str, str]], by_type: Mapping[str, Component], strict: bool
) -> list[tuple[Entity, dict[str, float]]]:
    """The entities matching the filter, with their quota values (entities with none left out)."""
    found = []
    for path, config in sorted(configs.items()):
        entity = path_entity(path)
        values = quota_values(config)
        if entity is None or not values:
            continue
        if all(
            _matches(by_type.get(t), value, strict) for t, value in ((USER, entity.user), (CLIENT_ID, entity.client_id))
        ):
            found.append((entity, values))
    return found


def _matches(component: Component | None, value: str | bool | None, strict: bool) -> bool:
    if component is None:
        return not strict or value is ABSENT
    if value is ABSENT:
        return False
    if component.match_type == MATCH_EXACT:
        return value == component.match
    if component.match_type == MATCH_DEFAULT:
        return value is None
    return True
