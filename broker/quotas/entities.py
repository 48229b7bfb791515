"""Client quota entities and values as Kafka keeps them. Pure: no I/O, no asyncio.

- An entity is a user, a client id, or both; either may be the default (``<default>``, None in the
  protocol). In ZooKeeper and here it is named by its config path below ``/config``:
  ``users/<user>``, ``users/<user>/clients/<client-id>``, ``clients/<client-id>``, with names
  sanitized as Kafka's ``Sanitizer`` does (URL-encoding, ``*`` as ``%2A``, space as ``%20``).
- The quota keys are ``producer_byte_rate``, ``consumer_byte_rate`` (bytes a second, Long) and
  ``request_percentage`` (percent of one handler's time, Double); values are kept as Kafka writes
  them in ``/config/...`` (strings). Other keys in a user's node (its SCRAM credentials) are not
  quotas and are left alone.
- Precedence (Kafka's ``DefaultQuotaCallback``), per quota key, first match wins:
  user+client-id, user+default client-id, user, default user+client-id, default user+default
  client-id, default user, client-id, default client-id. The level that matched decides who shares a
  rate: a user-level quota is shared by all the user's client ids, a default-client-id one is kept
  per client id (``quota_for``'s metric key).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple
from urllib.parse import quote, unquote

USER, CLIENT_ID = "user", "client-id"
DEFAULT = "<default>"
PRODUCER_BYTE_RATE = "producer_byte_rate"
CONSUMER_BYTE_RATE = "consumer_byte_rate"
REQUEST_PERCENTAGE = "request_percentage"
LONG_KEYS = frozenset({PRODUCER_BYTE_RATE, CONSUMER_BYTE_RATE})
QUOTA_KEYS = frozenset({*LONG_KEYS, REQUEST_PERCENTAGE})


class InvalidQuota(ValueError):
    """A request names an entity or a value Kafka refuses (INVALID_REQUEST)."""


class UnsupportedEntityType(ValueError):
    """A filter names an entity type Kafka does not know (UNSUPPORTED_VERSION, as Kafka answers)."""


def sanitize(name: str) -> str:
    """Kafka's ``Sanitizer.sanitize``: Java's URLEncoder with ``*`` and space percent-encoded."""
    return quote(name, safe="").replace("~", "%7E")


def desanitize(name: str) -> str:
    return unquote(name)


class Entity(NamedTuple):
    """(user, client id): each a name, None for the default entity, or absent (``ABSENT``)."""

    user: str | bool | None
    client_id: str | bool | None


ABSENT = False  # an Entity field that is not part of the entity


def entity_path(entity: Entity) -> str:
    """The entity's config path below /config (sanitized names, ``<default>`` for defaults)."""

    def name(value: str | bool | None) -> str:
        return DEFAULT if value is None else sanitize(str(value))

    if entity.user is not ABSENT and entity.client_id is not ABSENT:
        return f"users/{name(entity.user)}/clients/{name(entity.client_id)}"
    if entity.user is not ABSENT:
        return f"users/{name(entity.user)}"
    if entity.client_id is not ABSENT:
        return f"clients/{name(entity.client_id)}"
    raise InvalidQuota("Invalid empty client quota entity")


def path_entity(path: str) -> Entity | None:
    """The entity of a config path (None: not a quota entity's path)."""

    def name(part: str) -> str | None:
        return None if part == DEFAULT else desanitize(part)

    parts = path.split("/")
    if len(parts) == 2 and parts[0] == "users" and parts[1]:
        return Entity(name(parts[1]), ABSENT)
    if len(parts) == 2 and parts[0] == "clients" and parts[1]:
        return Entity(ABSENT, name(parts[1]))
    if len(parts) == 4 and parts[0] == "users" and parts[2] == "clients" and parts[1] and parts[3]:
        return Entity(name(parts[1]), name(parts[3]))
    return None


def entity_from_request(items: Iterable[tuple[str, str | None]]) -> Entity:
    """An AlterClientQuotas entity ((type, name or None) pairs), checked as Kafka checks it."""
    user: str | bool | None = ABSENT
    client_id: str | bool | None = ABSENT
    by_type = dict(items)  # Kafka reads the entity as a map: of a type given twice, the last counts
    if not by_type:
        raise InvalidQuota("Invalid empty client quota entity")
    for entity_type, entity_name in by_type.items():
        if entity_type == USER:
            user = entity_name
        elif entity_type == CLIENT_ID:
            client_id = entity_name
        else:
            raise InvalidQuota(f"Unhandled client quota entity type: {entity_type}")
        if entity_name is not None and not entity_name:
            raise InvalidQuota(f"Empty {entity_type} not supported")
    return Entity(user, client_id)


def entity_items(entity: Entity) -> list[tuple[str, str | None]]:
    """(type, name or None for the default) pairs, user first."""
    items: list[tuple[str, str | None]] = []
    if entity.user is not ABSENT:
        items.append((USER, None if entity.user is None else str(entity.user)))
    if entity.client_id is not ABSENT:
        items.append((CLIENT_ID, None if entity.client_id is None else str(entity.client_id)))
    return items


def stored_value(key: str, value: float) -> str:
    """The text Kafka stores for a quota value, or InvalidQuota (Kafka's ``alterClientQuotas``)."""
    if key not in QUOTA_KEYS:
        raise InvalidQuota(f"Invalid configuration key {key}")
    if key in LONG_KEYS:
        epsilon = 1e-6
        as_long = int(value + epsilon)
        if abs(as_long - value) > epsilon:
            raise InvalidQuota(f"Configuration {key} must be a Long value")
        return str(as_long)
    return repr(float(value))


def quota_values(config: Mapping[str, object]) -> dict[str, float]:
    """The quota keys of a config node (others, like SCRAM credentials, skipped), as numbers."""
    values = {}
    for key, text in config.items():
        if key in QUOTA_KEYS:
            try:
                values[key] = float(str(text))
            except ValueError:
                continue
    return values


class Quota(NamedTuple):
    bound: float
    metric_key: tuple[str, str]  # (sanitized user or "", client id or ""): who shares the rate


def quota_for(
    configs: Mapping[str, Mapping[str, object]], key: str, user: str, client_id: str, static_default: float | None
) -> Quota | None:
    """The quota ``key`` of a connection of ``user`` (a principal's name) with ``client_id``: the
    first of Kafka's eight levels that sets it, else the static default (``quota.*.default``)."""
    u, c = sanitize(user), sanitize(client_id)
    levels = (
        (f"users/{u}/clients/{c}", (u, c)),
        (f"users/{u}/clients/{DEFAULT}", (u, c)),
        (f"users/{u}", (u, "")),
        (f"users/{DEFAULT}/clients/{c}", (u, c)),
        (f"users/{DEFAULT}/clients/{DEFAULT}", (u, c)),
        (f"users/{DEFAULT}", (u, "")),
        (f"clients/{c}", ("", c)),
        (f"clients/{DEFAULT}", ("", c)),
    )
    for path, metric_key in levels:
        config = configs.get(path)
        if config is not None and key in config:
            try:
                return Quota(float(str(config[key])), metric_key)
            except ValueError:
                continue
    if static_default is not None:
        return Quota(static_default, ("", c))
    return None
