"""Enforcing client quotas, as Kafka's ClientQuotaManager and ClientRequestQuotaManager do.

- Three quota types: produce (bytes of Produce requests), fetch (bytes of consumers' Fetch answers),
  request (``request_percentage``: the time handlers spend on a client's requests, as a percentage of
  one handler's time). The quota of a connection is found per type from its principal's name
  (``ANONYMOUS`` without SASL or TLS) and its client id (``broker.quotas.entities``), and read again
  on every request, so a change applies at once.
- Rates are Kafka's ``Rate`` over a windowed sum: ``quota.window.num`` samples of
  ``quota.window.size.seconds`` (the replication quotas' ``SampledRate``), measured over the time
  since the oldest sample began but never less than ``quota.window.num - 1`` whole windows. Those
  sharing a quota entity (a user-level quota: all its client ids) share one rate; a rate idle for an
  hour is forgotten (Kafka's inactive sensor expiry).
- A value is recorded, then the rate checked (Kafka's ``Sensor.record`` with a quota): above the
  bound, the throttle time is ``(rate - bound) / bound * window``, the time it takes the rate to
  come back to the bound; request quotas throttle at most one sample window.
- Without any quota set, nothing is recorded (Kafka's ``quotasEnabled``).

Not thread-safe: the broker's event loop owns it.
"""

from __future__ import annotations

import time
import types
from collections.abc import Callable, Generator
from typing import Any

from broker.config import LONG_MAX, BrokerConfig
from broker.quotas.entities import (
    CONSUMER_BYTE_RATE,
    PRODUCER_BYTE_RATE,
    REQUEST_PERCENTAGE,
    Quota,
    quota_for,
)
from broker.quotas.store import ClientQuotaStore
from broker.replication.quota import SampledRate

PRODUCE, FETCH, REQUEST = "Produce", "Fetch", "Request"
_KEYS = {PRODUCE: PRODUCER_BYTE_RATE, FETCH: CONSUMER_BYTE_RATE, REQUEST: REQUEST_PERCENTAGE}
_STATIC_DEFAULTS = {PRODUCE: "quota.producer.default", FETCH: "quota.consumer.default"}
NANOS_TO_PERCENTAGE_PER_SECOND = 100.0 / 1e9
_PRUNE_AT = 4096  # rates kept before idle ones are looked for
_INACTIVE_MS = 3600 * 1000


class Rate(SampledRate):
    """Kafka's ``Rate``: like ``SimpleRate`` but over at least ``samples - 1`` whole windows plus the
    time into the current one (``Rate.windowSize``)."""

    def window_size_ms(self, now_ms: int) -> int:
        self._purge(now_ms)
        elapsed = now_ms - self._oldest(now_ms).start_ms
        full = elapsed // self.window_ms
        if full < self.samples - 1:
            elapsed += (self.samples - 1 - full) * self.window_ms
        return elapsed

    def last_event_ms(self) -> int:
        return max((s.last_event_ms for s in self._samples), default=0)

    def measure(self, now_ms: int) -> float:
        self._purge(now_ms)
        total = sum(s.value for s in self._samples)
        return total / (self.window_size_ms(now_ms) / 1000)


