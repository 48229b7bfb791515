"""Client quotas against a real broker: AlterClientQuotas / DescribeClientQuotas as Kafka answers
them (raw requests: neither kafka-python nor confluent-kafka has these admin calls), and enforcement
seen by confluent-kafka producers and consumers (throttle callbacks, bytes acknowledged bounded).

One broker for the module (PLAINTEXT, and SASL_PLAINTEXT for a user's quota), with one-second quota
windows (``quota.window.num=2``) so that a rate is measured over about a second and throttles stay
short. Bounds are on bytes acknowledged in a time, never on how long something took."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer

from protocol.errors import ErrorCode
from protocol.messages.alter_client_quotas import (
    AlterClientQuotasRequest,
    AlterClientQuotasRequestEntryData,
    EntityData,
    OpData,
)
from protocol.messages.describe_client_quotas import ComponentData, DescribeClientQuotasRequest
from protocol.messages.metadata import MetadataRequest
from tests.harness import BrokerProcess
from tests.raw_client import RawClient

ALTER, DESCRIBE = 49, 48
JAAS = (
    "org.apache.kafka.common.security.plain.PlainLoginModule required "
    'username="admin" password="admin-secret" user_alice="alice-secret";'
)
WINDOW_S = 1.0  # (quota.window.num - 1) * quota.window.size.seconds


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    tmp: Path = tmp_path_factory.mktemp("quotas")
    settings = {
        "quota.window.num": "2",
        "quota.window.size.seconds": "1",
        "listeners": "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
        "sasl.enabled.mechanisms": "PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS,
    }
    with BrokerProcess(tmp, settings) as process:
        yield process


def op(key: str, value: float) -> OpData:
    return OpData(key=key, value=value)


def entity(**names: str | None) -> list[EntityData]:
    return [EntityData(entity_type=t.replace("_", "-"), entity_name=n) for t, n in names.items()]


def alter(
    raw: RawClient, entries: list[tuple[list[EntityData], list[OpData]]], validate_only: bool = False, version: int = 1
) -> Any:
    body = AlterClientQuotasRequest(
        entries=[AlterClientQuotasRequestEntryData(entity=e, ops=ops) for e, ops in entries],
        validate_only=validate_only,
    )
    return raw.request(ALTER, version, body)


def describe(
    raw: RawClient, components: list[tuple[str, int, str | None]], strict: bool = False, version: int = 1
) -> Any:
    body = DescribeClientQuotasRequest(
        components=[ComponentData(entity_type=t, match_type=m, match=n) for t, m, n in components], strict=strict
    )
    return raw.request(DESCRIBE, version, body)


def described(response: Any) -> dict[tuple[tuple[str, str | None], ...], dict[str, float]]:
    assert response.error_code == ErrorCode.NONE, response.error_message
    return {
        tuple((e.entity_type, e.entity_name) for e in entry.entity): {v.key: v.value for v in entry.values}
        for entry in response.entries
    }


def test_alter_and_describe_with_every_match_type(broker: BrokerProcess) -> None:
    raw = RawClient(broker)
    try:
        answer = alter(
            raw,
            [
                (entity(user="alice"), [op("producer_byte_rate", 1024), op("request_percentage", 50.5)]),
                (entity(user="alice", client_id="app 1"), [op("consumer_byte_rate", 2048)]),
                (entity(client_id=None), [op("producer_byte_rate", 4096)]),
                (entity(user=None, client_id=None), [op("consumer_byte_rate", 8192)]),
            ],
            version=0,
        )
        assert [e.error_code for e in answer.entries] == [0, 0, 0, 0]
        every = described(describe(raw, [], version=0))
        assert every == {
            (("user", "alice"),): {"producer_byte_rate": 1024.0, "request_percentage": 50.5},
            (("user", "alice"), ("client-id", "app 1")): {"consumer_byte_rate": 2048.0},
            (("client-id", None),): {"producer_byte_rate": 4096.0},
            (("user", None), ("client-id", None)): {"consumer_byte_rate": 8192.0},
        }
        assert set(described(describe(raw, [("user", 0, "alice")]))) == {
            (("user", "alice"),),
            (("user", "alice"), ("client-id", "app 1")),
        }
        assert set(described(describe(raw, [("user", 0, "alice")], strict=True))) == {(("user", "alice"),)}
        assert set(described(describe(raw, [("client-id", 1, None)]))) == {
            (("client-id", None),),
            (("user", None), ("client-id", None)),
        }
        assert set(described(describe(raw, [("user", 2, None), ("client-id", 2, None)], strict=True))) == {
            (("user", "alice"), ("client-id", "app 1")),
            (("user", None), ("client-id", None)),
        }
        # removing the last key removes the entity; validate_only changes nothing
        answer = alter(raw, [(entity(client_id=None), [OpData(key="producer_byte_rate", remove=True)])])
        assert answer.entries[0].error_code == 0
        answer = alter(raw, [(entity(user="bob"), [op("producer_byte_rate", 1)])], validate_only=True)
        assert answer.entries[0].error_code == 0
        assert set(described(describe(raw, [("client-id", 1, None)], strict=True))) == set()
        assert described(describe(raw, [("user", 0, "bob")])) == {}
    finally:
        raw.close()
    # kept in the log dir: a restarted broker describes the same
    broker.restart()
    raw = RawClient(broker)
    try:
        assert (("user", "alice"),) in described(describe(raw, []))
        answer = alter(
            raw,
            [
                (
                    entity(user="alice"),
                    [OpData(key="producer_byte_rate", remove=True), OpData(key="request_percentage", remove=True)],
                ),
                (entity(user="alice", client_id="app 1"), [OpData(key="consumer_byte_rate", remove=True)]),
                (entity(user=None, client_id=None), [OpData(key="consumer_byte_rate", remove=True)]),
            ],
        )
        assert [e.error_code for e in answer.entries] == [0, 0, 0]
        assert described(describe(raw, [])) == {}
    finally:
        raw.close()


def test_bad_entities_keys_values_and_filters(broker: BrokerProcess) -> None:
    raw = RawClient(broker)
    try:
        ok = [OpData(key="producer_byte_rate", value=10)]
        answer = alter(
            raw,
            [
                ([], ok),
                (entity(user=""), ok),
                ([EntityData(entity_type="group", entity_name="g")], ok),
                (entity(user="u") + entity(user="v"), ok),
                (entity(user="u"), [OpData(key="fetch_byte_rate", value=10)]),
                (entity(user="u"), [OpData(key="producer_byte_rate", value=10.5)]),
                (entity(user="u"), [OpData(key="request_percentage", value=12.5)]),
            ],
        )
        codes = [e.error_code for e in answer.entries]
        # a type given twice: the last name counts, as Kafka reads the entity as a map
        assert codes == [ErrorCode.INVALID_REQUEST] * 3 + [ErrorCode.NONE] + [ErrorCode.INVALID_REQUEST] * 2 + [0]
        messages = [e.error_message for e in answer.entries]
        assert messages[0] == "Invalid empty client quota entity"
        assert messages[1] == "Empty user not supported"
        assert messages[4] == "Invalid configuration key fetch_byte_rate"
        assert messages[5] == "Configuration producer_byte_rate must be a Long value"
        assert [(e.entity_type, e.entity_name) for e in answer.entries[2].entity] == [("group", "g")]
        filters: list[tuple[list[tuple[str, int, str | None]], int]] = [
            ([("", 0, "x")], ErrorCode.INVALID_REQUEST),
            ([("user", 0, "a"), ("user", 1, None)], ErrorCode.INVALID_REQUEST),
            ([("user", 0, None)], ErrorCode.INVALID_REQUEST),
            ([("user", 7, None)], ErrorCode.INVALID_REQUEST),
            ([("group", 2, None)], ErrorCode.UNSUPPORTED_VERSION),
        ]
        for components, code in filters:
            response = describe(raw, components)
            assert (response.error_code, response.entries) == (code, None), components
        assert described(describe(raw, [("user", 0, "u")])) == {(("user", "u"),): {"request_percentage": 12.5}}
        assert described(describe(raw, [("user", 0, "v")])) == {(("user", "v"),): {"producer_byte_rate": 10.0}}
        alter(raw, [(entity(user="u"), [OpData(key="request_percentage", remove=True)])])
        alter(raw, [(entity(user="v"), [OpData(key="producer_byte_rate", remove=True)])])
    finally:
        raw.close()


class Deliveries:
    """What a producer got acknowledged, and when."""

    def __init__(self) -> None:
        self.acked_bytes = 0
        self.errors: list[str] = []

    def __call__(self, err: Any, msg: Any) -> None:
        if err is None:
            self.acked_bytes += len(msg.value())
        else:
            self.errors.append(str(err))


def set_quota(broker: BrokerProcess, names: dict[str, str | None], key: str, value: float | None) -> None:
    raw = RawClient(broker)
    try:
        ops = [OpData(key=key, remove=True) if value is None else op(key, value)]
        answer = alter(raw, [(entity(**names), ops)])
        assert answer.entries[0].error_code == ErrorCode.NONE, answer.entries[0].error_message
    finally:
        raw.close()


def running(start: float, at_least_s: float, throttles: list[int]) -> bool:
    """Keep a client going for ``at_least_s`` and until it has seen a throttle time (a loaded machine
    may take long to get there), but not forever: the bound below holds for any duration."""
    elapsed = time.monotonic() - start
    return elapsed < 30.0 and (elapsed < at_least_s or not any(throttles))


def upper_bound(rate: float, elapsed: float, slack: int) -> float:
    """The most a client within ``rate`` can have had in ``elapsed`` seconds: the rate over the
    time and one window's burst, with room for the measuring, plus the requests in flight."""
    return rate * (elapsed + WINDOW_S) * 1.5 + slack


