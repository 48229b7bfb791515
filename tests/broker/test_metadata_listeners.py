"""Metadata, DescribeCluster and FindCoordinator answer from the metadata cache with the endpoints of
the listener a request came in on."""

from __future__ import annotations

import time
from pathlib import Path
from typing import cast

from protocol.errors import ErrorCode
from protocol.messages.describe_cluster import DescribeClusterRequest, DescribeClusterResponse
from protocol.messages.find_coordinator import FindCoordinatorRequest, FindCoordinatorResponse
from protocol.messages.metadata import MetadataRequest, MetadataRequestTopic, MetadataResponse
from tests.harness import BrokerProcess
from tests.raw_client import RawClient

METADATA, FIND_COORDINATOR, DESCRIBE_CLUSTER = 3, 10, 60


class _Port:
    def __init__(self, port: int) -> None:
        self.port = port


def test_each_listener_sees_its_own_advertised_endpoint(tmp_path: Path) -> None:
    overrides = {
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT",
        "broker.rack": "r1",
        "listeners": "PLAINTEXT://127.0.0.1:0,INTERNAL://127.0.0.1:0",
        # Ephemeral ports: each listener advertises the port it got (INTERNAL: its own host too).
        "advertised.listeners": "PLAINTEXT://outside.example:0",
    }
    with BrokerProcess(tmp_path, overrides) as broker:
        external, internal = broker.ports["PLAINTEXT"], broker.ports["INTERNAL"]
        outside = RawClient(broker)
        inside = RawClient(cast(BrokerProcess, _Port(internal)))
        for client, host, port in ((outside, "outside.example", external), (inside, "127.0.0.1", internal)):
            md: MetadataResponse = client.request(
                METADATA, 12, MetadataRequest(topics=[MetadataRequestTopic(name="t")], allow_auto_topic_creation=True)
            )
            assert [(b.node_id, b.host, b.port, b.rack) for b in md.brokers] == [(0, host, port, "r1")]
            assert md.controller_id == 0 and md.cluster_id
            (topic,) = md.topics
            assert topic.error_code == ErrorCode.NONE
            assert [(p.leader_id, p.replica_nodes, p.isr_nodes) for p in topic.partitions] == [(0, [0], [0])]

            cluster: DescribeClusterResponse = client.request(DESCRIBE_CLUSTER, 1, DescribeClusterRequest())
            assert [(b.broker_id, b.host, b.port, b.rack) for b in cluster.brokers] == [(0, host, port, "r1")]
            assert (cluster.controller_id, cluster.cluster_id) == (0, md.cluster_id)

            found = None
            for _ in range(50):  # COORDINATOR_NOT_AVAILABLE while __consumer_offsets is created
                found = client.request(FIND_COORDINATOR, 3, FindCoordinatorRequest(key="g", key_type=0))
                if found.error_code == ErrorCode.NONE:
                    break
                time.sleep(0.1)
            assert isinstance(found, FindCoordinatorResponse)
            assert (found.error_code, found.node_id, found.host, found.port) == (ErrorCode.NONE, 0, host, port)
        outside.close()
        inside.close()
