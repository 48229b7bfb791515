"""Configs as the clients' own test suites use them (librdkafka, kafkajs), against real brokers.

Each test is a difference from Kafka 3.9 one of those suites found: deprecated topic configs Kafka
still accepts, a SUBTRACT that empties a list, a stored config the broker cannot apply, DescribeConfigs'
order of entries, and dynamic broker configs (librdkafka's admin test alters one on a BROKER resource).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import AlterConfigOpType, ConfigEntry, ConfigResource, ConfigSource
from confluent_kafka.admin._resource import ResourceType
from confluent_kafka.cimpl import NewTopic

from protocol.errors import ErrorCode
from protocol.messages.describe_configs import DESCRIBE_CONFIGS, DescribeConfigsRequest, DescribeConfigsResource
from protocol.messages.incremental_alter_configs import (
    INCREMENTAL_ALTER_CONFIGS,
    AlterableConfig,
    IncrementalAlterConfigsRequest,
)
from protocol.messages.incremental_alter_configs import AlterConfigsResource as IncAlterResource
from tests.harness import BrokerProcess
from tests.raw_client import RawClient

TIMEOUT_S = 15
JS = Path(__file__).resolve().parent / "js"
NODE = shutil.which("node")

# Every topic config Kafka 3.9 accepts that kafkish once refused, with a valid value.
KAFKA_39_TOPIC_CONFIGS = {
    "message.format.version": "0.10.0",  # librdkafka's mixed-message-version test
    "message.timestamp.difference.max.ms": "3600000",  # kafkajs
    "compression.gzip.level": "5",
    "compression.lz4.level": "10",
    "compression.zstd.level": "-5",
    "leader.replication.throttled.replicas": "0:0",
    "follower.replication.throttled.replicas": "*",
    "local.retention.ms": "-2",
    "local.retention.bytes": "1000000",
    "remote.storage.enable": "false",
    "remote.log.copy.disable": "false",
    "remote.log.delete.on.disable": "false",
}


@pytest.fixture
def admin(broker: BrokerProcess) -> AdminClient:
    return AdminClient({"bootstrap.servers": broker.bootstrap})


def create(admin: AdminClient, name: str, config: dict[str, str] | None = None) -> None:
    admin.create_topics([NewTopic(name, 1, 1, config=config or {})])[name].result(TIMEOUT_S)


def describe(admin: AdminClient, resource_type: ResourceType, name: str) -> dict[str, Any]:
    resource = ConfigResource(resource_type, name)
    return dict(admin.describe_configs([resource])[resource].result(TIMEOUT_S))


def incremental(admin: AdminClient, resource_type: ResourceType, name: str, *entries: ConfigEntry) -> None:
    resource = ConfigResource(resource_type, name, incremental_configs=list(entries))
    admin.incremental_alter_configs([resource])[resource].result(TIMEOUT_S)


def error_of(call: Any) -> Any:
    with pytest.raises(KafkaException) as failed:
        call()
    return failed.value.args[0]


def test_every_kafka_39_topic_config_is_accepted_stored_and_described(
    broker: BrokerProcess, admin: AdminClient
) -> None:
    create(admin, "all-configs", KAFKA_39_TOPIC_CONFIGS)
    configs = describe(admin, ResourceType.TOPIC, "all-configs")
    for name, value in KAFKA_39_TOPIC_CONFIGS.items():
        assert (configs[name].value, configs[name].source) == (value, ConfigSource.DYNAMIC_TOPIC_CONFIG.value), name
    broker.restart()  # stored with the topic
    configs = describe(AdminClient({"bootstrap.servers": broker.bootstrap}), ResourceType.TOPIC, "all-configs")
    assert {name: configs[name].value for name in KAFKA_39_TOPIC_CONFIGS} == KAFKA_39_TOPIC_CONFIGS


def test_bad_values_of_the_added_configs_are_invalid_config(admin: AdminClient) -> None:
    create(admin, "bad-values")
    cases = {
        "message.format.version": "banana",
        "compression.gzip.level": "0",
        "compression.lz4.level": "18",
        "leader.replication.throttled.replicas": "0-0",
        "local.retention.ms": "-3",
        "remote.storage.enable": "true",  # no tiered storage here
    }
    for name, value in cases.items():
        set_op = ConfigEntry(name, value, incremental_operation=AlterConfigOpType.SET)
        error = error_of(lambda: incremental(admin, ResourceType.TOPIC, "bad-values", set_op))  # noqa: B023
        assert error.code() == ErrorCode.INVALID_CONFIG, name
        assert error.str(), name
    assert describe(admin, ResourceType.TOPIC, "bad-values")["remote.storage.enable"].value == "false"


def test_deprecated_timestamp_difference_limits_produce(broker: BrokerProcess, admin: AdminClient) -> None:
    """message.timestamp.difference.max.ms stands for before/after where those are unset (Kafka 3.6-3.9)."""
    create(admin, "old-timestamps", {"message.timestamp.difference.max.ms": "60000"})
    producer = Producer({"bootstrap.servers": broker.bootstrap, "retries": 0})
    results: list[Any] = []
    hour_ago = int(time.time() * 1000) - 3_600_000
    producer.produce("old-timestamps", b"late", timestamp=hour_ago, on_delivery=lambda err, msg: results.append(err))
    producer.flush(TIMEOUT_S)  # a batch of its own: the broker refuses a batch whole
    producer.produce("old-timestamps", b"now", on_delivery=lambda err, msg: results.append(err))
    producer.flush(TIMEOUT_S)
    assert len(results) == 2
    assert results[0] is not None and results[0].code() == ErrorCode.INVALID_TIMESTAMP
    assert results[1] is None


def test_subtract_that_empties_a_list_is_accepted_and_survives_a_restart(
    broker: BrokerProcess, admin: AdminClient
) -> None:
    create(admin, "no-policy")
    subtract = ConfigEntry("cleanup.policy", "delete", incremental_operation=AlterConfigOpType.SUBTRACT)
    incremental(admin, ResourceType.TOPIC, "no-policy", subtract)
    assert describe(admin, ResourceType.TOPIC, "no-policy")["cleanup.policy"].value == ""
    assert broker.stop() == 0
    broker.start()
    configs = describe(AdminClient({"bootstrap.servers": broker.bootstrap}), ResourceType.TOPIC, "no-policy")
    assert (configs["cleanup.policy"].value, configs["cleanup.policy"].source) == (
        "",
        ConfigSource.DYNAMIC_TOPIC_CONFIG.value,
    )


def test_a_conflicting_change_is_refused_before_anything_is_stored(broker: BrokerProcess, admin: AdminClient) -> None:
    create(admin, "conflict", {"max.compaction.lag.ms": "1000"})
    set_op = ConfigEntry("min.compaction.lag.ms", "5000", incremental_operation=AlterConfigOpType.SET)
    error = error_of(lambda: incremental(admin, ResourceType.TOPIC, "conflict", set_op))
    assert error.code() == ErrorCode.INVALID_CONFIG
    assert "min.compaction.lag.ms (5000) > max.compaction.lag.ms (1000)" in error.str()
    stored = json.loads((broker.log_dir / "kafkish-metadata.json").read_text())
    (topic,) = [t for t in stored["topics"] if t["name"] == "conflict"]
    assert topic["configs"] == {"max.compaction.lag.ms": 1000}


def test_a_stored_config_the_broker_cannot_apply_does_not_stop_it(broker: BrokerProcess, admin: AdminClient) -> None:
    create(admin, "damaged-config", {"retention.ms": "60000", "segment.ms": "3600000"})
    assert broker.stop() == 0
    path = broker.log_dir / "kafkish-metadata.json"
    stored = json.loads(path.read_text())
    for topic in stored["topics"]:
        if topic["name"] == "damaged-config":
            topic["configs"].update({"retention.ms": "soon", "no.such.config": 1})
    path.write_text(json.dumps(stored))
    broker.start()
    assert "ignoring its stored config retention.ms" in broker.output
    configs = describe(AdminClient({"bootstrap.servers": broker.bootstrap}), ResourceType.TOPIC, "damaged-config")
    assert configs["retention.ms"].value == "604800000"  # the default instead
    assert configs["segment.ms"].value == "3600000"  # the good one is kept


@pytest.mark.skipif(
    not os.environ.get("CI") and (NODE is None or not (JS / "node_modules" / "kafkajs").is_dir()),
    reason="needs node and kafkajs: `npm ci --prefix tests/clients/js` (make unit does it)",
)
def test_kafkajs_alters_a_deprecated_config_and_reads_entries_in_the_order_asked(broker: BrokerProcess) -> None:
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(JS / "configs.js"), broker.bootstrap, "js-configs", "-"],
        capture_output=True, text=True, timeout=90, cwd=JS, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["errorCode"] == 0
    assert result["entries"] == [
        {"name": "message.timestamp.difference.max.ms", "value": "86400000"},
        {"name": "cleanup.policy", "value": "compact"},
        {"name": "retention.ms", "value": "604800000"},
    ]


# -- dynamic broker configs ------------------------------------------------------------------------------
def test_librdkafka_alters_a_per_broker_dynamic_config(broker: BrokerProcess, admin: AdminClient) -> None:
    """librdkafka's 0081-admin AlterConfigs test sets sasl.kerberos.min.time.before.relogin on a broker."""
    resource = ConfigResource(ResourceType.BROKER, "0", set_config={"sasl.kerberos.min.time.before.relogin": "58000"})
    admin.alter_configs([resource])[resource].result(TIMEOUT_S)
    entry = describe(admin, ResourceType.BROKER, "0")["sasl.kerberos.min.time.before.relogin"]
    assert (entry.value, entry.source, entry.is_read_only) == (
        "58000", ConfigSource.DYNAMIC_BROKER_CONFIG.value, False
    )  # fmt: skip
    assert describe(admin, ResourceType.BROKER, "0")["broker.id"].is_read_only
    broker.restart()
    entry = describe(AdminClient({"bootstrap.servers": broker.bootstrap}), ResourceType.BROKER, "0")[
        "sasl.kerberos.min.time.before.relogin"
    ]
    assert (entry.value, entry.source) == ("58000", ConfigSource.DYNAMIC_BROKER_CONFIG.value)