def test_a_producer_over_producer_byte_rate_is_throttled(broker: BrokerProcess) -> None:
    rate = 20_000
    set_quota(broker, {"client_id": "slow-producer"}, "producer_byte_rate", rate)
    throttles: list[int] = []
    deliveries = Deliveries()
    producer = Producer(
        {
            "bootstrap.servers": broker.bootstrap,
            "client.id": "slow-producer",
            "linger.ms": 5,
            "batch.size": 16384,
            "queue.buffering.max.messages": 1000,
            "throttle_cb": lambda event: throttles.append(int(event.throttle_time * 1000)),
        }
    )
    value = b"x" * 1000
    start = time.monotonic()
    try:
        while running(start, 3.0, throttles):
            try:
                producer.produce("quota-produce", value, on_delivery=deliveries)
            except BufferError:
                producer.poll(0.05)
                continue
            producer.poll(0)
        producer.poll(0)
        elapsed = time.monotonic() - start
        acked = deliveries.acked_bytes
    finally:
        producer.purge()
        producer.flush(0)
        set_quota(broker, {"client_id": "slow-producer"}, "producer_byte_rate", None)
    assert max(throttles, default=0) > 0, "the producer never saw a throttle time"
    assert acked <= upper_bound(rate, elapsed, slack=2 * 16384 * 5), (acked, elapsed)
    # another client id is not held back by it
    other = Producer({"bootstrap.servers": broker.bootstrap, "client.id": "fast-producer", "linger.ms": 5})
    free = Deliveries()
    for _ in range(2000):
        other.produce("quota-produce", value, on_delivery=free)
        other.poll(0)
    assert other.flush(30) == 0
    assert free.acked_bytes == 2000 * len(value)


