"""The controller's channel to every live broker (Kafka's ControllerChannelManager).

One queue and one sender task per live broker: requests to a broker go in the order the controller
issued them, one at a time, over ``NetworkClient`` to the broker's endpoint on the inter-broker
listener. A request that cannot be delivered is retried (after ``RETRY_BACKOFF_S``) until it is, or
until the broker leaves the channel (it died: its queue is dropped). A request refused with
STALE_CONTROLLER_EPOCH (the broker has not yet seen this controller's /controller) is retried too.
``on_response`` runs on the loop with each answer.

Not thread-safe: the broker's event loop owns it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from broker.network_client import BrokerUnreachable, NetworkClient
from protocol.api import Api
from protocol.errors import ErrorCode
from protocol.schema import Struct

from .znodes import BrokerRegistration

log = logging.getLogger(__name__)
RETRY_BACKOFF_S = 0.1
MAX_STALE_RETRIES = 100


@dataclass(slots=True)
class _Request:
    api: Api
    version: int
    body: Struct
    on_response: Callable[[Any], None] | None


@dataclass(slots=True)
class _Destination:
    registration: BrokerRegistration
    queue: asyncio.Queue[_Request]
    task: asyncio.Task[None] | None = None


class ControllerChannel:
    def __init__(self, client: NetworkClient, listener: str) -> None:
        self._client = client
        self.listener = listener
        self._destinations: dict[int, _Destination] = {}

    def add_broker(self, registration: BrokerRegistration) -> None:
        known = self._destinations.get(registration.broker_id)
        if known is not None:
            known.registration = registration
            return
        destination = _Destination(registration, asyncio.Queue())
        destination.task = asyncio.get_running_loop().create_task(
            self._send_loop(destination), name=f"controller channel to {registration.broker_id}"
        )
        self._destinations[registration.broker_id] = destination

    def remove_broker(self, broker_id: int) -> None:
        destination = self._destinations.pop(broker_id, None)
        if destination is not None and destination.task is not None:
            destination.task.cancel()
        self._client.disconnect(broker_id)

    def send(
        self, broker_id: int, api: Api, version: int, body: Struct, on_response: Callable[[Any], None] | None = None
    ) -> None:
        destination = self._destinations.get(broker_id)
        if destination is None:
            log.info("not sending %s to broker %d: it is not alive", api.name, broker_id)
            return
        destination.queue.put_nowait(_Request(api, version, body, on_response))

    async def close(self) -> None:
        for broker_id in list(self._destinations):
            destination = self._destinations.pop(broker_id)
            if destination.task is not None:
                destination.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await destination.task

    def _address(self, registration: BrokerRegistration) -> tuple[str, int]:
        endpoint = registration.endpoint(self.listener) or registration.endpoints[0]
        return endpoint.host or "127.0.0.1", endpoint.port

    async def _send_loop(self, destination: _Destination) -> None:
        broker_id = destination.registration.broker_id
        while True:
            request = await destination.queue.get()
            stale = 0
            while True:
                host, port = self._address(destination.registration)
                try:
                    response = await self._client.request(broker_id, host, port, request.api, request.version,
                                                          request.body)  # fmt: skip
                except BrokerUnreachable as exc:
                    log.info("%s; retrying", exc)
                    await asyncio.sleep(RETRY_BACKOFF_S)
                    continue
                if getattr(response, "error_code", 0) == ErrorCode.STALE_CONTROLLER_EPOCH and stale < MAX_STALE_RETRIES:
                    stale += 1  # the broker has not seen this controller in /controller yet
                    await asyncio.sleep(RETRY_BACKOFF_S)
                    continue
                break
            if request.on_response is not None:
                try:
                    request.on_response(response)
                except Exception:
                    log.exception("handling the answer of broker %d to %s failed", broker_id, request.api.name)
