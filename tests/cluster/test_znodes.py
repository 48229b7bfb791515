"""Kafka's znode formats: encode gives the bytes Kafka writes, decode reads what Kafka writes, bad data
is one clear ZnodeDataError.

The ``KAFKA_*`` strings were read from the znodes of a real Apache Kafka 2.4.1 cluster (three brokers,
ZooKeeper 3.8, /work/shared/kafka-java) after creating, configuring, reassigning and deleting topics,
killing brokers and the controller. Those of Kafka 2.8+ (topic_id) and 2.7+ (features) follow its ZkData.
"""

from __future__ import annotations

import json
import uuid

import pytest

from broker.controller.zk import paths
from broker.controller.zk.znodes import (
    BrokerRegistration,
    EndPoint,
    PartitionState,
    ProducerIdBlock,
    ReplicaAssignment,
    TopicAssignment,
    ZnodeDataError,
    decode_broker_registration,
    decode_cluster_id,
    decode_config_change,
    decode_controller,
    decode_controller_epoch,
    decode_entity_config,
    decode_isr_change,
    decode_partition_state,
    decode_producer_id_block,
    decode_topic_assignment,
    encode_broker_registration,
    encode_cluster_id,
    encode_config_change,
    encode_controller,
    encode_controller_epoch,
    encode_entity_config,
    encode_isr_change,
    encode_partition_state,
    encode_producer_id_block,
    encode_topic_assignment,
)

KAFKA_BROKER_0 = (
    b'{"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"endpoints":["PLAINTEXT://127.0.0.1:29392"],'
    b'"jmx_port":-1,"host":"127.0.0.1","timestamp":"1796371394474","port":29392,"version":4}'
)
KAFKA_BROKER_1_RACK = (
    b'{"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT","INTERNAL":"PLAINTEXT"},'
    b'"endpoints":["PLAINTEXT://127.0.0.1:29393","INTERNAL://127.0.0.1:29395"],"rack":"rack-a","jmx_port":-1,'
    b'"host":"127.0.0.1","timestamp":"1796371485031","port":29393,"version":4}'
)
KAFKA_CONTROLLER = b'{"version":1,"brokerid":0,"timestamp":"1796371394812"}'
KAFKA_CLUSTER_ID = b'{"version":"1","id":"avdso6zMRBKnXSUSQfj0tg"}'
KAFKA_TOPIC = b'{"version":2,"partitions":{"1":[0,2,1],"0":[1,0,2]},"adding_replicas":{},"removing_replicas":{}}'
KAFKA_TOPIC_REASSIGNING = (
    b'{"version":2,"partitions":{"1":[0,2,1],"0":[0,2,1]},"adding_replicas":{"0":[0]},"removing_replicas":{"0":[1]}}'
)
KAFKA_STATE = b'{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1,0,2]}'
KAFKA_STATE_NO_LEADER = b'{"controller_epoch":2,"leader":-1,"version":1,"leader_epoch":7,"isr":[0]}'
KAFKA_TOPIC_CONFIG = b'{"version":1,"config":{"cleanup.policy":"compact","retention.ms":"1000"}}'
KAFKA_CONFIG_CHANGE = b'{"version":2,"entity_path":"topics/t"}'
KAFKA_ISR_CHANGE = b'{"version":1,"partitions":[{"topic":"t","partition":0}]}'
KAFKA_PRODUCER_ID_BLOCK = b'{"version":1,"broker":2,"block_start":"2000","block_end":"2999"}'


def test_broker_registration_is_encoded_byte_for_byte_as_kafka() -> None:
    plain = BrokerRegistration(0, (EndPoint("PLAINTEXT", "127.0.0.1", 29392, "PLAINTEXT"),), timestamp_ms=1796371394474)
    assert encode_broker_registration(plain) == KAFKA_BROKER_0
    racked = BrokerRegistration(
        1,
        (EndPoint("PLAINTEXT", "127.0.0.1", 29393, "PLAINTEXT"), EndPoint("INTERNAL", "127.0.0.1", 29395, "PLAINTEXT")),
        rack="rack-a",
        timestamp_ms=1796371485031,
    )
    assert encode_broker_registration(racked) == KAFKA_BROKER_1_RACK


def test_kafka_broker_registrations_decode() -> None:
    broker = decode_broker_registration(1, KAFKA_BROKER_1_RACK)
    assert broker.rack == "rack-a" and broker.version == 4 and broker.timestamp_ms == 1796371485031
    assert broker.endpoint("INTERNAL") == EndPoint("INTERNAL", "127.0.0.1", 29395, "PLAINTEXT")
    assert decode_broker_registration(0, KAFKA_BROKER_0).endpoints == (
        EndPoint("PLAINTEXT", "127.0.0.1", 29392, "PLAINTEXT"),
    )


