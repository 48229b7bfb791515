"""A listener's view of the broker configuration, as Kafka's ``ListenerName.configPrefix`` reads it.

A setting ``name`` of listener ``L`` is ``listener.name.<l>.<name>`` (``l`` lower-cased) when set, else
the broker-wide ``name``. SASL's JAAS configuration is per mechanism too:
``listener.name.<l>.<mechanism>.sasl.jaas.config`` (mechanism lower-cased), else ``sasl.jaas.config``.
Prefixed values are parsed and validated by the broker-wide definition of ``name``.
"""

from __future__ import annotations

from typing import Any

from broker.config import BROKER_CONFIGS, BrokerConfig, ConfigError


class ListenerConfig:
    def __init__(self, config: BrokerConfig, listener: str) -> None:
        self.config = config
        self.listener = listener
        self.prefix = f"listener.name.{listener.lower()}."
        self._values: dict[str, Any] = {}
        for key, raw in config.unknown.items():
            if key.startswith(self.prefix):
                name = key[len(self.prefix) :]
                definition = BROKER_CONFIGS.get(_base_name(name))
                if definition is None:
                    continue  # not a setting that may be given per listener; the broker ignores it
                self._values[name] = definition.parse(raw)

    def get(self, name: str) -> Any:
        if name in self._values:
            return self._values[name]
        return self.config.get(name)

    def is_set(self, name: str) -> bool:
        return name in self._values or self.config.explicit.get(name) is not None

    def jaas_config(self, mechanism: str) -> str | None:
        """The ``sasl.jaas.config`` for ``mechanism`` on this listener, or None."""
        value = self._values.get(f"{mechanism.lower()}.sasl.jaas.config")
        if value is None:
            value = self.config.get("sasl.jaas.config")
        return str(value) if value is not None else None


def _base_name(name: str) -> str:
    """``plain.sasl.jaas.config`` -> ``sasl.jaas.config``: a mechanism's prefix before a SASL setting."""
    mechanism, dot, rest = name.partition(".")
    if dot and rest.startswith("sasl.") and mechanism not in ("sasl", "ssl"):
        return rest
    return name


def require(value: Any, message: str) -> Any:
    if value is None or value == "":
        raise ConfigError(message)
    return value
