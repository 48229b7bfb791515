"""SCRAM credentials in ZooKeeper, as Kafka's ZooKeeper-era brokers keep them, followed by every broker.

- Each user's credentials live in ``/config/users/<user>``: ``{"version":1,"config":{"SCRAM-SHA-256":
  "salt=...,stored_key=...,server_key=...,iterations=..."}}``; other keys there (quotas) are kept as
  they are when the credentials change.
- After a change, a ``/config/changes/config_change_`` notification ``{"version":2,"entity_path":
  "users/<user>"}``; every broker follows /config/changes and re-reads the users it names, so a user
  made through one broker can log in on all. A new session re-reads every user (watches die with it).

``alter`` (the base class's) changes memory at once; ``persisted`` waits until ZooKeeper holds it, and
the handler awaits it before answering. Not thread-safe: the broker's event loop owns it.
"""

from __future__ import annotations

import asyncio
import json
import logging

from kazoo.exceptions import NoNodeError

from broker.security.scram_store import ScramCredentialStore

from . import paths
from .client import ZkClient, ZkSessionState
from .config_changes import new_config_changes
from .watcher import ZkWatchedRead
from .znodes import encode_config_change

log = logging.getLogger(__name__)
USERS = "users"


class ZkScramStore(ScramCredentialStore):
    def __init__(self, zk: ZkClient) -> None:
        super().__init__()
        self.zk = zk
        self._writes: asyncio.Task[None] | None = None
        self._reads = ZkWatchedRead(zk, "SCRAM credentials", self._follow_changes)
        self._reread_users = False  # a new session: every user is read again, not only those named
        self._last_change = -1

    async def start(self) -> None:
        await self.zk.ensure_path(f"{paths.CONFIG}/{USERS}")
        await self.zk.ensure_path(paths.CONFIG_CHANGES)
        await self._read_changes(initial=True)
        for user in await self.zk.get_children(f"{paths.CONFIG}/{USERS}"):
            await self._read_user(user)
        self.zk.add_state_listener(self._on_session_state)

    async def close(self) -> None:
        self.zk.remove_state_listener(self._on_session_state)
        await self._reads.close()
        if self._writes is not None:
            self._writes.cancel()

    # -- writing -------------------------------------------------------------------------------------
    def _persist(self, users: set[str]) -> None:
        previous = self._writes

        async def write() -> None:
            if previous is not None:
                await asyncio.shield(previous)
            for user in sorted(users):
                await self._write_user(user)

        self._writes = asyncio.get_running_loop().create_task(write())

    async def persisted(self) -> None:
        if self._writes is not None:
            await asyncio.shield(self._writes)

    async def _write_user(self, user: str) -> None:
        path = paths.entity_config_path(USERS, user)
        try:
            data, _ = await self.zk.get(path)
            config = dict((json.loads(data) if data else {}).get("config") or {})
        except NoNodeError:
            config = {}
        config = {k: v for k, v in config.items() if not k.startswith("SCRAM-")}
        config.update({m: c.to_kafka_string() for m, c in self.mechanisms(user).items()})
        data = json.dumps({"version": 1, "config": config}, separators=(",", ":")).encode()
        try:
            await self.zk.set(path, data)
        except NoNodeError:
            await self.zk.create(path, data)
        await self.zk.create(paths.config_change_prefix(), encode_config_change(f"{USERS}/{user}"), sequence=True)

    # -- following -----------------------------------------------------------------------------------
    async def _read_user(self, user: str) -> None:
        path = paths.entity_config_path(USERS, user)
        try:
            data, _ = await self.zk.get(path)
            document = json.loads(data) if data else None
        except NoNodeError:
            document = None
        except ValueError as exc:
            log.error("ignoring the credentials of %s: %s", path, exc)
            return
        try:
            self.replace_user(user, document)
        except (ValueError, AssertionError) as exc:
            log.error("ignoring the credentials of %s: %s", path, exc)

    def _on_session_state(self, state: ZkSessionState) -> None:
        if state is ZkSessionState.CONNECTED:
            self._reread_users = True
            self._reads.schedule()

    async def _follow_changes(self) -> None:
        """Run by ``_reads`` at each new notification and new session."""
        reread_users, self._reread_users = self._reread_users, False
        await self._read_changes(initial=False)
        if reread_users:
            for user in await self.zk.get_children(f"{paths.CONFIG}/{USERS}"):
                await self._read_user(user)

    async def _read_changes(self, initial: bool) -> None:
        """The notifications newer than the last seen that name a user: re-read those users."""
        self._last_change, entities = await new_config_changes(self.zk, self._last_change, self._reads.watch, initial)
        for entity in entities:
            kind, _, name = entity.partition("/")
            if kind == USERS:
                await self._read_user(name)