def test_a_consumer_over_consumer_byte_rate_is_throttled(broker: BrokerProcess) -> None:
    # small batches: a batch larger than the quota allows in a window would be throttled forever (as in Kafka)
    loader = Producer(
        {"bootstrap.servers": broker.bootstrap, "client.id": "loader", "linger.ms": 5, "batch.size": 4096}
    )
    for _ in range(600):
        loader.produce("quota-fetch", b"y" * 1000)
        loader.poll(0)
    assert loader.flush(30) == 0
    rate = 20_000
    set_quota(broker, {"user": "ANONYMOUS", "client_id": "slow-consumer"}, "consumer_byte_rate", rate)
    throttles: list[int] = []
    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "client.id": "slow-consumer",
            "group.id": "quota-fetch",
            "enable.auto.commit": False,
            "throttle_cb": lambda event: throttles.append(int(event.throttle_time * 1000)),
        }
    )
    from confluent_kafka import OFFSET_BEGINNING, TopicPartition

    consumed = 0
    try:
        consumer.assign([TopicPartition("quota-fetch", 0, OFFSET_BEGINNING)])
        start = time.monotonic()
        while running(start, 3.0, throttles):
            message = consumer.poll(0.1)
            if message is not None and message.error() is None:
                consumed += len(message.value() or b"")
        elapsed = time.monotonic() - start
    finally:
        consumer.close()
        set_quota(broker, {"user": "ANONYMOUS", "client_id": "slow-consumer"}, "consumer_byte_rate", None)
    assert max(throttles, default=0) > 0, "the consumer never saw a throttle time"
    assert consumed <= upper_bound(rate, elapsed, slack=2 * 20_000), (consumed, elapsed)


def test_request_percentage_throttles_a_busy_client(broker: BrokerProcess) -> None:
    set_quota(broker, {"client_id": "busy"}, "request_percentage", 0.01)  # 0.1 ms of handler time a second
    raw = RawClient(broker, client_id="busy")
    try:
        throttles = []
        for _ in range(50):
            response = raw.request(3, 9, MetadataRequest(topics=None))  # Metadata v9: throttles client-side
            throttles.append(response.throttle_time_ms)
            if response.throttle_time_ms:
                break
    finally:
        raw.close()
        set_quota(broker, {"client_id": "busy"}, "request_percentage", None)
    # a request quota throttles at most one sample window (Kafka's ClientRequestQuotaManager)
    assert 0 < throttles[-1] <= 1000, throttles
    other = RawClient(broker, client_id="idle")
    try:
        assert other.request(3, 9, MetadataRequest(topics=None)).throttle_time_ms == 0
    finally:
        other.close()