def test_a_dynamic_log_config_applies_to_every_topic_at_once(broker: BrokerProcess, admin: AdminClient) -> None:
    create(admin, "inherits-dynamic")
    lower = ConfigEntry("message.max.bytes", "300", incremental_operation=AlterConfigOpType.SET)
    incremental(admin, ResourceType.BROKER, "0", lower)
    entry = describe(admin, ResourceType.TOPIC, "inherits-dynamic")["max.message.bytes"]
    assert (entry.value, entry.source) == ("300", ConfigSource.DYNAMIC_BROKER_CONFIG.value)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "compression.type": "none", "retries": 0})
    errors: list[Any] = []
    producer.produce("inherits-dynamic", b"x" * 1000, on_delivery=lambda err, msg: errors.append(err))
    producer.flush(TIMEOUT_S)
    assert errors and errors[0] is not None and errors[0].code() == ErrorCode.MESSAGE_TOO_LARGE
    incremental(
        admin,
        ResourceType.BROKER,
        "0",
        ConfigEntry("message.max.bytes", None, incremental_operation=AlterConfigOpType.DELETE),
    )
    assert describe(admin, ResourceType.TOPIC, "inherits-dynamic")["max.message.bytes"].value == "1048588"


def test_cluster_wide_defaults(broker: BrokerProcess, admin: AdminClient) -> None:
    """The empty broker name: no client library here sends it (kafka-python and librdkafka refuse it),
    Kafka's own tools do, so this takes hand-made requests."""
    create(admin, "cluster-default")
    raw = RawClient(broker)

    def alter(name: str, value: str) -> Any:
        request = IncrementalAlterConfigsRequest(
            resources=[
                IncAlterResource(resource_type=4, resource_name="", configs=[AlterableConfig(name=name, value=value)])
            ]
        )
        (result,) = raw.request(INCREMENTAL_ALTER_CONFIGS.key, 1, request).responses
        return result

    assert alter("log.retention.ms", "7200000").error_code == ErrorCode.NONE
    request = DescribeConfigsRequest(
        resources=[DescribeConfigsResource(resource_type=4, resource_name="", configuration_keys=None)]
    )
    (described,) = raw.request(DESCRIBE_CONFIGS.key, 4, request).results
    assert [(c.name, c.value, c.config_source) for c in described.configs] == [
        ("log.retention.ms", "7200000", ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value)
    ]
    retention = describe(admin, ResourceType.TOPIC, "cluster-default")["retention.ms"]
    assert (retention.value, retention.source) == ("7200000", ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value)
    refused = alter("advertised.listeners", "PLAINTEXT://elsewhere:9092")
    assert refused.error_code == ErrorCode.INVALID_REQUEST
    assert refused.error_message == (
        "Cannot update these configs at default cluster level, broker id must be specified: Set(advertised.listeners)"
    )
    static = alter("log.retention.hours", "1")
    assert (static.error_code, static.error_message) == (
        ErrorCode.INVALID_REQUEST,
        "Cannot update these configs dynamically: Set(log.retention.hours)",
    )
    bad = alter("log.retention.ms", "forever")
    assert bad.error_code == ErrorCode.INVALID_CONFIG
    raw.close()


