"""Topic configs of a log, with Kafka's names, types and defaults (``LogConfig``).

A ``LogConfig`` is immutable; ``LogConfig.from_props({"retention.ms": "1000"})`` parses Kafka-style
string (or already typed) values, validates them and raises ``ConfigError`` naming the property.
Attribute names are the Kafka names with dots as underscores (``segment.bytes`` -> ``segment_bytes``).

Every topic config Kafka 3.9 accepts is here. Some are kept for what a client reads back and have no effect
on this broker: ``message.format.version`` (ignored by Kafka too since 3.0), the broker-side
``compression.*.level`` (no recompression), the replication throttles, and tiered storage's
``local.retention.*`` and ``remote.*`` (``remote.storage.enable`` may only be false: there is no tiered
storage, and the broker refuses true).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from storage.errors import ConfigError

LONG_MAX = 2**63 - 1
INT_MAX = 2**31 - 1

PropValue = str | int | float | bool | list[str] | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LogConfig:
    segment_bytes: int = 1024 * 1024 * 1024
    segment_ms: int = 7 * 24 * 3600 * 1000
    segment_jitter_ms: int = 0
    segment_index_bytes: int = 10 * 1024 * 1024
    index_interval_bytes: int = 4096
    retention_ms: int = 7 * 24 * 3600 * 1000
    retention_bytes: int = -1
    cleanup_policy: tuple[str, ...] = ("delete",)
    message_timestamp_type: str = "CreateTime"
    message_timestamp_difference_max_ms: int = LONG_MAX
    message_timestamp_before_max_ms: int = LONG_MAX
    message_timestamp_after_max_ms: int = LONG_MAX
    max_message_bytes: int = 1024 * 1024 + 12
    flush_messages: int = LONG_MAX
    flush_ms: int = LONG_MAX
    file_delete_delay_ms: int = 60000
    min_cleanable_dirty_ratio: float = 0.5
    delete_retention_ms: int = 24 * 3600 * 1000
    min_compaction_lag_ms: int = 0
    max_compaction_lag_ms: int = LONG_MAX
    min_insync_replicas: int = 1
    unclean_leader_election_enable: bool = False
    compression_type: str = "producer"
    preallocate: bool = False
    message_downconversion_enable: bool = True
    message_format_version: str = "3.0-IV1"
    compression_gzip_level: int = -1
    compression_lz4_level: int = 9
    compression_zstd_level: int = 3
    leader_replication_throttled_replicas: tuple[str, ...] = ()
    follower_replication_throttled_replicas: tuple[str, ...] = ()
    local_retention_ms: int = -2
    local_retention_bytes: int = -2
    remote_storage_enable: bool = False
    remote_log_copy_disable: bool = False
    remote_log_delete_on_disable: bool = False

    @property
    def log_append_time(self) -> bool:
        return self.message_timestamp_type == "LogAppendTime"

    @property
    def timestamp_before_max_ms(self) -> int:
        """As Kafka 3.6-3.9: the deprecated ``message.timestamp.difference.max.ms`` where ``before`` is unset."""
        if self.message_timestamp_before_max_ms != LONG_MAX:
            return self.message_timestamp_before_max_ms
        return self.message_timestamp_difference_max_ms

    @property
    def timestamp_after_max_ms(self) -> int:
        """As ``timestamp_before_max_ms``, for timestamps ahead of the broker's clock."""
        if self.message_timestamp_after_max_ms != LONG_MAX:
            return self.message_timestamp_after_max_ms
        return self.message_timestamp_difference_max_ms

    @property
    def delete_enabled(self) -> bool:
        return "delete" in self.cleanup_policy

    @property
    def compact_enabled(self) -> bool:
        return "compact" in self.cleanup_policy

    @classmethod
    def from_props(cls, props: Mapping[str, PropValue], base: LogConfig | None = None) -> LogConfig:
        """``base`` (default: Kafka's defaults) overridden by ``props``; unknown names are errors.

        Without ``base`` the answer is remembered for the same props (configs are immutable): a broker
        asks once per partition of a topic, 10,000 times for a 10,000-partition topic at start-up."""
        if base is None and cls is LogConfig:
            key = tuple(sorted((name, tuple(v) if isinstance(v, list) else v) for name, v in props.items()))
            try:
                return _from_props_cached(key)
            except TypeError:  # a value that cannot be a key: parse it every time
                pass
        return cls._parse_props(props, base)

    @classmethod
    def _parse_props(cls, props: Mapping[str, PropValue], base: LogConfig | None) -> LogConfig:
        changes: dict[str, Any] = {}
        for name, raw in props.items():
            spec = _SPECS.get(name)
            if spec is None:
                raise ConfigError(f"unknown topic config {name!r}")
            changes[name.replace(".", "_")] = spec.parse(name, raw)
        config = dataclasses.replace(base or cls(), **changes)
        if config.segment_jitter_ms < 0:
            raise ConfigError("segment.jitter.ms must be >= 0")
        if config.min_compaction_lag_ms > config.max_compaction_lag_ms:
            raise ConfigError(
                f"conflict topic config setting min.compaction.lag.ms ({config.min_compaction_lag_ms}) > "
                f"max.compaction.lag.ms ({config.max_compaction_lag_ms})"
            )
        return config

    def to_props(self) -> dict[str, str]:
        """Every config as Kafka's string form (for DescribeConfigs)."""
        out: dict[str, str] = {}
        for name, spec in _SPECS.items():
            out[name] = spec.render(getattr(self, name.replace(".", "_")))
        return out


