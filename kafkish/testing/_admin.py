"""The admin calls the test kit makes, through confluent-kafka's AdminClient (librdkafka): create a
topic, and drop every topic and consumer group. One AdminClient per bootstrap string is kept for the
life of the process, so a ``reset()`` costs requests, not connections.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_ADMINS: dict[str, Any] = {}


def admin_client(bootstrap: str) -> Any:
    try:
        from confluent_kafka.admin import AdminClient
    except ImportError:  # pragma: no cover - depends on the install
        raise RuntimeError("kafkish's test kit needs confluent-kafka: pip install 'kafkish[testing]'") from None
    client = _ADMINS.get(bootstrap)
    if client is None:
        client = _ADMINS[bootstrap] = AdminClient({"bootstrap.servers": bootstrap})
    return client


def create_topic(
    bootstrap: str, name: str, partitions: int = 1, config: Mapping[str, str] | None = None, timeout: float = 30.0
) -> None:
    from confluent_kafka.cimpl import NewTopic

    topic = NewTopic(name, num_partitions=partitions, replication_factor=1, config=dict(config or {}))
    for future in admin_client(bootstrap).create_topics([topic], operation_timeout=timeout).values():
        future.result(timeout)


def delete_all(bootstrap: str, timeout: float = 30.0) -> None:
    """Delete every non-internal topic and every consumer group (which must have no members)."""
    admin = admin_client(bootstrap)
    topics = [name for name in admin.list_topics(timeout=timeout).topics if not name.startswith("__")]
    if topics:
        for future in admin.delete_topics(topics, operation_timeout=timeout).values():
            future.result(timeout)
    groups = [g.group_id for g in admin.list_consumer_groups(request_timeout=timeout).result(timeout).valid]
    if groups:
        for group, future in admin.delete_consumer_groups(groups, request_timeout=timeout).items():
            try:
                future.result(timeout)
            except Exception as exc:
                if "NON_EMPTY_GROUP" in repr(exc):
                    raise RuntimeError(
                        f"reset(): consumer group {group!r} still has members; close the test's consumers first"
                    ) from exc
                raise


def forget(bootstrap: str) -> None:
    """Drop the cached AdminClient of a broker about to stop, so it does not keep reconnecting."""
    _ADMINS.pop(bootstrap, None)
