"""One registry of broker and topic configs: Kafka's names, types, defaults and documentation.

It parses ``server.properties`` and ``--override`` values, validates them, and answers DescribeConfigs
(values, sources, synonyms, types, docs). Topic configs name their broker-level synonyms in Kafka's
order of precedence (``retention.ms`` <- ``log.retention.ms``, ``log.retention.minutes``,
``log.retention.hours``), so a topic without an override inherits what the broker was started with.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from broker.config_defs import (
    BROKER_CONFIGS,
    LONG_MAX,
    TOPIC_CONFIGS,
    ConfigDef,
    ConfigError,
    ConfigSource,
    ConfigType,
)

__all__ = [
    "BROKER_CONFIGS", "LONG_MAX", "TOPIC_CONFIGS", "AlterOp", "BrokerConfig", "ConfigDef", "ConfigEntry",
    "ConfigError", "ConfigSource", "ConfigType", "incremental_topic_configs", "parse_properties",
    "validate_topic_configs",
]  # fmt: skip

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ConfigEntry:
    """One config as DescribeConfigs reports it."""

    name: str
    value: str | None
    source: ConfigSource
    definition: ConfigDef
    read_only: bool = False
    synonyms: tuple[tuple[str, str | None, ConfigSource], ...] = ()

    @property
    def sensitive(self) -> bool:
        return self.definition.sensitive


@dataclass
class BrokerConfig:
    """The broker's static configuration: typed values of the properties it was started with."""

    explicit: dict[str, Any] = field(default_factory=dict)  # parsed values given by the operator
    unknown: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_properties(cls, props: Mapping[str, str]) -> BrokerConfig:
        """Parse and validate; unknown names are kept and logged, invalid values raise ConfigError."""
        config = cls()
        for name, raw in props.items():
            definition = BROKER_CONFIGS.get(name)
            if definition is None:
                if not name.startswith("listener.name."):  # per listener: read by broker.security
                    log.warning("unknown configuration %r=%r was supplied and is ignored", name, raw)
                config.unknown[name] = raw
                continue
            config.explicit[name] = definition.parse(raw)
        if config.get("log.retention.check.interval.ms") <= 0:
            raise ConfigError("log.retention.check.interval.ms must be positive")
        return config

    def get(self, name: str) -> Any:
        if name in self.explicit:
            return self.explicit[name]
        return BROKER_CONFIGS[name].default

    # --- derived values -----------------------------------------------------------------------
    @property
    def node_id(self) -> int:
        node_id = self.get("node.id")
        broker_id = self.get("broker.id")
        if node_id >= 0 and broker_id >= 0 and node_id != broker_id:
            raise ConfigError(f"node.id={node_id} and broker.id={broker_id} disagree")
        return int(max(node_id, broker_id, 0))

    @property
    def log_dirs(self) -> list[str]:
        dirs = self.get("log.dirs")
        return list(dirs) if dirs else [self.get("log.dir")]

    def topic_default(self, name: str) -> tuple[Any, ConfigSource, str | None]:
        """A topic config's broker-level value: the first synonym set explicitly, else the default."""
        definition = TOPIC_CONFIGS[name]
        for i, synonym in enumerate(definition.synonyms):
            if synonym in self.explicit and self.explicit[synonym] is not None:
                value = self.explicit[synonym]
                if definition.scale and isinstance(value, int):
                    value = value * definition.scale[i]
                return value, ConfigSource.STATIC_BROKER_CONFIG, synonym
        return definition.default, ConfigSource.DEFAULT_CONFIG, None

    def topic_values(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """Every topic config's effective value for a topic with ``overrides``."""
        values = {name: self.topic_default(name)[0] for name in TOPIC_CONFIGS}
        values.update(overrides)
        return values

    def describe_topic(self, overrides: Mapping[str, Any], with_synonyms: bool) -> list[ConfigEntry]:
        """Every topic config of a topic with ``overrides``, with Kafka's sources and synonyms."""
        entries = []
        for name, definition in TOPIC_CONFIGS.items():
            if name in overrides:
                value, source = overrides[name], ConfigSource.DYNAMIC_TOPIC_CONFIG
            else:
                value, source, _ = self.topic_default(name)
            synonyms = self._topic_synonyms(name, overrides) if with_synonyms else ()
            entries.append(ConfigEntry(name, definition.render(value), source, definition, synonyms=synonyms))
        return entries

    def _topic_synonyms(
        self, name: str, overrides: Mapping[str, Any]
    ) -> tuple[tuple[str, str | None, ConfigSource], ...]:
        """Kafka's order: the topic override, then the broker synonyms set statically, then their defaults."""
        definition = TOPIC_CONFIGS[name]
        synonyms: list[tuple[str, str | None, ConfigSource]] = []
        if name in overrides:
            synonyms.append((name, definition.render(overrides[name]), ConfigSource.DYNAMIC_TOPIC_CONFIG))
        for broker_name in definition.synonyms:
            if self.explicit.get(broker_name) is not None:
                rendered = BROKER_CONFIGS[broker_name].render(self.explicit[broker_name])
                synonyms.append((broker_name, rendered, ConfigSource.STATIC_BROKER_CONFIG))
        for broker_name in definition.synonyms:
            broker_def = BROKER_CONFIGS[broker_name]
            if broker_def.default is not None:
                synonyms.append((broker_name, broker_def.render(broker_def.default), ConfigSource.DEFAULT_CONFIG))
        return tuple(synonyms)

    def describe_broker(self, with_synonyms: bool) -> list[ConfigEntry]:
        """Every broker config. All are read-only: dynamic broker configs are not supported (yet)."""
        entries = []
        for name, definition in BROKER_CONFIGS.items():
            synonyms: list[tuple[str, str | None, ConfigSource]] = []
            if self.explicit.get(name) is not None:
                synonyms.append((name, definition.render(self.explicit[name]), ConfigSource.STATIC_BROKER_CONFIG))
            if definition.default is not None:
                synonyms.append((name, definition.render(definition.default), ConfigSource.DEFAULT_CONFIG))
            source = synonyms[0][2] if synonyms else ConfigSource.DEFAULT_CONFIG
            entries.append(
                ConfigEntry(
                    name,
                    definition.render(self.get(name)),
                    source,
                    definition,
                    read_only=True,
                    synonyms=tuple(synonyms) if with_synonyms else (),
                )
            )
        return entries


def validate_topic_configs(configs: Iterable[tuple[str, str | None]]) -> dict[str, Any]:
    """Parse a topic's config overrides from a request; raises ConfigError with Kafka's message."""
    parsed: dict[str, Any] = {}
    nulls: list[str] = []
    for name, raw in configs:
        definition = TOPIC_CONFIGS.get(name)
        if definition is None:
            raise ConfigError(f"Unknown topic config name: {name}")
        if raw is None:
            nulls.append(name)
            continue
        parsed[name] = definition.parse(raw)
    if nulls:
        raise ConfigError("Null value not supported for topic configs: " + ",".join(nulls))
    return parsed


class AlterOp(enum.IntEnum):
    """IncrementalAlterConfigs operations (Kafka's ``AlterConfigOp.OpType``)."""

    SET = 0
    DELETE = 1
    APPEND = 2
    SUBTRACT = 3


def incremental_topic_configs(
    current: Mapping[str, Any], ops: Iterable[tuple[str, AlterOp, str | None]]
) -> dict[str, Any]:
    """A topic's overrides after IncrementalAlterConfigs ``ops``; raises ConfigError with Kafka's message.

    As Kafka's controller: deleting an absent or unknown name is fine; APPEND and SUBTRACT apply to list
    configs only and start from the override, else the config's own default.
    """
    result = dict(current)
    for name, op, raw in ops:
        definition = TOPIC_CONFIGS.get(name)
        if op is AlterOp.DELETE:
            result.pop(name, None)
            continue
        if definition is None:
            raise ConfigError(f"Unknown topic config name: {name}")
        if op is AlterOp.SET:
            if raw is None:
                raise ConfigError(f"Null value not supported for topic configs: {name}")
            result[name] = definition.parse(raw)
            continue
        if definition.type is not ConfigType.LIST:
            raise ConfigError(f"Can't {op.name} to key {name} because its type is not LIST.")
        old = list(result[name]) if name in result else list(definition.default or [])
        items = definition.parse(raw or "") or []
        if op is AlterOp.APPEND:
            new = old + [item for item in items if item not in old]
        else:
            new = [item for item in old if item not in items]
        result[name] = definition.parse(new)
    return result


def parse_properties(text: str) -> dict[str, str]:
    """Java ``.properties`` as Kafka's config files use it: key=value or key: value, # and ! comments."""
    props: dict[str, str] = {}
    pending = ""
    for raw_line in text.splitlines():
        line = pending + raw_line.strip()
        pending = ""
        if not line or line[0] in "#!":
            continue
        if line.endswith("\\") and not line.endswith("\\\\"):
            pending = line[:-1]
            continue
        for i, ch in enumerate(line):
            if ch in "=:" or ch.isspace():
                key, value = line[:i], line[i + 1 :].strip()
                if ch.isspace() and value[:1] in ("=", ":"):
                    value = value[1:].strip()
                break
        else:
            key, value = line, ""
        props[key.strip()] = value
    return props
