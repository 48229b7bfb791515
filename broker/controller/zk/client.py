"""An asyncio face on kazoo: one ZooKeeper session, its state changes and watches delivered on the loop.

kazoo runs its own threads (a connection thread and a callback thread). Nothing of it reaches the event
loop except through ``loop.call_soon_threadsafe``: operation results resolve asyncio futures there,
and session state changes and watch events are calls of plain (non-async) callbacks there. So the
code above this module keeps the broker's rule: one event loop owns all state, no locks.

Semantics, as Kafka's ZooKeeperClient:
- ``start()`` waits up to ``zookeeper.connection.timeout.ms`` (default: the session timeout) for a
  session, else ``ZkConnectionTimeout`` with Kafka's message. A chroot in ``zookeeper.connect``
  (``host:port/kafka``) is created first if missing, through a session without the chroot.
- Operations wait out a lost connection or session: one that fails with ConnectionLoss or
  SessionExpired is sent again once connected again (as Kafka holds requests while it opens a new
  session). So an operation can land in a newer session than the one it was issued in; code that
  cares (an ephemeral's owner, a controller's epoch) checks that itself.
- ``SUSPENDED``: the connection is lost, the session (and its ephemeral znodes) may survive.
  ``EXPIRED``: the session is gone with its ephemerals; kazoo then opens a new session by itself and
  ``CONNECTED`` follows with a new ``session_id``. Watches do not survive either (kazoo fires them with
  an event of type NONE and forgets them): owners re-read and re-arm on the next ``CONNECTED``.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from kazoo.client import KazooClient
from kazoo.exceptions import (
    ConnectionLoss,
    NodeExistsError,
    OperationTimeoutError,
    RolledBackError,
    SessionExpiredError,
)
from kazoo.protocol.states import KazooState, WatchedEvent, ZnodeStat
from kazoo.retry import KazooRetry

from broker.config import BrokerConfig

from .paths import parse_zookeeper_connect

log = logging.getLogger(__name__)
T = TypeVar("T")
Watch = Callable[[WatchedEvent], None]


class ZkSessionState(enum.Enum):
    CONNECTED = "CONNECTED"
    SUSPENDED = "SUSPENDED"  # connection lost; the session may still be alive
    EXPIRED = "EXPIRED"  # the session is gone, with every ephemeral znode it owned


class ZkConnectionTimeout(Exception):
    """No ZooKeeper session within zookeeper.connection.timeout.ms (Kafka's ZooKeeperClientTimeoutException)."""


class ZkClient:
    """One ZooKeeper session for one broker. Not thread-safe: use it from the event loop only."""

    def __init__(
        self,
        connect: str,
        session_timeout_ms: int = 18000,
        connection_timeout_ms: int | None = None,
        client_id: tuple[int, bytes] | None = None,
    ) -> None:
        self.connect = connect
        self.hosts_and_chroot = parse_zookeeper_connect(connect)
        self.session_timeout_ms = session_timeout_ms
        self.connection_timeout_ms = connection_timeout_ms if connection_timeout_ms is not None else session_timeout_ms
        self._client_id = client_id  # (session id, password): join an existing session (tests)
        self._kazoo: KazooClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connected = asyncio.Event()
        self._state = ZkSessionState.SUSPENDED
        self._listeners: list[Callable[[ZkSessionState], None]] = []
        self._watch_wrappers: dict[Watch, Callable[[WatchedEvent], None]] = {}
        self._closed = False

    # -- life cycle ------------------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        chroot = self.hosts_and_chroot.chroot
        if chroot is not None:
            root = ZkClient(self.hosts_and_chroot.hosts, self.session_timeout_ms, self.connection_timeout_ms)
            await root.start()
            try:
                await root.ensure_path(chroot)
            finally:
                await root.close()
        self._kazoo = KazooClient(
            hosts=self.connect,
            timeout=self.session_timeout_ms / 1000,
            client_id=self._client_id,
            connection_retry=KazooRetry(max_tries=-1, delay=0.05, backoff=2, max_delay=1.0),
            logger=logging.getLogger("kazoo.client"),
        )
        self._kazoo.add_listener(self._on_kazoo_state)
        self._kazoo.start_async()
        try:
            await asyncio.wait_for(self._connected.wait(), self.connection_timeout_ms / 1000)
        except TimeoutError:
            await self.close()
            raise ZkConnectionTimeout(
                f"Timed out waiting for connection to {self.connect} while in state: CONNECTING"
            ) from None
        log.info("ZooKeeper session 0x%x established with %s", self.session_id, self.connect)

    async def close(self) -> None:
        """End the session cleanly: its ephemeral znodes go at once."""
        self._closed = True
        kazoo, self._kazoo = self._kazoo, None
        if kazoo is not None:
            await asyncio.to_thread(_stop_and_close, kazoo)
        self._connected.clear()

    @property
    def session_id(self) -> int:
        return int(self.kazoo.client_id[0]) if self.kazoo.client_id else 0

    @property
    def session_password(self) -> bytes:
        return bytes(self.kazoo.client_id[1]) if self.kazoo.client_id else b""

    @property
    def state(self) -> ZkSessionState:
        return self._state

    @property
    def kazoo(self) -> KazooClient:
        if self._kazoo is None:
            raise RuntimeError("ZooKeeper client is not started")
        return self._kazoo

    def add_state_listener(self, listener: Callable[[ZkSessionState], None]) -> None:
        """``listener(state)`` runs on the event loop at every session state change."""
        self._listeners.append(listener)

    def remove_state_listener(self, listener: Callable[[ZkSessionState], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    async def wait_connected(self) -> None:
        await self._connected.wait()

    # -- from kazoo's threads to the loop --------------------------------------------------------------
    def _to_loop(self, fn: Callable[..., Any], *args: Any) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody is listening any more
            loop.call_soon_threadsafe(fn, *args)

    def _on_kazoo_state(self, state: str) -> None:  # kazoo's thread
        mapped = {
            KazooState.CONNECTED: ZkSessionState.CONNECTED,
            KazooState.SUSPENDED: ZkSessionState.SUSPENDED,
            KazooState.LOST: ZkSessionState.EXPIRED,
        }[state]
        self._to_loop(self._state_changed, mapped)

    def _state_changed(self, state: ZkSessionState) -> None:  # the loop
        if self._closed:
            return
        self._state = state
        if state is ZkSessionState.CONNECTED:
            self._connected.set()
        else:
            self._connected.clear()
        log.info("ZooKeeper session state %s (%s)", state.value, self.connect)
        for listener in list(self._listeners):
            try:
                listener(state)
            except Exception:
                log.exception("ZooKeeper state listener failed")

    def _watch(self, watch: Watch | None) -> Callable[[WatchedEvent], None] | None:
        """The same kazoo-side function for the same loop-side watch, so kazoo keeps one per path."""
        if watch is None:
            return None
        wrapper = self._watch_wrappers.get(watch)
        if wrapper is None:

            def wrapper(event: WatchedEvent, watch: Watch = watch) -> None:
                self._to_loop(watch, event)

            self._watch_wrappers[watch] = wrapper
        return wrapper

    async def _call(self, start: Callable[[], Any]) -> Any:
        """Run one kazoo ``*_async`` call; on ConnectionLoss wait for the connection and retry."""
        while True:
            loop = asyncio.get_running_loop()
            future: asyncio.Future[Any] = loop.create_future()

            def done(result: Any, future: asyncio.Future[Any] = future) -> None:  # kazoo's thread
                self._to_loop(_resolve, future, result)

            start().rawlink(done)
            try:
                return await future
            except (ConnectionLoss, OperationTimeoutError, SessionExpiredError):
                if self._closed:
                    raise
                await self._connected.wait()

    # -- operations ------------------------------------------------------------------------------------
    async def get(self, path: str, watch: Watch | None = None) -> tuple[bytes | None, ZnodeStat]:
        result: tuple[bytes | None, ZnodeStat] = await self._call(
            lambda: self.kazoo.get_async(path, watch=self._watch(watch))
        )
        return result

    async def get_children(self, path: str, watch: Watch | None = None) -> list[str]:
        result: list[str] = await self._call(lambda: self.kazoo.get_children_async(path, watch=self._watch(watch)))
        return result

    async def exists(self, path: str, watch: Watch | None = None) -> ZnodeStat | None:
        result: ZnodeStat | None = await self._call(lambda: self.kazoo.exists_async(path, watch=self._watch(watch)))
        return result

    async def create(
        self, path: str, data: bytes | None = None, *, ephemeral: bool = False, sequence: bool = False
    ) -> str:
        result: str = await self._call(
            lambda: self.kazoo.create_async(path, data or b"", ephemeral=ephemeral, sequence=sequence)
        )
        return result

    async def set(self, path: str, data: bytes, version: int = -1) -> ZnodeStat:
        result: ZnodeStat = await self._call(lambda: self.kazoo.set_async(path, data, version))
        return result

    async def delete(self, path: str, version: int = -1) -> None:
        await self._call(lambda: self.kazoo.delete_async(path, version))

    async def ensure_path(self, path: str) -> None:
        """Create ``path`` and its parents, without data, where missing (Kafka's createRecursive)."""
        if path in ("", "/"):
            return
        parts = path.strip("/").split("/")
        for depth in range(1, len(parts) + 1):
            prefix = "/" + "/".join(parts[:depth])
            if await self.exists(prefix) is None:
                with contextlib.suppress(NodeExistsError):
                    await self.create(prefix)

    async def multi(self, build: Callable[[Any], object]) -> list[Any]:
        """One ZooKeeper transaction: ``build(transaction)`` adds the operations. All or nothing: if one
        operation fails, its exception is raised (e.g. NodeExistsError, BadVersionError)."""

        def start() -> Any:
            transaction = self.kazoo.transaction()
            build(transaction)
            return transaction.commit_async()

        results: list[Any] = await self._call(start)
        failures = [r for r in results if isinstance(r, Exception) and not isinstance(r, RolledBackError)]
        if failures:
            raise failures[0]
        return results


def zk_client_for(config: BrokerConfig) -> ZkClient:
    """The session a broker opens from its configs (zookeeper.connect must be set)."""
    connect = config.get("zookeeper.connect")
    if not connect:
        raise ValueError("zookeeper.connect is not set: this broker runs without ZooKeeper")
    return ZkClient(connect, config.get("zookeeper.session.timeout.ms"), config.get("zookeeper.connection.timeout.ms"))


def _resolve(future: asyncio.Future[Any], result: Any) -> None:
    if future.done():
        return
    try:
        future.set_result(result.get_nowait())
    except Exception as e:  # kazoo hands every failure over as the result's exception
        future.set_exception(e)


def _stop_and_close(kazoo: KazooClient) -> None:
    try:
        kazoo.stop()
    finally:
        kazoo.close()