@functools.lru_cache(maxsize=256)
def _from_props_cached(items: tuple[tuple[str, str | int | float | bool | tuple[str, ...]], ...]) -> LogConfig:
    return LogConfig._parse_props(dict(items), None)


@dataclass(frozen=True, slots=True)
class _Spec:
    kind: type
    check: Callable[[Any], bool] | None = None
    rule: str = ""
    choices: tuple[str, ...] = ()

    def parse(self, name: str, raw: PropValue) -> Any:
        try:
            value = self._convert(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"invalid value {raw!r} for {name}: expected {self.kind.__name__}") from None
        if self.choices:
            items = value if isinstance(value, tuple) else (value,)
            bad = [v for v in items if v not in self.choices]
            if bad:  # an empty list is fine: Kafka's ValidList accepts it (cleanup.policy= : neither)
                raise ConfigError(f"invalid value {raw!r} for {name}: must be one of {self.choices}")
        if self.check is not None and not self.check(value):
            raise ConfigError(f"invalid value {raw!r} for {name}: must be {self.rule}")
        return value

    def _convert(self, raw: PropValue) -> Any:
        if self.kind is tuple:
            if isinstance(raw, str):
                return tuple(p.strip() for p in raw.split(",") if p.strip())
            if isinstance(raw, list | tuple):
                return tuple(str(p) for p in raw)
            raise TypeError(raw)
        if self.kind is bool:
            if isinstance(raw, bool):
                return raw
            if isinstance(raw, str) and raw.lower() in ("true", "false"):
                return raw.lower() == "true"
            raise ValueError(raw)
        if self.kind is int:
            if isinstance(raw, bool | float | list | tuple):
                raise TypeError(raw)
            value = int(raw)
            if not -(2**63) <= value <= LONG_MAX:
                raise ValueError(raw)
            return value
        if self.kind is float:
            if isinstance(raw, bool | list | tuple):
                raise TypeError(raw)
            return float(raw)
        if not isinstance(raw, str):
            raise TypeError(raw)
        return raw

    def render(self, value: Any) -> str:
        if isinstance(value, tuple):
            return ",".join(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)


def _at_least(n: int) -> _Spec:
    return _Spec(int, lambda v: v >= n, f">= {n}")


_SPECS: dict[str, _Spec] = {
    "segment.bytes": _Spec(int, lambda v: 14 <= v <= INT_MAX, "in [14, 2147483647]"),
    "segment.ms": _at_least(1),
    "segment.jitter.ms": _at_least(0),
    "segment.index.bytes": _Spec(int, lambda v: 4 <= v <= INT_MAX, "in [4, 2147483647]"),
    "index.interval.bytes": _Spec(int, lambda v: 0 <= v <= INT_MAX, "in [0, 2147483647]"),
    "retention.ms": _at_least(-1),
    "retention.bytes": _Spec(int),
    "cleanup.policy": _Spec(tuple, choices=("delete", "compact")),
    "message.timestamp.type": _Spec(str, choices=("CreateTime", "LogAppendTime")),
    "message.timestamp.difference.max.ms": _at_least(0),
    "message.timestamp.before.max.ms": _at_least(0),
    "message.timestamp.after.max.ms": _at_least(0),
    "max.message.bytes": _Spec(int, lambda v: 0 <= v <= INT_MAX, "in [0, 2147483647]"),
    "flush.messages": _at_least(1),
    "flush.ms": _at_least(0),
    "file.delete.delay.ms": _at_least(0),
    "min.cleanable.dirty.ratio": _Spec(float, lambda v: 0.0 <= v <= 1.0, "in [0, 1]"),
    "delete.retention.ms": _at_least(0),
    "min.compaction.lag.ms": _at_least(0),
    "max.compaction.lag.ms": _at_least(1),
    "min.insync.replicas": _at_least(1),
    "unclean.leader.election.enable": _Spec(bool),
    "compression.type": _Spec(str, choices=("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer")),
    "preallocate": _Spec(bool),
    "message.downconversion.enable": _Spec(bool),
    "message.format.version": _Spec(str),
    "compression.gzip.level": _Spec(int, lambda v: v == -1 or 1 <= v <= 9, "in [1, 9] or -1"),
    "compression.lz4.level": _Spec(int, lambda v: 1 <= v <= 17, "in [1, 17]"),
    "compression.zstd.level": _Spec(int, lambda v: -131072 <= v <= 22, "in [-131072, 22]"),
    "leader.replication.throttled.replicas": _Spec(tuple),
    "follower.replication.throttled.replicas": _Spec(tuple),
    "local.retention.ms": _at_least(-2),
    "local.retention.bytes": _at_least(-2),
    "remote.storage.enable": _Spec(bool),
    "remote.log.copy.disable": _Spec(bool),
    "remote.log.delete.on.disable": _Spec(bool),
}

TOPIC_CONFIG_NAMES: tuple[str, ...] = tuple(_SPECS)
