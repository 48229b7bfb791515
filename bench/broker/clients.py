"""Client-side helpers shared by the workloads: confluent-kafka (librdkafka) producers, consumers, admin.

Every call here is bounded in time: a broker that stops answering makes a workload fail with
``WorkloadError`` (recorded in the table), never hang the suite.
"""

from __future__ import annotations

import time
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

QUIET = {"log_level": 3}  # librdkafka errors only: the table is the output


class WorkloadError(RuntimeError):
    """A workload could not complete against a broker (a missing API, an error code, a timeout)."""


def admin(bootstrap: str, **extra: Any) -> Any:
    return AdminClient({"bootstrap.servers": bootstrap, **QUIET, **extra})


def create_topic(
    bootstrap: str, topic: str, partitions: int = 1, timeout_s: float = 30.0, extra: dict[str, Any] | None = None
) -> None:
    """Create a topic through the admin API (CreateTopics) and wait until metadata shows all partitions."""
    client = admin(bootstrap, **(extra or {}))
    futures = client.create_topics([NewTopic(topic, partitions, 1)], operation_timeout=timeout_s)
    try:
        futures[topic].result(timeout_s)
    except KafkaException as exc:
        raise WorkloadError(f"CreateTopics {topic} ({partitions} partitions): {exc}") from None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        md = client.list_topics(topic, timeout=timeout_s)
        meta = md.topics.get(topic)
        if (
            meta is not None
            and meta.error is None
            and len(meta.partitions) == partitions
            and all(p.leader >= 0 for p in meta.partitions.values())
        ):
            return
        time.sleep(0.02)
    raise WorkloadError(f"topic {topic} not visible with {partitions} partitions in metadata after {timeout_s}s")


def producer(bootstrap: str, acks: str = "1", linger_ms: int = 5, batch_size: int = 1 << 20, **extra: Any) -> Any:
    config: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "acks": acks,
        "linger.ms": linger_ms,
        "batch.size": batch_size,
        "enable.idempotence": False,
        "queue.buffering.max.kbytes": 1 << 20,  # 1 GiB: the Python loop should not stall on a full queue
        "queue.buffering.max.messages": 1_000_000,
        # Delivery reports for failures only: no Python callback per record, yet no silent loss.
        "delivery.report.only.error": True,
        "on_delivery": _record_failure,
        **QUIET,
        **extra,
    }
    return Producer(config)


_failures: list[str] = []


def _record_failure(err: Any, msg: Any) -> None:
    if err is not None:
        _failures.append(f"{msg.topic()}[{msg.partition()}]: {err}")


def consumer(bootstrap: str, **extra: Any) -> Any:
    config: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "group.id": "bench",  # required by librdkafka even with assign(); no group protocol is used
        "enable.auto.commit": False,
        "enable.partition.eof": False,
        **QUIET,
        **extra,
    }
    return Consumer(config)


BATCH = 10_000  # records per produce_batch call


def produce_n(prod: Any, topic: str, value: bytes, n: int, partitions: int = 1, timeout_s: float = 60.0) -> None:
    """Produce ``n`` copies of ``value`` spread evenly over ``partitions``, then flush (bounded).

    ``produce_batch`` hands librdkafka up to 10,000 records of one partition per Python call: with
    ``produce()`` per record the Python loop (~0.8 us a record) was the limit of every 100-byte
    workload, whatever the broker. (Its per-message ``partition`` key is ignored, hence one call per
    partition.)"""
    chunk: list[dict[str, Any]] = [{"value": value} for _ in range(min(BATCH, n))]
    left_over = n
    while left_over:
        for partition in range(partitions):
            count = min(len(chunk), -(-left_over // (partitions - partition)))  # an even share
            if count:
                _produce_batch(prod, topic, chunk[:count], partition)
                left_over -= count
        prod.poll(0)
    left = prod.flush(timeout_s)
    if left:
        raise WorkloadError(f"{left} record(s) of {n} still unacknowledged after {timeout_s}s")
    if _failures:
        failed_count, first = len(_failures), _failures[0]
        _failures.clear()
        raise WorkloadError(f"{failed_count} record(s) of {n} failed; the first: {first}")


def _produce_batch(prod: Any, topic: str, messages: list[dict[str, Any]], partition: int) -> None:
    """Queue ``messages`` for ``partition``; waits while the local queue is full."""
    pending = messages
    while pending:
        try:
            prod.produce_batch(topic, pending, partition=partition, on_delivery=_record_failure)
        except BufferError:  # the local queue is full: let librdkafka drain it
            prod.poll(0.01)
            continue
        failed = [m for m in pending if "_error" in m]
        for message in failed:
            err = message.pop("_error")
            if err.code() != KafkaError._QUEUE_FULL:
                raise WorkloadError(f"produce to {topic}[{partition}] refused locally: {err}")
        if failed:
            prod.poll(0.01)
        pending = failed


def raise_on_error(msg: Any) -> None:
    err = msg.error()
    if err is not None:
        raise WorkloadError(f"consumer error on {msg.topic()}[{msg.partition()}]: {err}")
