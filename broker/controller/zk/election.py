"""Controller election through the ephemeral /controller znode, as Kafka's ZooKeeper-era brokers elect.

Every broker runs one ``ZkControllerElection``. To win, a broker creates /controller (ephemeral, Kafka's
JSON) and bumps /controller_epoch in ONE transaction conditioned on the epoch znode's version: if another
broker won or moved the epoch meanwhile, nothing is written. The winner's new epoch and the epoch znode's
version (``epoch_zk_version``, for the zkVersion checks of its later writes) go to ``on_elected``.

Re-election, as Kafka's ControllerChangeHandler and session handler:
- /controller deleted (the controller's session ended): every broker tries again.
- /controller changed to another broker while we were controller: we resign.
- our session expired: a controller resigns at once (``on_resigned``); in the new session every broker
  tries again.
A /controller that cannot be decoded is logged and counts as "no known controller" (-1); nobody can win
until it is deleted, as in Kafka.

A controller's writes to ZooKeeper go through ``fenced_multi``: one transaction that also checks
/controller_epoch still has the version its election gave it, so a deposed controller that has not yet
noticed (a long pause, a lost session) writes nothing and gets ``ControllerMoved``, as Kafka's
controllerZkVersionCheck does.

All of it runs on the event loop; elections are serialised by a ``ZkWatchedRead`` of /controller, and
events that arrive while one runs only mark it to run once more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kazoo.exceptions import BadVersionError, NodeExistsError, NoNodeError

from . import paths
from .client import ZkClient, ZkSessionState
from .watcher import ZkWatchedRead
from .znodes import ZnodeDataError, decode_controller, decode_controller_epoch, encode_controller
from .znodes import encode_controller_epoch as _encode_epoch

log = logging.getLogger(__name__)
INITIAL_CONTROLLER_EPOCH = 1  # /controller_epoch is created holding 0, so the first controller has epoch 1
RETRY_BACKOFF_S = 1.0  # after a failed attempt (e.g. an unreadable /controller_epoch) while connected


class ControllerMoved(Exception):
    """This broker is no longer the controller: its write was refused (Kafka's ControllerMovedException)."""


@dataclass(frozen=True, slots=True)
class ControllerEpoch:
    epoch: int
    epoch_zk_version: int


class ZkControllerElection:
    def __init__(
        self,
        zk: ZkClient,
        broker_id: int,
        on_elected: Callable[[ControllerEpoch], None] | None = None,
        on_resigned: Callable[[], None] | None = None,
        on_controller_change: Callable[[int], None] | None = None,
    ) -> None:
        """Callbacks run on the event loop. ``on_controller_change(id)``: the active controller as this
        broker last read it (-1: none or unreadable)."""
        self._zk = zk
        self.broker_id = broker_id
        self._on_elected = on_elected
        self._on_resigned = on_resigned
        self._on_controller_change = on_controller_change
        self.active_controller_id = -1
        self.epoch: ControllerEpoch | None = None  # set while this broker is the controller
        self._reads = ZkWatchedRead(zk, paths.CONTROLLER, self._attempt)
        self._attempted = asyncio.Event()
        self._closed = False

    @property
    def is_controller(self) -> bool:
        return self.epoch is not None

    async def start(self) -> None:
        """Watch /controller and run for controller; returns after the first election attempt."""
        self._zk.add_state_listener(self._on_state)
        self._reads.start()
        await self._zk.ensure_path(paths.BROKERS)  # not needed for /controller, but a broker always has it
        self._reads.schedule()
        await self._attempted.wait()

    async def close(self) -> None:
        """Stop taking part; a controller resigns (its /controller goes with the session)."""
        self._closed = True
        self._zk.remove_state_listener(self._on_state)
        await self._reads.close()
        self._resign()

    async def fenced_multi(self, build: Callable[[Any], object]) -> list[Any]:
        """One transaction of the controller's writes, refused unless this broker's epoch still holds."""
        epoch = self.epoch
        if epoch is None:
            raise ControllerMoved(f"Broker {self.broker_id} is not the controller")
        return await fenced_multi(self._zk, epoch, build)

    # -- events ----------------------------------------------------------------------------------------
    def _on_state(self, state: ZkSessionState) -> None:
        if not self._closed and state is ZkSessionState.EXPIRED:  # CONNECTED: ``_reads`` reads and re-arms
            self._resign()
            self._set_active(-1)

    async def _attempt(self) -> None:
        try:
            await self._elect()
        except Exception as e:
            self._attempted.set()
            if self._zk.state is ZkSessionState.CONNECTED:
                log.exception("Controller election of broker %d failed; trying again", self.broker_id)
                self._reads.schedule()
                await asyncio.sleep(RETRY_BACKOFF_S)
            else:  # the next CONNECTED schedules us again
                log.info("Controller election of broker %d interrupted: %r", self.broker_id, e)
        self._attempted.set()

    # -- the election ----------------------------------------------------------------------------------
    async def _read_controller(self) -> int | None:
        """The active controller from /controller, arming the watch; None if there is none."""
        stat = await self._zk.exists(paths.CONTROLLER, watch=self._reads.watch)
        if stat is None:
            return None
        try:
            data, stat = await self._zk.get(paths.CONTROLLER)
        except NoNodeError:
            return None
        try:
            return decode_controller(data).broker_id
        except ZnodeDataError as e:
            log.error("Cannot tell the active controller: %s", e)
            return -1

    async def _elect(self) -> None:
        active = await self._read_controller()
        if active is not None:
            self._set_active(active)
            if active != self.broker_id:
                self._resign()
            return
        self._resign()  # /controller is gone: if it was ours, that reign is over whatever follows
        with contextlib.suppress(NodeExistsError):
            await self._zk.create(paths.CONTROLLER_EPOCH, _encode_epoch(INITIAL_CONTROLLER_EPOCH - 1))
        data, stat = await self._zk.get(paths.CONTROLLER_EPOCH)
        current = decode_controller_epoch(data)
        new_epoch = current + 1
        controller_data = encode_controller(self.broker_id, int(time.time() * 1000))
        try:
            _, epoch_stat = await self._zk.multi(
                lambda t: (
                    t.create(paths.CONTROLLER, controller_data, ephemeral=True),
                    t.set_data(paths.CONTROLLER_EPOCH, _encode_epoch(new_epoch), stat.version),
                )
            )
        except (NodeExistsError, BadVersionError):  # another broker won, or moved the epoch meanwhile
            active = await self._read_controller()
            self._set_active(-1 if active is None else active)
            if active is None:
                self._reads.schedule()  # it went away again already: run once more
            return
        # won: the state changes before the next await, so a session expiry seen meanwhile resigns it
        self.epoch = ControllerEpoch(new_epoch, int(epoch_stat.version))
        self._set_active(self.broker_id)
        log.info("Broker %d is the controller, epoch %d", self.broker_id, new_epoch)
        if self._on_elected is not None:
            self._on_elected(self.epoch)
        if await self._read_controller() != self.broker_id:  # arms the watch; gone already: look again
            self._reads.schedule()

    def _set_active(self, broker_id: int) -> None:
        if broker_id != self.active_controller_id:
            self.active_controller_id = broker_id
            if self._on_controller_change is not None:
                self._on_controller_change(broker_id)

    def _resign(self) -> None:
        if self.epoch is None:
            return
        log.info("Broker %d resigns as the controller of epoch %d", self.broker_id, self.epoch.epoch)
        self.epoch = None
        if self._on_resigned is not None:
            self._on_resigned()


async def fenced_multi(zk: ZkClient, epoch: ControllerEpoch, build: Callable[[Any], object]) -> list[Any]:
    """``build``'s operations in one transaction with a check of /controller_epoch's version first.
    The results are those of ``build``'s operations; ControllerMoved if the epoch moved on."""

    def fenced(transaction: Any) -> None:
        transaction.check(paths.CONTROLLER_EPOCH, epoch.epoch_zk_version)
        build(transaction)

    try:
        results = await zk.multi(fenced)
    except BadVersionError:
        stat = await zk.exists(paths.CONTROLLER_EPOCH)
        if stat is None or stat.version != epoch.epoch_zk_version:  # the check failed: the epoch moved on
            raise ControllerMoved(
                f"Controller epoch zkVersion check fails. Expected zkVersion = {epoch.epoch_zk_version}"
            ) from None
        raise  # a conditional write of build's own failed
    return results[1:]