def test_broker_registration_without_plaintext_and_v5_features_round_trip() -> None:
    registration = BrokerRegistration(
        7,
        (EndPoint("SECURE", "::1", 9093, "SSL"), EndPoint("ANY", None, 9094, "SASL_PLAINTEXT")),
        timestamp_ms=5,
        version=5,
        features={"metadata.version": (1, 7)},
    )
    data = encode_broker_registration(registration)
    value = json.loads(data)
    assert value["host"] is None and value["port"] == -1  # Kafka's values when no PLAINTEXT endpoint exists
    assert value["endpoints"] == ["SECURE://[::1]:9093", "ANY://:9094"]
    assert value["features"] == {"metadata.version": {"min_version": 1, "max_version": 7}}
    assert decode_broker_registration(7, data) == registration


def test_old_broker_registration_versions_decode() -> None:
    v1 = decode_broker_registration(3, b'{"version":1,"host":"h","port":9092,"jmx_port":9999,"timestamp":"1"}')
    assert v1.endpoints == (EndPoint("PLAINTEXT", "h", 9092, "PLAINTEXT"),) and v1.jmx_port == 9999
    v2 = decode_broker_registration(3, b'{"version":2,"host":"h","port":1,"jmx_port":-1,"endpoints":["SSL://h:2"]}')
    assert v2.endpoints == (EndPoint("SSL", "h", 2, "SSL"),)


def test_controller_and_its_epoch() -> None:
    assert encode_controller(0, 1796371394812) == KAFKA_CONTROLLER
    assert decode_controller(KAFKA_CONTROLLER).broker_id == 0
    assert encode_controller_epoch(2) == b"2" and decode_controller_epoch(b"2") == 2


def test_cluster_id_keeps_kafkas_string_version() -> None:
    assert encode_cluster_id("avdso6zMRBKnXSUSQfj0tg") == KAFKA_CLUSTER_ID
    assert decode_cluster_id(KAFKA_CLUSTER_ID) == "avdso6zMRBKnXSUSQfj0tg"


def test_topic_assignment_as_kafka_2_4_and_2_8() -> None:
    assignment = decode_topic_assignment("t", KAFKA_TOPIC)
    assert assignment.topic_id is None
    assert assignment.partitions == {0: ReplicaAssignment((1, 0, 2)), 1: ReplicaAssignment((0, 2, 1))}
    assert json.loads(encode_topic_assignment(assignment)) == json.loads(KAFKA_TOPIC)

    moving = decode_topic_assignment("t", KAFKA_TOPIC_REASSIGNING)
    assert moving.partitions[0] == ReplicaAssignment((0, 2, 1), adding_replicas=(0,), removing_replicas=(1,))
    assert json.loads(encode_topic_assignment(moving)) == json.loads(KAFKA_TOPIC_REASSIGNING)

    topic_id = uuid.UUID("6e2b5d1c-7c1b-4b35-9a35-2f29d8c6a0f1")
    with_id = TopicAssignment({0: ReplicaAssignment((1,))}, topic_id)
    value = json.loads(encode_topic_assignment(with_id))
    assert value["version"] == 3 and value["topic_id"] == "bitdHHwbSzWaNS8p2Mag8Q"  # Kafka's Uuid.toString
    assert decode_topic_assignment("t", encode_topic_assignment(with_id)) == with_id


def test_partition_state() -> None:
    assert decode_partition_state("t", 0, KAFKA_STATE) == PartitionState(1, 0, (1, 0, 2), 1)
    assert encode_partition_state(PartitionState(1, 0, (1, 0, 2), 1)) == KAFKA_STATE
    assert decode_partition_state("t", 0, KAFKA_STATE_NO_LEADER).leader == -1


def test_configs_and_their_change_notifications() -> None:
    assert decode_entity_config("/config/topics/t", KAFKA_TOPIC_CONFIG) == {
        "cleanup.policy": "compact",
        "retention.ms": "1000",
    }
    assert encode_entity_config({"cleanup.policy": "compact", "retention.ms": "1000"}) == KAFKA_TOPIC_CONFIG
    assert decode_entity_config("/config/topics/t", None) == {}
    assert encode_config_change("topics/t") == KAFKA_CONFIG_CHANGE
    assert decode_config_change("/config/changes/config_change_0000000000", KAFKA_CONFIG_CHANGE) == "topics/t"
    old = b'{"version":1,"entity_type":"topics","entity_name":"t"}'
    assert decode_config_change("/config/changes/config_change_0000000001", old) == "topics/t"


def test_isr_change_and_producer_id_block() -> None:
    assert encode_isr_change([("t", 0)]) == KAFKA_ISR_CHANGE
    assert decode_isr_change("/isr_change_notification/isr_change_0000000000", KAFKA_ISR_CHANGE) == {("t", 0)}
    assert encode_producer_id_block(ProducerIdBlock(2, 2000, 2999)) == KAFKA_PRODUCER_ID_BLOCK
    assert decode_producer_id_block(KAFKA_PRODUCER_ID_BLOCK) == ProducerIdBlock(2, 2000, 2999)


