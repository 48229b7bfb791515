"""One registry of broker and topic configs: Kafka's names, types, defaults and documentation.

It parses ``server.properties`` and ``--override`` values, validates them, and answers DescribeConfigs
(values, sources, synonyms, types, docs). Topic configs name their broker-level synonyms in Kafka's
order of precedence (``retention.ms`` <- ``log.retention.ms``, ``log.retention.minutes``,
``log.retention.hours``), so a topic without an override inherits what the broker was started with.

A broker config's value comes, in Kafka's order, from this broker's dynamic configs, the cluster-wide
dynamic defaults (both set by AlterConfigs: ``broker.dynamic_config``), the static properties, else
Kafka's default; DescribeConfigs reports sources and synonyms by Kafka's ``ConfigHelper`` rules. A
topic's overrides are checked as the whole log config they make (``check_topic_configs``) before
anything is stored; ``ConfigError`` is the only exception a client's value can raise here.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from broker.config_defs import (
    BROKER_CONFIGS,
    DYNAMIC_BROKER_CONFIGS,
    LONG_MAX,
    TOPIC_CONFIGS,
    ConfigDef,
    ConfigError,
    ConfigSource,
    ConfigType,
    broker_synonyms,
)
from storage.config import LogConfig
from storage.errors import ConfigError as StorageConfigError

__all__ = [
    "BROKER_CONFIGS", "LONG_MAX", "TOPIC_CONFIGS", "AlterOp", "BrokerConfig", "ConfigDef", "ConfigEntry",
    "ConfigError", "ConfigSource", "ConfigType", "incremental_configs", "incremental_topic_configs", "parse_properties",
    "validate_topic_configs",
]  # fmt: skip

log = logging.getLogger(__name__)

Synonym = tuple[str, str | None, ConfigSource]  # name, rendered value, source
_DEFAULTS: dict[str, Any] = {name: d.default for name, d in BROKER_CONFIGS.items() if d.default is not None}


@dataclass(frozen=True, slots=True)
class ConfigEntry:
    """One config as DescribeConfigs reports it."""

    name: str
    value: str | None
    source: ConfigSource
    definition: ConfigDef
    read_only: bool = False
    synonyms: tuple[Synonym, ...] = ()

    @property
    def sensitive(self) -> bool:
        return self.definition.sensitive


@dataclass
class BrokerConfig:
    """The broker's configuration: typed values of the properties it was started with, and the dynamic
    ones AlterConfigs gave it (for this broker, or cluster-wide: ``broker.dynamic_config``)."""

    explicit: dict[str, Any] = field(default_factory=dict)  # parsed values given by the operator
    unknown: dict[str, str] = field(default_factory=dict)
    dynamic_broker: dict[str, Any] = field(default_factory=dict)  # DYNAMIC_BROKER_CONFIG
    dynamic_default: dict[str, Any] = field(default_factory=dict)  # DYNAMIC_DEFAULT_BROKER_CONFIG

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
        config.check_topic_configs({})  # the log config topics inherit (e.g. min vs max compaction lag)
        return config

    def get(self, name: str) -> Any:
        """The value in effect: per-broker dynamic, cluster-wide dynamic, static, else Kafka's default."""
        for layer in (self.dynamic_broker, self.dynamic_default, self.explicit):
            if name in layer:
                return layer[name]
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

    def _layers(self) -> tuple[tuple[Mapping[str, Any], ConfigSource], ...]:
        """Where a broker config's value comes from, in Kafka's order of precedence."""
        return (
            (self.dynamic_broker, ConfigSource.DYNAMIC_BROKER_CONFIG),
            (self.dynamic_default, ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG),
            (self.explicit, ConfigSource.STATIC_BROKER_CONFIG),
            (_DEFAULTS, ConfigSource.DEFAULT_CONFIG),
        )

    def _set(self, name: str) -> Any:
        """The value ``name`` was given (dynamically or statically), or None."""
        for layer, source in self._layers():
            if source is not ConfigSource.DEFAULT_CONFIG and layer.get(name) is not None:
                return layer[name]
        return None

    def synonyms(self, name: str, group: tuple[str, ...]) -> list[Synonym]:
        """Kafka's ``ConfigHelper.configSynonyms``: every value the names of ``group`` have, source by
        source, dropping those before the first one of ``name`` (so a config with no value of its own
        and only a default of a later synonym, as ``log.retention.ms`` beside ``log.retention.hours``,
        has none)."""
        found: list[Synonym] = []
        for layer, source in self._layers():
            for synonym in group:
                value = layer.get(synonym)
                if value is not None:
                    found.append((synonym, BROKER_CONFIGS[synonym].render(value), source))
        while found and found[0][0] != name:
            found.pop(0)
        return found

    def topic_default(self, name: str) -> Any:
        """A topic config's broker-level value: its first broker synonym given a value, else the default."""
        definition = TOPIC_CONFIGS[name]
        for i, synonym in enumerate(definition.synonyms):
            value = self._set(synonym)
            if value is not None:
                if definition.scale and isinstance(value, int):
                    value = value * definition.scale[i]
                return value
        return definition.default

    def topic_values(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """Every topic config's effective value for a topic with ``overrides``."""
        values = {name: self.topic_default(name) for name in TOPIC_CONFIGS}
        values.update(overrides)
        return values

    def check_topic_configs(self, overrides: Mapping[str, Any]) -> None:
        """The whole config a topic with these (parsed) ``overrides`` would have, checked as Kafka's
        controller does before it stores anything; raises ConfigError."""
        values = self.topic_values(overrides)
        if values["remote.storage.enable"]:
            raise ConfigError(
                "Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote "
                "log storage."
            )
        try:
            LogConfig.from_props(values)
        except StorageConfigError as exc:
            raise ConfigError(str(exc)) from None

    def usable_topic_overrides(self, name: str, stored: Mapping[str, Any]) -> dict[str, Any]:
        """The stored overrides of topic ``name`` this broker can apply. One it cannot (an unknown name, a
        bad value, or one that conflicts with the rest) is logged and left out, so the topic takes the
        default instead: a stored config never stops the broker from starting."""
        usable: dict[str, Any] = {}
        for key, raw in stored.items():
            try:
                definition = TOPIC_CONFIGS.get(key)
                if definition is None:
                    raise ConfigError(f"Unknown topic config name: {key}")
                candidate = {**usable, key: definition.parse(raw)}
                self.check_topic_configs(candidate)
            except ConfigError as exc:
                log.error("topic %s: ignoring its stored config %s=%r, using the default: %s", name, key, raw, exc)
                continue
            usable = candidate
        return usable

    def describe_topic(self, overrides: Mapping[str, Any], with_synonyms: bool) -> list[ConfigEntry]:
        """Every topic config of a topic with ``overrides``, with Kafka's sources and synonyms
        (``ConfigHelper.createTopicConfigEntry``)."""
        entries = []
        for name, definition in TOPIC_CONFIGS.items():
            synonyms: list[Synonym] = []
            if definition.synonyms:
                first = definition.synonyms[0]
                synonyms = self.synonyms(first, broker_synonyms(first))
            if name in overrides:
                value = overrides[name]
                synonyms.insert(0, (name, definition.render(value), ConfigSource.DYNAMIC_TOPIC_CONFIG))
            else:
                value = self.topic_default(name)
            source = synonyms[0][2] if synonyms else ConfigSource.DEFAULT_CONFIG
            entries.append(
                ConfigEntry(
                    name, definition.render(value), source, definition,
                    synonyms=tuple(synonyms) if with_synonyms else (),
                )
            )  # fmt: skip
        return entries

    def describe_broker(self, with_synonyms: bool, per_broker: bool = True) -> list[ConfigEntry]:
        """This broker's configs (``per_broker``), or the cluster-wide dynamic defaults that are set, as
        Kafka's ``ConfigHelper.createBrokerConfigEntry``: read-only unless Kafka can change it at run
        time."""
        entries = []
        names = BROKER_CONFIGS if per_broker else [n for n in BROKER_CONFIGS if n in self.dynamic_default]
        for name in names:
            definition = BROKER_CONFIGS[name]
            synonyms = self.synonyms(name, broker_synonyms(name))
            if per_broker:
                value = self.get(name)
            else:
                synonyms = [s for s in synonyms if s[2] is ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG]
                value = self.dynamic_default[name]
            source = synonyms[0][2] if synonyms else ConfigSource.DEFAULT_CONFIG
            entries.append(
                ConfigEntry(
                    name,
                    definition.render(value),
                    source,
                    definition,
                    read_only=name not in DYNAMIC_BROKER_CONFIGS,
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
    """A topic's overrides after IncrementalAlterConfigs ``ops``; raises ConfigError with Kafka's message."""
    return incremental_configs(current, ops, TOPIC_CONFIGS, "topic")


def incremental_configs(
    current: Mapping[str, Any],
    ops: Iterable[tuple[str, AlterOp, str | None]],
    definitions: Mapping[str, ConfigDef],
    kind: str,
) -> dict[str, Any]:
    """A resource's set configs after IncrementalAlterConfigs ``ops``; raises ConfigError with Kafka's
    message.

    As Kafka: deleting an absent or unknown name is fine; APPEND and SUBTRACT apply to list configs
    only and start from the set value, else the config's own default; a list may become empty.
    """
    result = dict(current)
    for name, op, raw in ops:
        definition = definitions.get(name)
        if op is AlterOp.DELETE:
            result.pop(name, None)
            continue
        if definition is None:
            raise ConfigError(f"Unknown {kind} config name: {name}")
        if op is AlterOp.SET:
            if raw is None:
                raise ConfigError(f"Null value not supported for {kind} configs: {name}")
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
