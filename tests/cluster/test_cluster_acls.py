"""ACLs and SCRAM users in cluster mode: kept in ZooKeeper in Kafka's layout (/kafka-acl, /kafka-acl-changes,
/config/users with /config/changes), and an ACL or a user created through one broker seen by every broker
(each follows the change notifications)."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._acl import AclBinding, AclBindingFilter, AclOperation, AclPermissionType
from confluent_kafka.admin._resource import ResourcePatternType, ResourceType
from confluent_kafka.admin._scram import ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion
from kazoo.client import KazooClient

from tests.cluster.brokers import Cluster, admin, metadata, wait_for
from tests.cluster.test_cluster_mode import create
from tests.harness import BrokerProcess
from tests.zookeeper import ZooKeeperServer


@pytest.fixture(scope="module")
def cluster(zookeeper: ZooKeeperServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    chroot = f"{zookeeper.connect}/acls-{uuid.uuid4().hex[:8]}"
    settings = {
        "offsets.topic.replication.factor": "1",
        "authorizer.class.name": "kafka.security.auth.SimpleAclAuthorizer",  # the older name works too
        "allow.everyone.if.no.acl.found": "true",
    }
    running = Cluster(tmp_path_factory.mktemp("acl-cluster"), chroot, overrides=settings)
    try:
        yield running.start()
    finally:
        running.stop()


def produce_error(broker: BrokerProcess, topic: str) -> Any:
    producer = Producer({"bootstrap.servers": broker.bootstrap, "message.timeout.ms": 10000})
    delivered: list[Any] = []
    producer.produce(topic, b"v", on_delivery=lambda err, msg: delivered.append(err))
    producer.flush(30)
    return delivered[0] if delivered else "not delivered"


def test_an_acl_created_through_one_broker_is_enforced_by_all(cluster: Cluster) -> None:
    first, second, third = cluster.brokers
    topic = f"secret-{uuid.uuid4().hex[:6]}"
    create(cluster, first, topic, 3, 1)
    deny = AclBinding(ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, "User:ANONYMOUS", "*",
                      AclOperation.ALL, AclPermissionType.DENY)  # fmt: skip
    client = admin(first)
    for future in client.create_acls([deny]).values():
        future.result(timeout=30)
    for broker in (second, third):
        wait_for(functools.partial(_hides, broker, topic), what=f"broker {broker} to hide {topic}")
        error = produce_error(broker, topic)
        assert error is not None and error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    assert client.describe_acls(_filter(topic)).result(timeout=30) == [deny]
    other = admin(third)
    assert other.delete_acls([_filter(topic)])[_filter(topic)].result(timeout=30) == [deny]
    wait_for(lambda: topic in metadata(first).topics and topic in metadata(second).topics, what="the topic again")
    assert produce_error(second, topic) is None


def test_acls_are_kept_in_kafkas_znodes(cluster: Cluster) -> None:
    client = admin(cluster.brokers[1])
    prefixed = AclBinding(ResourceType.GROUP, "team-", ResourcePatternType.PREFIXED, "User:alice", "*",
                          AclOperation.READ, AclPermissionType.ALLOW)  # fmt: skip
    literal = AclBinding(ResourceType.TOPIC, "orders", ResourcePatternType.LITERAL, "User:alice", "10.0.0.1",
                         AclOperation.WRITE, AclPermissionType.ALLOW)  # fmt: skip
    for future in client.create_acls([prefixed, literal]).values():
        future.result(timeout=30)
    zk = KazooClient(hosts=cluster.zk_connect)
    zk.start(timeout=15)
    try:
        data, _ = zk.get("/kafka-acl/Topic/orders")
        assert json.loads(data) == {
            "version": 1,
            "acls": [{"principal": "User:alice", "permissionType": "Allow", "operation": "Write", "host": "10.0.0.1"}],
        }
        data, _ = zk.get("/kafka-acl-extended/prefixed/Group/team-")
        assert json.loads(data)["acls"][0]["operation"] == "Read"
        literal_changes = [zk.get(f"/kafka-acl-changes/{c}")[0] for c in zk.get_children("/kafka-acl-changes")]
        assert b"Topic:orders" in literal_changes
        extended = [json.loads(zk.get(f"/kafka-acl-extended-changes/{c}")[0])
                    for c in zk.get_children("/kafka-acl-extended-changes")]  # fmt: skip
        assert {"version": 1, "resourceType": "Group", "name": "team-", "patternType": "PREFIXED"} in extended
        # An ACL written to ZooKeeper by another tool, with a notification, is picked up by every broker.
        entry = {"principal": "User:bob", "permissionType": "Deny", "operation": "Read", "host": "*"}
        zk.create("/kafka-acl/Topic/from-zk", json.dumps({"version": 1, "acls": [entry]}).encode())
        zk.create("/kafka-acl-changes/acl_changes_", b"Topic:from-zk", sequence=True)
    finally:
        zk.stop()
        zk.close()
    flt = _filter("from-zk")
    for broker in cluster.brokers:
        wait_for(functools.partial(_described, broker, flt), what="the ZK-made ACL")


def _filter(name: str) -> AclBindingFilter:
    return AclBindingFilter(ResourceType.TOPIC, name, ResourcePatternType.LITERAL, None, None,  # type: ignore[arg-type]
                            AclOperation.ANY, AclPermissionType.ANY)  # fmt: skip


def _described(broker: BrokerProcess, flt: AclBindingFilter) -> list[AclBinding]:
    client: AdminClient = admin(broker)  # kept until the answer: a collected client fails its futures
    found: list[AclBinding] = client.describe_acls(flt).result(timeout=30)
    return found


def _hides(broker: BrokerProcess, topic: str) -> bool:
    return topic not in metadata(broker).topics


def test_scram_users_live_in_config_users_and_reach_every_broker(cluster: Cluster) -> None:
    user = f"u{uuid.uuid4().hex[:6]}"
    client = admin(cluster.brokers[0])
    upsert = UserScramCredentialUpsertion(user, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096), b"pw")
    for future in client.alter_user_scram_credentials([upsert]).values():
        future.result(timeout=30)
    zk = KazooClient(hosts=cluster.zk_connect)
    zk.start(timeout=15)
    try:
        document = json.loads(zk.get(f"/config/users/{user}")[0])
        changes = [json.loads(zk.get(f"/config/changes/{c}")[0]) for c in zk.get_children("/config/changes")]
    finally:
        zk.stop()
        zk.close()
    assert document["version"] == 1 and list(document["config"]) == ["SCRAM-SHA-256"]
    assert (
        document["config"]["SCRAM-SHA-256"].startswith("salt=")
        and "iterations=4096" in document["config"]["SCRAM-SHA-256"]
    )
    assert {"version": 2, "entity_path": f"users/{user}"} in changes
    for broker in cluster.brokers[1:]:
        wait_for(functools.partial(_knows_user, broker, user), what=f"broker {broker} to know {user}")


def _knows_user(broker: BrokerProcess, user: str) -> bool:
    client: AdminClient = admin(broker)
    futures = client.describe_user_scram_credentials([user])
    assert isinstance(futures, dict)  # one future per user asked for
    described = futures[user].result(timeout=30)
    return [i.mechanism for i in described.scram_credential_infos] == [ScramMechanism.SCRAM_SHA_256]


def test_acls_on_one_resource_created_at_once_through_every_broker_are_all_kept(cluster: Cluster) -> None:
    topic = f"shared-{uuid.uuid4().hex[:6]}"
    clients = [admin(b) for b in cluster.brokers]
    bindings = [
        AclBinding(
            ResourceType.TOPIC,
            topic,
            ResourcePatternType.LITERAL,
            f"User:u{i}",
            "*",
            AclOperation.READ,
            AclPermissionType.ALLOW,
        )
        for i in range(len(clients))
    ]
    futures = [c.create_acls([b])[b] for c, b in zip(clients, bindings, strict=True)]
    for future in futures:
        future.result(timeout=30)
    for broker in cluster.brokers:
        wait_for(functools.partial(_has_all, broker, topic, set(bindings)), what=f"every ACL of {topic} on {broker}")


def _has_all(broker: BrokerProcess, topic: str, expected: set[AclBinding]) -> bool:
    return set(_described(broker, _filter(topic))) == expected
