"""Shared by the transaction tests with real clients: a broker configured for them, reading a
partition back with either isolation level, and asking the coordinator through a raw socket."""

from __future__ import annotations

import time
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from protocol.messages.describe_transactions import DescribeTransactionsRequest
from tests.harness import BrokerProcess
from tests.raw_client import RawClient

TIMEOUT_S = 30.0
OVERRIDES = {
    "transaction.state.log.num.partitions": "5",
    "offsets.topic.num.partitions": "5",
    "group.initial.rebalance.delay.ms": "0",
    "transaction.abort.timed.out.transaction.cleanup.interval.ms": "300",
}


def make_topic(broker: BrokerProcess, name: str, partitions: int = 1) -> None:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    for future in admin.create_topics([NewTopic(name, partitions, 1)]).values():
        future.result(TIMEOUT_S)


def read(broker: BrokerProcess, topic: str, isolation: str, expect: int, partition: int = 0) -> list[tuple[int, bytes]]:
    """(offset, value) of the records of ``topic``-``partition`` a consumer with ``isolation``
    (read_committed / read_uncommitted) gets: waits for ``expect`` of them, then a moment more to
    see that no others come."""
    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": "txn-reader",  # never joined: manual assignment
            "isolation.level": isolation,
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(topic, partition, 0)])
    got: list[tuple[int, bytes]] = []
    deadline = time.monotonic() + TIMEOUT_S
    quiet_until: float | None = None
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None and message.error() is None:
                offset, value = message.offset(), message.value()
                assert offset is not None and value is not None
                got.append((offset, value))
            if len(got) >= expect:
                quiet_until = quiet_until or time.monotonic() + 1.0
                if time.monotonic() >= quiet_until:
                    break
    finally:
        consumer.close()
    return got


def describe(broker: BrokerProcess, transactional_id: str) -> Any:
    client = RawClient(broker)
    try:
        response = client.request(65, 0, DescribeTransactionsRequest(transactional_ids=[transactional_id]))
    finally:
        client.close()
    return response.transaction_states[0]


def wait_for_state(broker: BrokerProcess, transactional_id: str, state: str) -> Any:
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        found = describe(broker, transactional_id)
        if found.transaction_state == state or time.monotonic() > deadline:
            assert found.transaction_state == state, found
            return found
        time.sleep(0.1)
