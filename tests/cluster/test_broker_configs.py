"""Broker configs changed at runtime reach every broker of a real 3-broker cluster.

IncrementalAlterConfigs on the default broker resource, sent to one broker, lands in ZooKeeper as
Kafka lays it out (/config/brokers/<default> and a /config/changes notification); every broker follows
the notification and describes the new value (topics inherit it); a broker that restarts reads it again.
A per-broker value applies to that broker alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewTopic,
    ResourceType,
)
from kazoo.client import KazooClient

from protocol.messages.incremental_alter_configs import (
    INCREMENTAL_ALTER_CONFIGS,
    AlterableConfig,
    AlterConfigsResource,
    IncrementalAlterConfigsRequest,
)
from tests.cluster.brokers import Cluster, cluster_on_its_own_zookeeper, metadata, wait_for
from tests.harness import BrokerProcess
from tests.raw_client import RawClient

Setup = tuple[Cluster, KazooClient]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    with cluster_on_its_own_zookeeper(tmp_path_factory, "configs") as both:
        yield both


def describe(broker: BrokerProcess, kind: Any, name: str, config: str) -> tuple[str, int]:
    """(value, source) of ``config`` as ``broker`` describes it."""
    client = AdminClient({"bootstrap.servers": broker.bootstrap})  # kept until the answer is in
    resource = ConfigResource(kind, name)
    entry = client.describe_configs([resource])[resource].result(timeout=30)[config]
    return str(entry.value), int(entry.source)


def alter(broker: BrokerProcess, name: str, config: str, value: str) -> None:
    """IncrementalAlterConfigs SET on a broker resource ("": the cluster default), sent to ``broker``.
    A raw request for the default resource (librdkafka and kafka-python refuse an empty name),
    confluent-kafka otherwise."""
    if not name:
        raw = RawClient(broker)
        try:
            change = AlterableConfig(name=config, value=value)
            request = IncrementalAlterConfigsRequest(
                resources=[AlterConfigsResource(resource_type=4, resource_name="", configs=[change])]
            )
            response = raw.request(INCREMENTAL_ALTER_CONFIGS.key, 1, request)
        finally:
            raw.close()
        assert [r.error_code for r in response.responses] == [0], response
        return
    entry = ConfigEntry(config, value, incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource(ResourceType.BROKER, name, incremental_configs=[entry])
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(timeout=30)


def test_default_broker_configs_reach_every_broker(setup: Setup) -> None:
    cluster, zk = setup
    client = AdminClient({"bootstrap.servers": cluster.bootstrap})
    client.create_topics([NewTopic("inherits", 3, 1)])["inherits"].result(30)
    wait_for(lambda: all("inherits" in metadata(b).topics for b in cluster.brokers), what="the topic")
    changes_before = set(zk.get_children("/config/changes"))

    alter(cluster.brokers[0], "", "log.retention.ms", "4242000")
    assert json.loads(zk.get("/config/brokers/<default>")[0]) == {
        "version": 1,
        "config": {"log.retention.ms": "4242000"},
    }
    new_changes = set(zk.get_children("/config/changes")) - changes_before
    notes = [json.loads(zk.get(f"/config/changes/{c}")[0]) for c in new_changes]
    assert {"version": 2, "entity_path": "brokers/<default>"} in notes

    broker_ids = {b.port: i for i, b in enumerate(cluster.brokers)}
    for broker in cluster.brokers:
        own = str(broker_ids[broker.port])
        wait_for(
            lambda b=broker, own=own: (
                describe(b, ResourceType.BROKER, own, "log.retention.ms")  # type: ignore[misc]
                == ("4242000", ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value)
            ),
            what=f"broker {own} to take the default",
        )
        # Topics without an override inherit it.
        wait_for(
            lambda b=broker: describe(b, ResourceType.TOPIC, "inherits", "retention.ms")[0] == "4242000",  # type: ignore[misc]
            what="the topic to inherit it",
        )

    # A value for broker 1 alone: broker 1 takes it, the others keep the default.
    alter(cluster.brokers[1], "1", "log.retention.ms", "777000")
    assert json.loads(zk.get("/config/brokers/1")[0])["config"] == {"log.retention.ms": "777000"}
    assert describe(cluster.brokers[1], ResourceType.BROKER, "1", "log.retention.ms") == (
        "777000",
        ConfigSource.DYNAMIC_BROKER_CONFIG.value,
    )
    assert describe(cluster.brokers[2], ResourceType.BROKER, "2", "log.retention.ms")[0] == "4242000"

    # A broker that starts again reads them from ZooKeeper.
    cluster.brokers[2].restart()
    wait_for(lambda: len(metadata(cluster.brokers[2]).brokers) == 3, what="broker 2 back")
    assert describe(cluster.brokers[2], ResourceType.BROKER, "2", "log.retention.ms") == (
        "4242000",
        ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value,
    )
