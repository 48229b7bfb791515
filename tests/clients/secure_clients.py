"""A produce-then-consume round trip with each real client library, given its own security settings."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from confluent_kafka import Consumer, KafkaException, Producer
from kafka import KafkaConsumer, KafkaProducer

TIMEOUT_S = 30.0


def confluent_round_trip(config: dict[str, Any], topic: str, value: bytes = b"hello") -> bytes:
    """Produce ``value`` and read it back; raises KafkaException (e.g. an authentication error)."""
    errors: list[Any] = []
    producer = Producer({**config, "error_cb": errors.append, "message.timeout.ms": int(TIMEOUT_S * 1000)})
    delivered: list[Any] = []
    producer.produce(topic, value, on_delivery=lambda err, msg: delivered.append(err))
    left = producer.flush(TIMEOUT_S)
    if left or delivered != [None]:
        raise KafkaException(errors[0] if errors else delivered[0] if delivered else "not delivered")
    consumer = Consumer({**config, "group.id": f"g-{topic}", "auto.offset.reset": "earliest"})
    try:
        consumer.subscribe([topic])
        for _ in range(int(TIMEOUT_S)):
            message = consumer.poll(1.0)
            if message is not None and message.error() is None:
                return bytes(message.value() or b"")
    finally:
        consumer.close()
    raise AssertionError("nothing consumed")


def confluent_auth_error(config: dict[str, Any]) -> str:
    """The error librdkafka reports when it cannot authenticate (its error callback's text)."""
    errors: list[Any] = []
    producer = Producer({**config, "error_cb": errors.append})
    for _ in range(int(TIMEOUT_S * 4)):
        producer.poll(0.25)
        if errors:
            return str(errors[0])
    raise AssertionError("librdkafka reported no error")


def kafka_python_round_trip(config: dict[str, Any], topic: str, value: bytes = b"hello") -> bytes:
    producer = KafkaProducer(**config, request_timeout_ms=int(TIMEOUT_S * 1000))
    producer.send(topic, value).get(timeout=TIMEOUT_S)
    producer.close()
    consumer = KafkaConsumer(topic, **config, auto_offset_reset="earliest", consumer_timeout_ms=int(TIMEOUT_S * 1000))
    try:
        for message in consumer:
            return bytes(message.value)
    finally:
        consumer.close()
    raise AssertionError("nothing consumed")


def aiokafka_round_trip(config: dict[str, Any], topic: str, value: bytes = b"hello") -> bytes:
    async def body() -> bytes:
        producer = AIOKafkaProducer(**config)
        await producer.start()
        try:
            await producer.send_and_wait(topic, value)
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(topic, **config, auto_offset_reset="earliest")
        await consumer.start()
        try:
            message = await consumer.getone()
            return bytes(message.value)
        finally:
            await consumer.stop()

    return asyncio.run(asyncio.wait_for(body(), TIMEOUT_S))


def client_ssl_context(ca: str, cert: str | None = None, key: str | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca)
    if cert is not None:
        context.load_cert_chain(cert, key)
    return context


def kcat(
    bootstrap: str, settings: dict[str, str], *args: str, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    command = [shutil.which("kcat") or "kcat", "-b", bootstrap]
    for key, value in settings.items():
        command += ["-X", f"{key}={value}"]
    return subprocess.run([*command, *args], input=stdin, capture_output=True, timeout=TIMEOUT_S * 2)
