"""Which listener the controller's channel uses: Kafka's inter.broker.listener.name and
security.inter.broker.protocol rules (configs only: no connection is made)."""

from __future__ import annotations

import pytest

from broker.config import BrokerConfig, ConfigError
from broker.controller.zk.node import ZkBrokerNode
from broker.server import new_cluster_id

LISTENERS = {
    "zookeeper.connect": "127.0.0.1:2181",
    "listeners": "EXTERNAL://:9092,INTERNAL://:9093",
    "listener.security.protocol.map": "EXTERNAL:PLAINTEXT,INTERNAL:PLAINTEXT",
}


def listener(**props: str) -> str:
    return ZkBrokerNode(BrokerConfig.from_properties({**LISTENERS, **props}), new_cluster_id).inter_broker_listener


def test_the_named_listener_else_the_first_with_the_inter_broker_protocol() -> None:
    assert listener(**{"inter.broker.listener.name": "internal"}) == "INTERNAL"
    assert listener() == "EXTERNAL"
    assert listener(**{"listeners": "PLAINTEXT://:9092"}) == "PLAINTEXT"


def test_both_set_or_no_listener_with_the_protocol_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="Only one of"):
        listener(**{"inter.broker.listener.name": "INTERNAL", "security.inter.broker.protocol": "PLAINTEXT"})
    with pytest.raises(ConfigError, match="No listener"):
        listener(**{"security.inter.broker.protocol": "SSL"})
