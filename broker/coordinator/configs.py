"""The broker configs a coordinator reads, as a frozen dataclass resolved once at start-up.

Each field is declared with ``from_config(name, default)``: the Kafka property it is read from stands
beside Kafka's default, written once, and ``resolve`` reads every such field from the broker's
configs (through ``convert`` where the unit or type differs, e.g. minutes to milliseconds). A field
declared plainly is not configurable and keeps its default.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
C = TypeVar("C")


class BrokerConfigs(Protocol):
    def get(self, name: str) -> Any: ...


def from_config(name: str, default: T, convert: Callable[[Any], Any] | None = None) -> T:
    """A field read from broker config ``name``; ``default``: Kafka's default, for coordinators built
    without a broker (tests)."""
    field: T = dataclasses.field(default=default, metadata={"config": name, "convert": convert})
    return field


def resolve(cls: type[C], config: BrokerConfigs) -> C:
    """``cls`` with every ``from_config`` field read from ``config``."""
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        name = field.metadata.get("config")
        if name is not None:
            convert = field.metadata["convert"]
            values[field.name] = config.get(name) if convert is None else convert(config.get(name))
    return cls(**values)
