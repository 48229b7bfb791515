"""Dynamic broker configs: what AlterConfigs may change on a BROKER resource, and where it is kept.

Kafka (ZooKeeper mode) keeps them in ``/config/brokers/<id>`` and ``/config/brokers/<default>``; the
embedded controller keeps them in the first log dir, beside the topic metadata, in
``kafkish-broker-configs.json`` (``{"version": 1, "broker": {...}, "default": {...}}``, values as
Kafka's strings; a ``sasl.jaas.config`` is kept as given, where Kafka would encrypt it), written with
write-temp-then-rename. The names allowed are Kafka 3.9's (``config_defs.DYNAMIC_BROKER_CONFIGS``);
the log configs topics inherit apply at once, the others are stored and described only.

Loading never stops the broker: a stored value it cannot use is logged and left out (the static or
default value applies). Not thread-safe: the event loop owns it; only the file write runs in a thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any

from broker.config import BROKER_CONFIGS, BrokerConfig, ConfigError
from broker.config_defs import DYNAMIC_BROKER_CONFIGS, PER_BROKER_CONFIGS
from storage.fs import REAL_FS, FileSystem

log = logging.getLogger(__name__)

DYNAMIC_CONFIG_FILE = "kafkish-broker-configs.json"


class NotDynamic(ConfigError):
    """A config AlterConfigs may not change here (Kafka answers INVALID_REQUEST)."""


def check_names(names: Iterable[str], per_broker: bool) -> None:
    """Kafka's ``DynamicBrokerConfig.validateConfigs`` name checks; raises NotDynamic."""
    names = list(names)
    static = [name for name in names if name not in DYNAMIC_BROKER_CONFIGS]
    if static:
        raise NotDynamic(f"Cannot update these configs dynamically: Set({', '.join(static)})")
    if not per_broker:
        only_per_broker = [name for name in names if name in PER_BROKER_CONFIGS]
        if only_per_broker:
            raise NotDynamic(
                "Cannot update these configs at default cluster level, broker id must be specified: "
                f"Set({', '.join(only_per_broker)})"
            )


def parse_configs(changes: Iterable[tuple[str, str | None]], per_broker: bool) -> dict[str, Any]:
    """AlterConfigs' new set of dynamic configs of a broker (or of the cluster default); raises
    NotDynamic or ConfigError."""
    changes = list(changes)
    check_names((name for name, _ in changes), per_broker)
    nulls = [name for name, raw in changes if raw is None]
    if nulls:
        raise ConfigError("Null value not supported for broker configs: " + ",".join(nulls))
    return {name: BROKER_CONFIGS[name].parse(raw) for name, raw in changes}


class DynamicConfigStore:
    """The dynamic broker configs of one broker and of the cluster default, on disk."""

    def __init__(self, directory: str, fs: FileSystem = REAL_FS) -> None:
        self.path = os.path.join(directory, DYNAMIC_CONFIG_FILE)
        self._fs = fs
        self._writing: asyncio.Lock | None = None

    def load(self, config: BrokerConfig) -> None:
        """Give ``config`` the stored dynamic configs (blocking: start-up only). Never raises for the
        file's contents: what cannot be used is logged and ignored."""
        try:
            with open(self.path, "rb") as f:
                data = json.loads(f.read().decode("utf-8"))
            broker, default = dict(data.get("broker") or {}), dict(data.get("default") or {})
        except FileNotFoundError:
            return
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            log.error("cannot read %s (%s): starting without dynamic broker configs", self.path, exc)
            return
        config.dynamic_broker = _usable(broker, per_broker=True, where="this broker")
        config.dynamic_default = _usable(default, per_broker=False, where="the cluster default")
        try:
            config.check_topic_configs({})
        except ConfigError as exc:  # together they make an invalid log config: keep the static one
            log.error("ignoring the stored dynamic broker configs (%s): %s", self.path, exc)
            config.dynamic_broker, config.dynamic_default = {}, {}

    async def save(self, config: BrokerConfig) -> None:
        """Write ``config``'s dynamic configs (in a worker thread). Raises OSError."""
        data = {
            "version": 1,
            "broker": _render(config.dynamic_broker),
            "default": _render(config.dynamic_default),
        }
        raw = json.dumps(data, indent=1, sort_keys=True).encode()
        if self._writing is None:
            self._writing = asyncio.Lock()
        async with self._writing:
            await asyncio.to_thread(self._fs.write_file_atomically, self.path, raw)


def _render(values: Mapping[str, Any]) -> dict[str, str | None]:
    return {name: BROKER_CONFIGS[name].render(value) for name, value in values.items()}


def _usable(stored: Mapping[str, Any], per_broker: bool, where: str) -> dict[str, Any]:
    usable: dict[str, Any] = {}
    for name, raw in stored.items():
        try:
            usable.update(parse_configs([(str(name), None if raw is None else str(raw))], per_broker))
        except ConfigError as exc:
            log.error("ignoring the stored dynamic config %s=%r of %s: %s", name, raw, where, exc)
    return usable