class ClientQuotaManager:
    def __init__(
        self, config: BrokerConfig, store: ClientQuotaStore, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config
        self.store = store
        self._clock = clock
        self._rates: dict[tuple[str, str, str], Rate] = {}  # (type, user, client id) -> its rate
        self._enabled: frozenset[str] = frozenset()
        store.listeners.append(self._store_changed)
        self._store_changed()

    def _store_changed(self) -> None:
        """Kafka's ``quotasEnabled`` per type: any quota of its key set (or a static default). Rates
        are kept: a changed bound applies to what was measured so far, as Kafka updates its sensors."""
        keys = {key for config in self.store.configs.values() for key in config}
        self._enabled = frozenset(
            kind
            for kind, key in _KEYS.items()
            if key in keys or (kind in _STATIC_DEFAULTS and self.config.get(_STATIC_DEFAULTS[kind]) < LONG_MAX)
        )

    def enabled(self, kind: str) -> bool:
        return kind in self._enabled

    def applies(self, user: str, client_id: str) -> bool:
        """Whether any quota holds the connection of ``user`` with ``client_id``."""
        return any(self.quota(kind, user, client_id) is not None for kind in self._enabled)

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def quota(self, kind: str, user: str, client_id: str) -> Quota | None:
        static = None
        if kind in _STATIC_DEFAULTS:
            value = self.config.get(_STATIC_DEFAULTS[kind])
            static = float(value) if value < LONG_MAX else None
        return quota_for(self.store.configs, _KEYS[kind], user, client_id, static)

    def _rate(self, kind: str, quota: Quota) -> Rate:
        key = (kind, *quota.metric_key)
        rate = self._rates.get(key)
        if rate is None:
            if len(self._rates) >= _PRUNE_AT:
                self._prune()
            samples = self.config.get("quota.window.num")
            rate = self._rates[key] = Rate(samples, self.config.get("quota.window.size.seconds") * 1000)
        return rate

    def _prune(self) -> None:
        """Forget the rates of clients idle for an hour (Kafka expires their sensors after as long)."""
        now = self._now_ms()
        idle = [key for key, rate in self._rates.items() if now - rate.last_event_ms() > _INACTIVE_MS]
        for key in idle:
            del self._rates[key]

    def record(self, kind: str, user: str, client_id: str, value: float) -> int:
        """Record ``value`` (bytes; for REQUEST, nanoseconds of handler time) for the connection of
        ``user`` and ``client_id``; the throttle time in ms (0: within its quota)."""
        if kind not in self._enabled:
            return 0
        quota = self.quota(kind, user, client_id)
        if quota is None:
            return 0
        if kind == REQUEST:
            value *= NANOS_TO_PERCENTAGE_PER_SECOND
        now = self._now_ms()
        rate = self._rate(kind, quota)
        rate.record(value, now)
        measured = rate.measure(now)
        if measured <= quota.bound:
            return 0
        bound = max(quota.bound, 1e-9)
        throttle = round((measured - bound) / bound * rate.window_size_ms(now))
        if kind == REQUEST:
            throttle = min(throttle, self.config.get("quota.window.size.seconds") * 1000)
        return max(0, int(throttle))

    def unrecord(self, kind: str, user: str, client_id: str, value: float) -> None:
        """Take back a recorded value (a throttled Fetch is answered empty)."""
        quota = self.quota(kind, user, client_id) if kind in self._enabled else None
        if quota is not None:
            self._rate(kind, quota).record(-value, self._now_ms())

    def max_value_in_window(self, kind: str, user: str, client_id: str) -> float | None:
        """Kafka's ``getMaxValueInQuotaWindow``: bound * (samples - 1) * window seconds; bounds the
        size of a consumer's Fetch answer (None: no quota)."""
        quota = self.quota(kind, user, client_id) if kind in self._enabled else None
        if quota is None:
            return None
        samples: int = self.config.get("quota.window.num")
        window_s: int = self.config.get("quota.window.size.seconds")
        return quota.bound * (samples - 1) * window_s


def principal_name(principal: str) -> str:
    """The user a quota is looked up by: the principal's name (``User:alice`` -> ``alice``)."""
    return principal.partition(":")[2] or principal


# KIP-219: from these versions on (Kafka 2.0's bumps) the client throttles itself, so the broker
# answers at once and then mutes the connection; before them the answer waits out the throttle. APIs
# not listed were born after KIP-219 (every version throttles client-side).
CLIENT_THROTTLES_FROM = {
    0: 6, 1: 8, 2: 3, 3: 6, 8: 4, 9: 4, 10: 2, 11: 3, 12: 2, 13: 2, 14: 2, 15: 2, 16: 2, 18: 2, 19: 3,
    20: 2, 21: 1, 22: 1, 23: 2, 24: 1, 25: 1, 26: 1, 28: 1, 29: 1, 30: 1, 31: 1, 32: 2, 33: 1, 34: 1,
    35: 1, 37: 1, 42: 1,
}  # fmt: skip
# Never held to a request quota (Kafka exempts cluster actions and authentication).
REQUEST_QUOTA_EXEMPT = frozenset({4, 5, 6, 7, 17, 27, 36, 56})


def request_quota_exempt(api_key: int, body: object) -> bool:
    """Cluster actions, authentication and a follower's requests (a replica id) are never held to a
    request quota."""
    if api_key in REQUEST_QUOTA_EXEMPT:
        return True
    state = getattr(body, "replica_state", None)
    return max(getattr(body, "replica_id", -1), getattr(state, "replica_id", -1)) >= 0


def client_throttles(api_key: int, version: int) -> bool:
    return version >= CLIENT_THROTTLES_FROM.get(api_key, 0)


class HandlerTimer:
    """Runs a handler's coroutine and adds up the time spent in its own steps (not the time it waits):
    what a request quota charges, as Kafka charges a request handler thread's time."""

    __slots__ = ("elapsed_ns",)

    def __init__(self) -> None:
        self.elapsed_ns = 0

    @types.coroutine
    def run(self, coroutine: Any) -> Generator[Any, Any, Any]:
        value: Any = None
        error: BaseException | None = None
        while True:
            start = time.perf_counter_ns()
            try:
                step = coroutine.send(value) if error is None else coroutine.throw(error)
            except StopIteration as stop:
                self.elapsed_ns += time.perf_counter_ns() - start
                return stop.value
            self.elapsed_ns += time.perf_counter_ns() - start
            try:
                value, error = (yield step), None
            except BaseException as exc:  # a cancellation, passed on into the handler
                value, error = None, exc
