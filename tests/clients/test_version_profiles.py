"""``kafkish.api.version.profile``: the broker presents itself as one Kafka release, and clients see it.

kafka-python infers the broker's version from ApiVersions (the newest release whose marker API version
is advertised), so it shows what each profile looks like to a client; the other clients then work
against it at the versions it allows.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer
from kafka import KafkaProducer

from broker.config import BROKER_CONFIGS
from broker.version_profiles import DEFAULT_PROFILE, PROFILES
from protocol.messages.api_versions import API_VERSIONS, ApiVersionsRequest
from tests.harness import BrokerProcess
from tests.raw_client import RawClient

TIMEOUT_S = 15


def test_the_property_offers_every_profile_and_defaults_to_kafka_39() -> None:
    definition = BROKER_CONFIGS["kafkish.api.version.profile"]
    assert set(definition.choices) == set(PROFILES)
    assert definition.default == DEFAULT_PROFILE == "3.9"


def test_the_default_profile_advertises_every_api_the_broker_serves(tmp_path: Path) -> None:
    """A key missing from the default profile would vanish from ApiVersions and be refused: the
    transaction and inter-broker APIs once did, when they were added after the profile was written."""
    with BrokerProcess(tmp_path) as broker:
        raw = RawClient(broker)
        response = raw.request(
            API_VERSIONS.key, 3, ApiVersionsRequest(client_software_name="kafkish-test", client_software_version="1")
        )
        raw.close()
    advertised = {api.api_key for api in response.api_keys}
    for key in (4, 5, 6, 24, 25, 26, 27, 28, 61, 65, 66):  # LeaderAndIsr ... ListTransactions
        assert key in advertised, f"API key {key} is served but not advertised"
    # EndTxn v5 is unstable in 3.9: served, but advertised only with unstable.api.versions.enable
    assert {api.api_key: api.max_version for api in response.api_keys}[26] == 4


@pytest.mark.parametrize(("profile", "inferred"), [("2.4", (2, 4)), ("2.8", (2, 8)), ("3.0", (3, 0)), ("3.9", (3, 9))])
def test_kafka_python_infers_the_profiles_release(tmp_path: Path, profile: str, inferred: tuple[int, int]) -> None:
    with BrokerProcess(tmp_path, {"kafkish.api.version.profile": profile}) as broker:
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
        assert producer.config["api_version"] == inferred
        producer.send("profiled", b"by kafka-python").get(TIMEOUT_S)
        producer.close()

        confluent = Producer({"bootstrap.servers": broker.bootstrap})
        confluent.produce("profiled", b"by librdkafka")
        assert confluent.flush(TIMEOUT_S) == 0
        consumer = Consumer(
            {"bootstrap.servers": broker.bootstrap, "group.id": "profiled", "auto.offset.reset": "earliest"}
        )
        consumer.subscribe(["profiled"])
        seen: list[bytes] = []
        for _ in range(60):
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                seen.append(message.value() or b"")
            if len(seen) == 2:
                break
        consumer.close()
        assert seen == [b"by kafka-python", b"by librdkafka"]

        raw = RawClient(broker)
        advertised = raw.request(API_VERSIONS.key, 3, ApiVersionsRequest(
            client_software_name="kafkish-test", client_software_version="1"
        )).api_keys  # fmt: skip
        raw.close()
        # Every API advertised is one the release had, at most at its maximum (a handler may serve less).
        versions = {a.api_key: a.max_version for a in advertised}
        assert all(key in PROFILES[profile] and v <= PROFILES[profile][key] for key, v in versions.items())
        if profile == "3.9":  # Kafka 3.9's maxima but ConsumerGroupHeartbeat (4.0's v1, see the module)
            assert (PROFILES[profile][2], PROFILES[profile][1], PROFILES[profile][68]) == (9, 17, 1)


def test_a_version_above_the_profile_is_refused(tmp_path: Path) -> None:
    """ListOffsets v10 is Kafka 4.0's: the handler has it, the 3.9 profile does not advertise it, and a
    request at it is refused as an unsupported version (the connection is closed), as Kafka 3.9 does."""
    from protocol.messages.list_offsets import LIST_OFFSETS, ListOffsetsRequest

    with BrokerProcess(tmp_path) as broker:
        raw = RawClient(broker)
        raw.send(LIST_OFFSETS.key, 10, ListOffsetsRequest())
        assert raw.reads_eof()
        raw.close()
        deadline = time.monotonic() + TIMEOUT_S  # the broker's log is read by a thread: wait for the line
        while "unsupported version 10 of ListOffsets" not in broker.output:
            assert time.monotonic() < deadline, broker.output
            time.sleep(0.05)
