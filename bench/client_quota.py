"""Client quotas: what a producer and a consumer get through under a byte rate
(``python -m bench.client_quota``).

One broker with Kafka's default quota window (11 samples of 1 s). A confluent-kafka producer with
client id ``p`` writes 1 kB records as fast as it can for ``SECONDS`` under ``producer_byte_rate``;
then a consumer with client id ``c`` reads the topic from the start for as long under
``consumer_byte_rate``. Printed: the bytes acknowledged (read) per second over the run, against the
quota, and the throttle times the client reported.

The rate is Kafka's: measured over at least ten whole windows, so a fresh client gets up to ten seconds
of its quota at once before it is held back; over ``SECONDS`` the average is then at most
quota * (SECONDS + 10) / SECONDS (a producer's quota also counts its requests' headers).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from protocol.messages.alter_client_quotas import (
    AlterClientQuotasRequest,
    AlterClientQuotasRequestEntryData,
    EntityData,
    OpData,
)
from tests.harness import BrokerProcess
from tests.raw_client import RawClient

RATE = 500_000
SECONDS = 20.0
TOPIC = "quota-bench"


def _set(broker: BrokerProcess, client_id: str, key: str, value: float) -> None:
    raw = RawClient(broker)
    try:
        entry = AlterClientQuotasRequestEntryData(
            entity=[EntityData(entity_type="client-id", entity_name=client_id)], ops=[OpData(key=key, value=value)]
        )
        assert raw.request(49, 1, AlterClientQuotasRequest(entries=[entry])).entries[0].error_code == 0
    finally:
        raw.close()


def produce(broker: BrokerProcess) -> dict[str, Any]:
    acked = [0]
    throttles: list[float] = []

    def delivered(err: Any, msg: Any) -> None:
        if err is None:
            acked[0] += len(msg.value())

    producer = Producer({
        "bootstrap.servers": broker.bootstrap, "client.id": "p", "linger.ms": 5, "batch.size": 65536,
        "queue.buffering.max.messages": 5000, "throttle_cb": lambda e: throttles.append(e.throttle_time),
    })  # fmt: skip
    start = time.monotonic()
    while time.monotonic() - start < SECONDS:
        try:
            producer.produce(TOPIC, b"x" * 1000, on_delivery=delivered)
        except BufferError:
            producer.poll(0.05)
        producer.poll(0)
    elapsed = time.monotonic() - start
    producer.purge()
    producer.flush(0)
    return {"bytes/s": round(acked[0] / elapsed), "quota": RATE, "throttles": len(throttles)}


def consume(broker: BrokerProcess) -> dict[str, Any]:
    throttles: list[float] = []
    consumer = Consumer({
        "bootstrap.servers": broker.bootstrap, "client.id": "c", "group.id": "quota-bench",
        "throttle_cb": lambda e: throttles.append(e.throttle_time),
    })  # fmt: skip
    consumer.assign([TopicPartition(TOPIC, 0, OFFSET_BEGINNING)])
    read = 0
    start = time.monotonic()
    while time.monotonic() - start < SECONDS:
        message = consumer.poll(0.1)
        if message is not None and message.error() is None:
            read += len(message.value() or b"")
    elapsed = time.monotonic() - start
    consumer.close()
    return {"bytes/s": round(read / elapsed), "quota": RATE, "throttles": len(throttles)}


def main() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, BrokerProcess(Path(tmp)) as broker:
        _set(broker, "p", "producer_byte_rate", RATE)
        _set(broker, "c", "consumer_byte_rate", RATE)
        results = {"producer": produce(broker)}
        print("producer", results["producer"], file=sys.stderr, flush=True)
        results["consumer"] = consume(broker)
        return results


if __name__ == "__main__":
    for case, figures in main().items():
        print(f"{case:10} {figures}")
