"""Client quotas in ZooKeeper, as Kafka's ZooKeeper-era brokers keep them, followed by every broker.

- An entity's quotas live in its config node: ``/config/users/<user>``,
  ``/config/users/<user>/clients/<client-id>``, ``/config/clients/<client-id>`` (sanitized names,
  ``<default>`` for a default), as ``{"version":1,"config":{"producer_byte_rate":"1024"}}``. A user's
  node also holds its SCRAM credentials (``broker.controller.zk.scram``): a write keeps the keys that
  are not quotas, as the SCRAM store keeps the quotas.
- After a change, a ``/config/changes/config_change_`` notification ``{"version":2,"entity_path":
  "users/<user>/clients/<client-id>"}`` (what Kafka 2.4.1's ``kafka-configs.sh --zookeeper`` writes
  too); every broker follows /config/changes and re-reads the entities named. A new session re-reads
  them all (watches die with it).

``alter`` changes memory at once; ``persisted`` waits until ZooKeeper holds it. Not thread-safe: the
broker's event loop owns it.
"""

from __future__ import annotations

import asyncio
import json
import logging

from kazoo.exceptions import BadVersionError, NodeExistsError, NoNodeError

from broker.quotas.entities import QUOTA_KEYS, path_entity
from broker.quotas.store import ClientQuotaStore

from . import paths
from .client import ZkClient, ZkSessionState
from .config_changes import new_config_changes
from .watcher import ZkWatchedRead
from .znodes import encode_config_change

log = logging.getLogger(__name__)
USERS, CLIENTS = "users", "clients"


class ZkClientQuotaStore(ClientQuotaStore):
    def __init__(self, zk: ZkClient) -> None:
        super().__init__()
        self.zk = zk
        self._writes: asyncio.Task[None] | None = None
        self._reads = ZkWatchedRead(zk, "client quotas", self._follow_changes)
        self._reread_all = False  # a new session: every entity is read again, not only those named
        self._last_change = -1

    async def start(self) -> None:
        for kind in (USERS, CLIENTS):
            await self.zk.ensure_path(f"{paths.CONFIG}/{kind}")
        await self.zk.ensure_path(paths.CONFIG_CHANGES)
        await self._read_changes(initial=True)
        await self._read_all()
        self.zk.add_state_listener(self._on_session_state)

    async def close(self) -> None:
        self.zk.remove_state_listener(self._on_session_state)
        await self._reads.close()
        if self._writes is not None:
            self._writes.cancel()

    # -- writing -------------------------------------------------------------------------------------
    def _persist(self, paths_changed: set[str]) -> None:
        previous = self._writes
        wanted = {path: dict(self.configs.get(path, {})) for path in paths_changed}

        async def write() -> None:
            if previous is not None:
                await asyncio.shield(previous)
            for path, quotas in sorted(wanted.items()):
                await self._write(path, quotas)

        self._writes = asyncio.get_running_loop().create_task(write())

    async def persisted(self) -> None:
        if self._writes is not None:
            await asyncio.shield(self._writes)

    async def _write(self, entity_path: str, quotas: dict[str, str]) -> None:
        path = f"{paths.CONFIG}/{entity_path}"
        while True:  # read-modify-write of a node other writers share (SCRAM credentials): retried on a race
            try:
                data, stat = await self.zk.get(path)
                config = dict((json.loads(data) if data else {}).get("config") or {})
                version = stat.version
            except NoNodeError:
                config, version = {}, None
            config = {k: v for k, v in config.items() if k not in QUOTA_KEYS}
            config.update(quotas)
            data = json.dumps({"version": 1, "config": config}, separators=(",", ":")).encode()
            try:
                if version is None:
                    await self.zk.ensure_path(path.rsplit("/", 1)[0])
                    await self.zk.create(path, data)
                else:
                    await self.zk.set(path, data, version)
                break
            except (BadVersionError, NodeExistsError, NoNodeError):
                continue
        await self.zk.create(paths.config_change_prefix(), encode_config_change(entity_path), sequence=True)

    # -- following -----------------------------------------------------------------------------------
    async def _read_all(self) -> None:
        seen = set()
        for user in await self.zk.get_children(f"{paths.CONFIG}/{USERS}"):
            seen.add(f"{USERS}/{user}")
            await self._read(f"{USERS}/{user}")
            try:
                clients = await self.zk.get_children(f"{paths.CONFIG}/{USERS}/{user}/{CLIENTS}")
            except NoNodeError:
                clients = []
            for client in clients:
                seen.add(f"{USERS}/{user}/{CLIENTS}/{client}")
                await self._read(f"{USERS}/{user}/{CLIENTS}/{client}")
        for client in await self.zk.get_children(f"{paths.CONFIG}/{CLIENTS}"):
            seen.add(f"{CLIENTS}/{client}")
            await self._read(f"{CLIENTS}/{client}")
        for gone in set(self.configs) - seen:
            self.replace(gone, None)

    async def _read(self, entity_path: str) -> None:
        if path_entity(entity_path) is None:
            return
        path = f"{paths.CONFIG}/{entity_path}"
        try:
            data, _ = await self.zk.get(path)
            document = json.loads(data) if data else {}
        except NoNodeError:
            document = {}
        except ValueError as exc:
            log.error("ignoring the quotas of %s: %s", path, exc)
            return
        config = document.get("config") if isinstance(document, dict) else None
        self.replace(entity_path, config if isinstance(config, dict) else None)

    def _on_session_state(self, state: ZkSessionState) -> None:
        if state is ZkSessionState.CONNECTED:
            self._reread_all = True
            self._reads.schedule()

    async def _follow_changes(self) -> None:
        """Run by ``_reads`` at each new notification and new session; a notification that arrives
        while it runs makes it run once more (a dropped one left a broker on old quotas for good)."""
        reread_all, self._reread_all = self._reread_all, False
        await self._read_changes(initial=False)
        if reread_all:
            await self._read_all()

    async def _read_changes(self, initial: bool) -> None:
        """The notifications newer than the last seen that name a quota entity: re-read those."""
        self._last_change, entities = await new_config_changes(self.zk, self._last_change, self._reads.watch, initial)
        for entity in entities:
            await self._read(entity)
