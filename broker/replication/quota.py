"""Replication quotas (Kafka's ReplicationQuotaManager): how many bytes a second this broker may
replicate for throttled replicas, as leader (what it sends) and as follower (what it fetches).

- The bound is ``leader.replication.throttled.rate`` / ``follower.replication.throttled.rate``, read at
  every check, so a change by AlterConfigs (this broker's, else the cluster default's) applies at
  once; unset, it is Long.MAX_VALUE and nothing is ever held back. Only the dynamic values count, as
  in Kafka (``BrokerConfigHandler``): one in server.properties is accepted but not used.
- Which replicas are throttled is each topic's ``leader.replication.throttled.replicas`` /
  ``follower.replication.throttled.replicas``: ``*`` (all its partitions), or ``partition:broker``
  items of which this broker keeps those naming itself (Kafka's ``parseThrottledPartitions``). They
  are read from the partition's log config, which topic config changes update in place.
- The rate is Kafka's ``SimpleRate`` over a ``WindowedSum``: ``replication.quota.window.num`` samples
  of ``replication.quota.window.size.seconds`` each (plus one being recycled); a sample idle for the
  whole window is reset; the rate is the sum of the samples over the time since the oldest one
  started, but never over less than one window. The quota is exceeded while that rate is above the
  bound. Recording ignores the bound (it is checked before a fetch, recorded after it).
- Who records what (Kafka's): the leader, for each follower fetch, the size of a Fetch response holding
  only its throttled partitions (``broker.handlers.fetch``); the follower, the size of the records it
  got for a throttled partition (``broker.replication.fetcher``). In-sync replicas count too, but are
  never held back: the leader checks its ISR, the follower whether its last fetch with data reached
  the leader's high watermark.

Not thread-safe: the broker's event loop owns it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import NamedTuple

from broker.config import LONG_MAX, BrokerConfig
from storage.config import LogConfig

LEADER, FOLLOWER = "leader", "follower"


class _Sample:
    __slots__ = ("event_count", "last_event_ms", "start_ms", "value")

    def __init__(self, now_ms: int) -> None:
        self.reset(now_ms)

    def reset(self, now_ms: int) -> None:
        self.start_ms = now_ms
        self.last_event_ms = now_ms
        self.event_count = 0
        self.value = 0.0


class SampledRate:
    """Kafka's ``SimpleRate`` (a ``WindowedSum`` divided by the time since its oldest sample began),
    with ``samples`` samples of ``window_ms`` each. Pure: the caller gives the time."""

    def __init__(self, samples: int, window_ms: int) -> None:
        self.samples = max(1, samples)
        self.window_ms = max(1, window_ms)
        self._samples: list[_Sample] = []
        self._current = 0

    def record(self, value: float, now_ms: int) -> None:
        sample = self._current_sample(now_ms)
        if now_ms - sample.start_ms >= self.window_ms:
            sample = self._advance(now_ms)
        sample.value += value
        sample.event_count += 1
        sample.last_event_ms = now_ms

    def measure(self, now_ms: int) -> float:
        """Bytes (or whatever was recorded) per second."""
        self._purge(now_ms)
        total = sum(s.value for s in self._samples)
        oldest = self._oldest(now_ms)
        elapsed_ms = max(now_ms - oldest.start_ms, self.window_ms)
        return total / (elapsed_ms / 1000)

    def _current_sample(self, now_ms: int) -> _Sample:
        if not self._samples:
            self._samples.append(_Sample(now_ms))
        return self._samples[self._current]

    def _advance(self, now_ms: int) -> _Sample:
        # one sample more than configured is kept, as Kafka does (see _purge)
        self._current = (self._current + 1) % (self.samples + 1)
        if self._current >= len(self._samples):
            sample = _Sample(now_ms)
            self._samples.append(sample)
            return sample
        sample = self._samples[self._current]
        sample.reset(now_ms)
        return sample

    def _oldest(self, now_ms: int) -> _Sample:
        if not self._samples:
            self._samples.append(_Sample(now_ms))
        return min(self._samples, key=lambda s: s.start_ms)

    def _purge(self, now_ms: int) -> None:
        """Reset the samples with no event within the whole window (they overlap it no more)."""
        expire_ms = self.samples * self.window_ms
        for sample in self._samples:
            if now_ms - sample.last_event_ms >= expire_ms:
                sample.reset(now_ms)


class ThrottledPartitions(NamedTuple):
    """One topic's throttled partitions on one broker: all of them (``*``) or those listed."""

    every: bool
    indexes: frozenset[int]

    def __contains__(self, index: object) -> bool:
        return self.every or index in self.indexes


@functools.lru_cache(maxsize=4096)
def throttled_partitions(replicas: tuple[str, ...], broker_id: int) -> ThrottledPartitions:
    """Kafka's ``parseThrottledPartitions`` of a (validated) throttled replicas list: ``*``, or the
    partitions of the ``partition:broker`` items naming ``broker_id``."""
    if list(replicas) == ["*"]:
        return ThrottledPartitions(True, frozenset())
    indexes = set()
    for item in replicas:
        partition, _, broker = item.strip().partition(":")
        if broker.strip().isdigit() and partition.strip().isdigit() and int(broker) == broker_id:
            indexes.add(int(partition))
    return ThrottledPartitions(False, frozenset(indexes))


class ReplicationQuota:
    """The leader's or the follower's replication quota of one broker."""

    def __init__(
        self, kind: str, config: BrokerConfig, broker_id: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if kind not in (LEADER, FOLLOWER):
            raise ValueError(f"a replication quota is the leader's or the follower's, not {kind!r}")
        self.kind = kind
        self.broker_id = broker_id
        self.rate_config = f"{kind}.replication.throttled.rate"
        self._config = config
        self._clock = clock
        self.rate = SampledRate(
            config.get("replication.quota.window.num"), config.get("replication.quota.window.size.seconds") * 1000
        )

    @property
    def bound(self) -> int:
        """Bytes a second (Long.MAX_VALUE: no quota): this broker's dynamic value, else the cluster
        default's. As in Kafka, a value in server.properties is accepted and described but not used."""
        config, name = self._config, self.rate_config
        for layer in (config.dynamic_broker, config.dynamic_default):
            if name in layer:
                return int(layer[name])
        return LONG_MAX

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def is_throttled(self, config: LogConfig, index: int) -> bool:
        """Whether the topic (whose log config is ``config``) throttles its partition ``index`` here."""
        replicas = (
            config.leader_replication_throttled_replicas
            if self.kind == LEADER
            else config.follower_replication_throttled_replicas
        )
        return bool(replicas) and index in throttled_partitions(tuple(replicas), self.broker_id)

    def is_quota_exceeded(self) -> bool:
        bound = self.bound
        if bound >= LONG_MAX:
            return False
        return self.rate.measure(self._now_ms()) > bound

    def record(self, size: int) -> None:
        """Count ``size`` bytes replicated (whatever the quota says)."""
        self.rate.record(float(size), self._now_ms())

    def measured(self) -> float:
        """The rate now, bytes a second."""
        return self.rate.measure(self._now_ms())