def test_paths_and_sequence_numbers() -> None:
    assert paths.partition_state_path("t", 3) == "/brokers/topics/t/partitions/3/state"
    assert paths.sequence_number("isr_change_0000000042", paths.ISR_CHANGE_PREFIX) == 42
    assert paths.sequence_number("isr_change_x", paths.ISR_CHANGE_PREFIX) is None
    assert paths.config_change_prefix() == "/config/changes/config_change_"
    assert paths.delete_topic_path("gone") == "/admin/delete_topics/gone"


@pytest.mark.parametrize(
    ("value", "hosts", "chroot"),
    [
        ("127.0.0.1:2181", "127.0.0.1:2181", None),
        ("a:1,b:2/kafka", "a:1,b:2", "/kafka"),
        ("a:1/kafka/prod/", "a:1", "/kafka/prod"),
        ("a:1/", "a:1", None),
    ],
)
def test_zookeeper_connect_chroot(value: str, hosts: str, chroot: str | None) -> None:
    parsed = paths.parse_zookeeper_connect(value)
    assert (parsed.hosts, parsed.chroot) == (hosts, chroot)


@pytest.mark.parametrize("value", ["", "/kafka", "a:1,,b:2", "a:1/kafka//x", "a:1/../x"])
def test_bad_zookeeper_connect(value: str) -> None:
    with pytest.raises(ValueError, match=r"zookeeper\.connect"):
        paths.parse_zookeeper_connect(value)


MALFORMED = [
    None,
    b"",
    b"not json",
    b"\xff\xfe",
    b"[1,2]",
    b'{"version":1}',
    b'{"version":1,"brokerid":"zero","timestamp":"1"}',
    b'{"version":1,"brokerid":true}',
    b"42",
]


@pytest.mark.parametrize("data", MALFORMED)
def test_malformed_controller_is_one_clear_error(data: bytes | None) -> None:
    with pytest.raises(ZnodeDataError, match="malformed znode /controller: "):
        decode_controller(data)


@pytest.mark.parametrize(
    "data",
    [
        *MALFORMED,
        b'{"version":0,"jmx_port":-1}',
        b'{"version":4,"jmx_port":-1,"endpoints":["nonsense"]}',
        b'{"version":4,"jmx_port":-1,"endpoints":["X://h:1"],"listener_security_protocol_map":{"Y":"SSL"}}',
        b'{"version":4,"jmx_port":-1,"endpoints":"PLAINTEXT://h:1"}',
        b'{"version":5,"endpoints":[],"features":{"f":[1,2]}}',
        b'{"version":4,"endpoints":[],"timestamp":"soon"}',
    ],
)
def test_malformed_broker_registration_is_one_clear_error(data: bytes | None) -> None:
    with pytest.raises(ZnodeDataError, match="malformed znode /brokers/ids/5: "):
        decode_broker_registration(5, data)


@pytest.mark.parametrize(
    "data",
    [
        b'{"version":2,"partitions":{"x":[1]}}',
        b'{"version":2,"partitions":{"0":[1,"2"]}}',
        b'{"version":2,"partitions":{"0":[1]},"adding_replicas":{"0":5}}',
        b'{"version":3,"partitions":{},"topic_id":"!!"}',
        b'{"version":2,"partitions":[]}',
    ],
)
def test_malformed_topic_assignment_is_one_clear_error(data: bytes) -> None:
    with pytest.raises(ZnodeDataError, match="malformed znode /brokers/topics/t: "):
        decode_topic_assignment("t", data)


def test_other_malformed_znodes() -> None:
    with pytest.raises(ZnodeDataError, match="/controller_epoch"):
        decode_controller_epoch(b"one")
    with pytest.raises(ZnodeDataError, match="/brokers/topics/t/partitions/0/state"):
        decode_partition_state("t", 0, b'{"leader":1,"leader_epoch":0,"controller_epoch":1,"isr":[true]}')
    with pytest.raises(ZnodeDataError, match="config values must be strings"):
        decode_entity_config("/config/topics/t", b'{"version":1,"config":{"retention.ms":1000}}')
    with pytest.raises(ZnodeDataError, match="unsupported config change version"):
        decode_config_change("/config/changes/config_change_1", b'{"version":9}')
    with pytest.raises(ZnodeDataError, match="/cluster/id"):
        decode_cluster_id(b'{"version":"1"}')
    with pytest.raises(ZnodeDataError, match="isr_change"):
        decode_isr_change("/isr_change_notification/isr_change_1", b'{"version":1,"partitions":[{"topic":"t"}]}')