def test_stored_dynamic_configs_the_broker_cannot_apply_do_not_stop_it(
    broker: BrokerProcess, admin: AdminClient
) -> None:
    incremental(
        admin,
        ResourceType.BROKER,
        "0",
        ConfigEntry("log.retention.ms", "3600000", incremental_operation=AlterConfigOpType.SET),
    )
    assert broker.stop() == 0
    path = broker.log_dir / "kafkish-broker-configs.json"
    stored = json.loads(path.read_text())
    assert stored["broker"] == {"log.retention.ms": "3600000"}
    stored["broker"].update({"log.segment.bytes": "tiny", "broker.id": "7"})
    stored["default"] = {"advertised.listeners": "PLAINTEXT://elsewhere:1"}  # per-broker only
    path.write_text(json.dumps(stored))
    broker.start()
    assert "ignoring the stored dynamic config log.segment.bytes" in broker.output
    configs = describe(AdminClient({"bootstrap.servers": broker.bootstrap}), ResourceType.BROKER, "0")
    assert (configs["log.retention.ms"].value, configs["log.retention.ms"].source) == (
        "3600000",
        ConfigSource.DYNAMIC_BROKER_CONFIG.value,
    )
    assert (configs["broker.id"].value, configs["broker.id"].source) != ("7", ConfigSource.DYNAMIC_BROKER_CONFIG.value)
    assert configs["log.segment.bytes"].source == ConfigSource.DEFAULT_CONFIG.value
