"""Topic and broker configs through real admin clients: describe, alter, incremental alter, errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import AlterConfigOpType, ConfigEntry, ConfigResource, ConfigSource
from confluent_kafka.admin._resource import ResourceType
from confluent_kafka.cimpl import NewTopic
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource as KpConfigResource
from kafka.admin import ConfigResourceType

from protocol.errors import ErrorCode
from protocol.messages.describe_configs import DESCRIBE_CONFIGS, DescribeConfigsRequest, DescribeConfigsResource
from tests.harness import BrokerProcess
from tests.raw_client import RawClient

TIMEOUT_S = 15


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    overrides = {"log.retention.hours": "48", "message.max.bytes": "2000000"}
    with BrokerProcess(tmp_path_factory.mktemp("admin-configs"), overrides) as process:
        yield process


@pytest.fixture(scope="module")
def admin(broker: BrokerProcess) -> AdminClient:
    return AdminClient({"bootstrap.servers": broker.bootstrap})


@pytest.fixture(scope="module")
def kp(broker: BrokerProcess) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=TIMEOUT_S * 1000)
    yield client
    client.close()


def new_topic(admin: AdminClient, name: str, config: dict[str, str] | None = None) -> None:
    admin.create_topics([NewTopic(name, 1, 1, config=config or {})])[name].result(TIMEOUT_S)


def topic_configs(admin: AdminClient, name: str) -> dict[str, Any]:
    resource = ConfigResource(ResourceType.TOPIC, name)
    return dict(admin.describe_configs([resource])[resource].result(TIMEOUT_S))


def test_config_given_at_creation_is_described_with_its_source_and_synonyms(
    admin: AdminClient, kp: KafkaAdminClient
) -> None:
    new_topic(admin, "with-retention", {"retention.ms": "60000"})
    entry = topic_configs(admin, "with-retention")["retention.ms"]
    assert entry.value == "60000"
    assert entry.source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert not entry.is_read_only and not entry.is_sensitive
    # Kafka's ConfigHelper.configSynonyms: the broker synonyms' values source by source, from the first
    # value of retention.ms's own server name (log.retention.ms) on. That has none (log.retention.hours
    # gives the value), so no broker synonym is listed, as Kafka lists none.
    answer = kp.describe_configs(
        [KpConfigResource(ConfigResourceType.TOPIC, "with-retention")], include_synonyms=True, config_filter="all"
    )
    configs = answer["topic"]["with-retention"]
    synonyms = configs["retention.ms"]["synonyms"]
    assert [(s["name"], s["value"], s["source"]) for s in synonyms] == [
        ("retention.ms", "60000", "DYNAMIC_TOPIC_CONFIG"),
    ]
    # max.message.bytes' server name is message.max.bytes, set statically: its sources in order.
    assert [(s["name"], s["value"], s["source"]) for s in configs["max.message.bytes"]["synonyms"]] == [
        ("message.max.bytes", "2000000", "STATIC_BROKER_CONFIG"),
        ("message.max.bytes", "1048588", "DEFAULT_CONFIG"),
    ]
    assert configs["max.message.bytes"]["config_source"] == "STATIC_BROKER_CONFIG"


def test_topic_inherits_the_brokers_static_configs(admin: AdminClient) -> None:
    new_topic(admin, "inheriting")
    configs = topic_configs(admin, "inheriting")
    assert configs["retention.ms"].value == str(48 * 3600 * 1000)
    # As Kafka: the source is that of log.retention.ms, the first synonym, which is unset.
    assert configs["retention.ms"].source == ConfigSource.DEFAULT_CONFIG.value
    assert configs["max.message.bytes"].value == "2000000"
    assert configs["cleanup.policy"].value == "delete"
    assert configs["cleanup.policy"].source == ConfigSource.DEFAULT_CONFIG.value


def test_kafka_python_describes_with_synonyms_and_documentation_fields(kp: KafkaAdminClient) -> None:
    from kafka.admin import NewTopic as KpNewTopic

    kp.create_topics([KpNewTopic("kp-configs", 1, 1, topic_configs={"cleanup.policy": "compact"})])
    answer = kp.describe_configs([KpConfigResource(ConfigResourceType.TOPIC, "kp-configs")], include_synonyms=True)
    policy = answer["topic"]["kp-configs"]["cleanup.policy"]
    assert policy["value"] == "compact"
    assert policy["config_source"] == "DYNAMIC_TOPIC_CONFIG"
    assert policy["config_type"] == "LIST"
    assert [s["name"] for s in policy["synonyms"]] == ["cleanup.policy", "log.cleanup.policy"]


def test_describe_unknown_topic(admin: AdminClient) -> None:
    resource = ConfigResource(ResourceType.TOPIC, "no-such-topic")
    with pytest.raises(KafkaException) as failed:
        admin.describe_configs([resource])[resource].result(TIMEOUT_S)
    assert failed.value.args[0].code() == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION


def test_describe_broker(kp: KafkaAdminClient) -> None:
    answer = kp.describe_configs([KpConfigResource(ConfigResourceType.BROKER, "0")], config_filter="all")
    configs = answer["broker"]["0"]
    assert configs["log.retention.hours"]["value"] == "48"
    assert configs["log.retention.hours"]["config_source"] == "STATIC_BROKER_CONFIG"
    assert configs["num.partitions"]["value"] == "1"
    assert configs["num.partitions"]["config_source"] == "DEFAULT_CONFIG"
    # As a Kafka 3.9 broker in ZooKeeper mode: read-only unless it may change at run time.
    assert configs["log.retention.hours"]["read_only"]
    assert not configs["log.retention.ms"]["read_only"]
    assert not configs["advertised.listeners"]["read_only"]
    assert configs["broker.id"]["read_only"]


def test_describe_another_broker_is_refused(broker: BrokerProcess) -> None:
    """Clients route a broker resource to that broker, so this takes a hand-made request."""
    client = RawClient(broker)
    request = DescribeConfigsRequest(
        resources=[DescribeConfigsResource(resource_type=4, resource_name="5", configuration_keys=None)]
    )
    (result,) = client.request(DESCRIBE_CONFIGS.key, 4, request).results
    assert result.error_code == ErrorCode.INVALID_REQUEST
    assert result.error_message == "Unexpected broker id, expected 0 or empty string, but received 5"
    assert result.configs == []


def test_describe_broker_loggers(kp: KafkaAdminClient) -> None:
    answer = kp.describe_configs([KpConfigResource(ConfigResourceType.BROKER_LOGGER, "0")], config_filter="all")
    loggers = answer["broker_logger"]["0"]
    assert loggers["root"]["value"] == "INFO"
    assert loggers["root"]["config_source"] == "DYNAMIC_BROKER_LOGGER_CONFIG"


def test_alter_configs_replaces_every_override(admin: AdminClient) -> None:
    new_topic(admin, "replaced", {"retention.ms": "60000", "cleanup.policy": "compact"})
    resource = ConfigResource(ResourceType.TOPIC, "replaced", set_config={"segment.ms": "3600000"})
    admin.alter_configs([resource])[resource].result(TIMEOUT_S)
    configs = topic_configs(admin, "replaced")
    assert configs["segment.ms"].value == "3600000"
    assert configs["segment.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert configs["cleanup.policy"].value == "delete"  # no longer overridden
    assert configs["retention.ms"].source == ConfigSource.DEFAULT_CONFIG.value


def test_alter_validate_only_changes_nothing(admin: AdminClient) -> None:
    new_topic(admin, "validated")
    resource = ConfigResource(ResourceType.TOPIC, "validated", set_config={"retention.ms": "1"})
    admin.alter_configs([resource], validate_only=True)[resource].result(TIMEOUT_S)
    assert topic_configs(admin, "validated")["retention.ms"].source == ConfigSource.DEFAULT_CONFIG.value


def test_incremental_set_delete_append_subtract(admin: AdminClient) -> None:
    new_topic(admin, "incremental", {"retention.ms": "60000"})

    def alter(*entries: ConfigEntry) -> None:
        resource = ConfigResource(ResourceType.TOPIC, "incremental", incremental_configs=list(entries))
        admin.incremental_alter_configs([resource])[resource].result(TIMEOUT_S)

    alter(ConfigEntry("segment.bytes", "1048576", incremental_operation=AlterConfigOpType.SET))
    alter(ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.APPEND))
    configs = topic_configs(admin, "incremental")
    assert configs["segment.bytes"].value == "1048576"
    assert configs["retention.ms"].value == "60000"  # untouched
    assert configs["cleanup.policy"].value == "delete,compact"

    alter(ConfigEntry("cleanup.policy", "delete", incremental_operation=AlterConfigOpType.SUBTRACT))
    alter(ConfigEntry("retention.ms", None, incremental_operation=AlterConfigOpType.DELETE))
    configs = topic_configs(admin, "incremental")
    assert configs["cleanup.policy"].value == "compact"
    assert configs["retention.ms"].source == ConfigSource.DEFAULT_CONFIG.value


def test_incremental_errors(admin: AdminClient) -> None:
    new_topic(admin, "incremental-errors")

    def error_of(name: str, *entries: ConfigEntry) -> Any:
        resource = ConfigResource(ResourceType.TOPIC, name, incremental_configs=list(entries))
        with pytest.raises(KafkaException) as failed:
            admin.incremental_alter_configs([resource])[resource].result(TIMEOUT_S)
        return failed.value.args[0]

    bad = error_of("incremental-errors", ConfigEntry("retention.ms", "-5", incremental_operation=AlterConfigOpType.SET))
    assert bad.code() == ErrorCode.INVALID_CONFIG
    assert bad.str() == "Invalid value -5 for configuration retention.ms: Value must be at least -1"
    unknown = error_of("incremental-errors", ConfigEntry("nope", "1", incremental_operation=AlterConfigOpType.SET))
    assert (unknown.code(), unknown.str()) == (ErrorCode.INVALID_CONFIG, "Unknown topic config name: nope")
    not_list = error_of(
        "incremental-errors", ConfigEntry("retention.ms", "1", incremental_operation=AlterConfigOpType.APPEND)
    )
    assert not_list.code() == ErrorCode.INVALID_CONFIG
    missing = error_of("gone", ConfigEntry("retention.ms", "1", incremental_operation=AlterConfigOpType.SET))
    assert (missing.code(), missing.str()) == (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "The topic 'gone' does not exist.")


def test_static_broker_configs_are_refused(kp: KafkaAdminClient) -> None:
    answer = kp.alter_configs(
        [KpConfigResource(ConfigResourceType.BROKER, "0", configs={"log.retention.hours": "1"})],
        raise_on_unknown=False,
    )
    assert answer["broker"]["0"] != "OK"


def test_altered_retention_reaches_the_live_log(
    broker: BrokerProcess, admin: AdminClient, kp: KafkaAdminClient
) -> None:
    """A config change applies to existing partitions at once: a smaller max.message.bytes refuses a batch."""
    from confluent_kafka import Producer

    new_topic(admin, "shrinking-limit")
    resource = ConfigResource(
        ResourceType.TOPIC,
        "shrinking-limit",
        incremental_configs=[ConfigEntry("max.message.bytes", "200", incremental_operation=AlterConfigOpType.SET)],
    )
    admin.incremental_alter_configs([resource])[resource].result(TIMEOUT_S)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "compression.type": "none"})
    errors: list[Any] = []
    producer.produce("shrinking-limit", b"x" * 1000, on_delivery=lambda err, msg: errors.append(err))
    producer.flush(TIMEOUT_S)
    assert errors and errors[0] is not None
    assert errors[0].code() == ErrorCode.MESSAGE_TOO_LARGE