def test_a_user_quota_holds_that_sasl_user_only(broker: BrokerProcess) -> None:
    rate = 20_000
    set_quota(broker, {"user": "alice"}, "producer_byte_rate", rate)
    throttles: list[int] = []
    deliveries = Deliveries()
    alice = Producer(
        {
            "bootstrap.servers": f"127.0.0.1:{broker.ports['SASL_PLAINTEXT']}",
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "PLAIN",
            "sasl.username": "alice",
            "sasl.password": "alice-secret",
            "client.id": "shared",
            "linger.ms": 5,
            "batch.size": 16384,
            "queue.buffering.max.messages": 1000,
            "throttle_cb": lambda event: throttles.append(int(event.throttle_time * 1000)),
        }
    )
    value = b"z" * 1000
    start = time.monotonic()
    try:
        while running(start, 2.0, throttles):
            try:
                alice.produce("quota-user", value, on_delivery=deliveries)
            except BufferError:
                alice.poll(0.05)
                continue
            alice.poll(0)
        alice.poll(0)
        elapsed = time.monotonic() - start
        acked = deliveries.acked_bytes
    finally:
        alice.purge()
        alice.flush(0)
    anonymous_throttles: list[int] = []
    anonymous = Producer(
        {
            "bootstrap.servers": broker.bootstrap,
            "client.id": "shared",
            "linger.ms": 5,
            "throttle_cb": lambda event: anonymous_throttles.append(int(event.throttle_time * 1000)),
        }
    )
    free = Deliveries()
    try:
        for _ in range(1000):
            anonymous.produce("quota-user", value, on_delivery=free)
            anonymous.poll(0)
        assert anonymous.flush(30) == 0
    finally:
        set_quota(broker, {"user": "alice"}, "producer_byte_rate", None)
    assert max(throttles, default=0) > 0, "alice never saw a throttle time"
    assert acked <= upper_bound(rate, elapsed, slack=2 * 16384 * 5), (acked, elapsed)
    assert free.acked_bytes == 1000 * len(value) and max(anonymous_throttles, default=0) == 0


def test_kafka_pythons_own_encoding_of_the_quota_apis(broker: BrokerProcess) -> None:
    """kafka-python has the two APIs' messages (no admin calls for them): its encoder and decoder,
    at the version it picks from ApiVersions, against the broker's."""
    from kafka.admin import KafkaAdminClient
    from kafka.protocol.admin import AlterClientQuotasRequest as KpAlter
    from kafka.protocol.admin import DescribeClientQuotasRequest as KpDescribe

    client = KafkaAdminClient(bootstrap_servers=broker.bootstrap, client_id="kafka-python-quotas")
    try:
        manager: Any = client._manager  # kafka-python's own way of sending a request to a broker

        def alter_one(name: str | None, key: str, value: float) -> Any:
            entity = KpAlter.EntryData.EntityData(entity_type="client-id", entity_name=name)
            op_ = KpAlter.EntryData.OpData(key=key, value=value, remove=False)
            request = KpAlter(entries=[KpAlter.EntryData(entity=[entity], ops=[op_])], validate_only=False)
            return manager.run(manager.send, request).entries[0]

        assert alter_one(None, "consumer_byte_rate", 4096).error_code == 0
        refused = alter_one("kp", "producer_byte_rate", 0.5)
        assert (refused.error_code, refused.error_message) == (
            ErrorCode.INVALID_REQUEST,
            "Configuration producer_byte_rate must be a Long value",
        )
        describe_default = KpDescribe(
            components=[KpDescribe.ComponentData(entity_type="client-id", match_type=1, match=None)], strict=True
        )
        answer = manager.run(manager.send, describe_default)
        assert answer.error_code == 0
        assert [(e.entity_type, e.entity_name) for e in answer.entries[0].entity] == [("client-id", None)]
        assert [(v.key, v.value) for v in answer.entries[0].values] == [("consumer_byte_rate", 4096.0)]
        remove = KpAlter.EntryData.OpData(key="consumer_byte_rate", value=0.0, remove=True)
        entity = KpAlter.EntryData.EntityData(entity_type="client-id", entity_name=None)
        removal = KpAlter(entries=[KpAlter.EntryData(entity=[entity], ops=[remove])], validate_only=False)
        assert manager.run(manager.send, removal).entries[0].error_code == 0
    finally:
        client.close()
