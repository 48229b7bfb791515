"""Client quotas in cluster mode: kept in ZooKeeper where Kafka keeps them (/config/users,
/config/users/<user>/clients, /config/clients, with /config/changes notifications), so a quota set
as Kafka 2.4.1's ``kafka-configs.sh --zookeeper`` sets it, or by AlterClientQuotas through one
broker, reaches every broker; a user's SCRAM credentials in the same znode are kept."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka.admin._scram import ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion
from kazoo.client import KazooClient

from protocol.messages.alter_client_quotas import (
    AlterClientQuotasRequest,
    AlterClientQuotasRequestEntryData,
    EntityData,
    OpData,
)
from protocol.messages.describe_client_quotas import DescribeClientQuotasRequest
from tests.cluster.brokers import Cluster, admin, wait_for
from tests.harness import BrokerProcess
from tests.raw_client import RawClient
from tests.zookeeper import ZooKeeperServer


@pytest.fixture(scope="module")
def cluster(zookeeper: ZooKeeperServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    chroot = f"{zookeeper.connect}/quotas-{uuid.uuid4().hex[:8]}"
    running = Cluster(tmp_path_factory.mktemp("quota-cluster"), chroot, size=2)
    try:
        yield running.start()
    finally:
        running.stop()


@pytest.fixture
def zk(cluster: Cluster) -> Iterator[KazooClient]:
    client = KazooClient(hosts=cluster.zk_connect)
    client.start(timeout=15)
    try:
        yield client
    finally:
        client.stop()
        client.close()


def quotas_of(broker: BrokerProcess) -> dict[tuple[tuple[str, str | None], ...], dict[str, float]]:
    raw = RawClient(broker)
    try:
        response = raw.request(48, 1, DescribeClientQuotasRequest())
    finally:
        raw.close()
    assert response.error_code == 0
    return {
        tuple((e.entity_type, e.entity_name) for e in entry.entity): {v.key: v.value for v in entry.values}
        for entry in response.entries
    }


def test_a_quota_written_as_kafka_configs_does_reaches_every_broker(cluster: Cluster, zk: KazooClient) -> None:
    # exactly what kafka-configs.sh 2.4.1 --zookeeper --entity-type clients --entity-name 'slow app'
    # --alter --add-config producer_byte_rate=1024,request_percentage=12.5 writes
    config = {"version": 1, "config": {"request_percentage": "12.5", "producer_byte_rate": "1024"}}
    zk.ensure_path("/config/clients")
    zk.create("/config/clients/slow%20app", json.dumps(config).encode())
    change = {"version": 2, "entity_path": "clients/slow%20app"}
    zk.create("/config/changes/config_change_", json.dumps(change).encode(), sequence=True)
    wanted = {"producer_byte_rate": 1024.0, "request_percentage": 12.5}

    def everywhere() -> bool:
        return all(quotas_of(b).get((("client-id", "slow app"),)) == wanted for b in cluster.brokers)

    wait_for(everywhere, what="every broker to see the quota")


def test_alter_client_quotas_through_one_broker_keeps_scram_credentials(cluster: Cluster, zk: KazooClient) -> None:
    first, second = cluster.brokers
    user = f"quota-user-{uuid.uuid4().hex[:6]}"
    upsert = UserScramCredentialUpsertion(user, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096), b"pw")
    client = admin(second)  # kept: its futures fail once it is destroyed
    for future in client.alter_user_scram_credentials([upsert]).values():
        future.result(timeout=30)
    entries = [
        ([EntityData(entity_type="user", entity_name=user)], [OpData(key="consumer_byte_rate", value=2048)]),
        (
            [EntityData(entity_type="user", entity_name=user), EntityData(entity_type="client-id", entity_name=None)],
            [OpData(key="producer_byte_rate", value=4096)],
        ),
    ]
    raw = RawClient(first)
    try:
        body = AlterClientQuotasRequest(
            entries=[AlterClientQuotasRequestEntryData(entity=e, ops=ops) for e, ops in entries]
        )
        answer: Any = raw.request(49, 1, body)
    finally:
        raw.close()
    assert [e.error_code for e in answer.entries] == [0, 0]
    node = json.loads(zk.get(f"/config/users/{user}")[0])["config"]
    assert node["consumer_byte_rate"] == "2048" and node["SCRAM-SHA-256"].startswith("salt=")
    child = json.loads(zk.get(f"/config/users/{user}/clients/<default>")[0])
    assert child == {"version": 1, "config": {"producer_byte_rate": "4096"}}
    wait_for(
        lambda: quotas_of(second).get((("user", user), ("client-id", None))) == {"producer_byte_rate": 4096.0},
        what="the second broker to see the quota",
    )
    assert quotas_of(second)[(("user", user),)] == {"consumer_byte_rate": 2048.0}
    futures: Any = client.describe_user_scram_credentials([user])
    described = futures[user].result(timeout=30)
    assert [i.mechanism for i in described.scram_credential_infos] == [ScramMechanism.SCRAM_SHA_256]


def test_a_broker_down_during_a_change_reads_it_from_zookeeper_when_back(cluster: Cluster) -> None:
    first, second = cluster.brokers
    second.stop()
    try:
        raw = RawClient(first)
        try:
            entry = AlterClientQuotasRequestEntryData(
                entity=[EntityData(entity_type="client-id", entity_name="while-down")],
                ops=[OpData(key="consumer_byte_rate", value=512)],
            )
            assert raw.request(49, 1, AlterClientQuotasRequest(entries=[entry])).entries[0].error_code == 0
        finally:
            raw.close()
    finally:
        second.start()
    wanted = quotas_of(first)
    assert wanted[(("client-id", "while-down"),)] == {"consumer_byte_rate": 512.0}
    wait_for(lambda: quotas_of(second) == wanted, what="the restarted broker's quotas")


def test_notifications_arriving_while_a_broker_reads_are_all_applied(cluster: Cluster, zk: KazooClient) -> None:
    # Many quotas changed in a burst, as a script does: each broker reads the notifications while more
    # arrive, and a notification that comes in during a read must still be applied.
    names = [f"burst-{uuid.uuid4().hex[:6]}-{i}" for i in range(40)]
    for i, name in enumerate(names):
        zk.create(
            f"/config/clients/{name}",
            json.dumps({"version": 1, "config": {"producer_byte_rate": str(1000 + i)}}).encode(),
        )
        change = {"version": 2, "entity_path": f"clients/{name}"}
        zk.create("/config/changes/config_change_", json.dumps(change).encode(), sequence=True)
    wanted = {(("client-id", name),): {"producer_byte_rate": float(1000 + i)} for i, name in enumerate(names)}

    def everywhere() -> bool:
        for broker in cluster.brokers:
            seen = quotas_of(broker)
            if any(seen.get(entity) != quota for entity, quota in wanted.items()):
                return False
        return True

    wait_for(everywhere, what="every broker to apply every notification of the burst")
