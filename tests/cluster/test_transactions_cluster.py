"""Transactions in cluster mode: a real ZooKeeper, three broker processes, confluent-kafka clients.

The transaction coordinator writes the markers of partitions it leads itself and sends WriteTxnMarkers
to the leaders of the others over the inter-broker listener. The data topic has replication factor 1,
its partitions spread over the three brokers, so each marker goes to a different leader; the internal
topics keep Kafka's defaults (3 replicas, ``transaction.state.log.min.isr`` 2). A coordinator's death
is tested in test_transactions_failover.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin._config import ConfigResource
from confluent_kafka.cimpl import NewTopic

from protocol.errors import ErrorCode
from protocol.messages.add_partitions_to_txn import AddPartitionsToTxnRequest, AddPartitionsToTxnTopic
from protocol.messages.end_txn import EndTxnRequest
from protocol.messages.find_coordinator import FindCoordinatorRequest, FindCoordinatorResponse
from protocol.messages.init_producer_id import InitProducerIdRequest
from protocol.messages.produce import PartitionProduceData, ProduceRequest, TopicProduceData
from tests.cluster.brokers import Cluster, admin, metadata, wait_for
from tests.harness import BrokerProcess
from tests.raw_client import RawClient, batch
from tests.zookeeper import ZooKeeperServer

TIMEOUT_S = 30
TOPIC = "txn-spread"
PARTITIONS = 3
OVERRIDES = {
    "offsets.topic.num.partitions": "3",
    "transaction.state.log.num.partitions": "3",
    "group.initial.rebalance.delay.ms": "0",
}


@pytest.fixture(scope="module")
def cluster(zookeeper: ZooKeeperServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    chroot = f"{zookeeper.connect}/txn-{uuid.uuid4().hex[:8]}"
    running = Cluster(tmp_path_factory.mktemp("txn-cluster"), chroot, overrides=OVERRIDES)
    try:
        running.start()
        client = admin(running.brokers[0])
        for future in client.create_topics([NewTopic(TOPIC, PARTITIONS, 1)], operation_timeout=30).values():
            future.result(timeout=60)
        wait_for(lambda: _leaders(running) if len(set(_leaders(running).values())) == PARTITIONS else None,
                 what=f"{TOPIC}'s partitions led by three brokers")  # fmt: skip
        yield running
    finally:
        running.stop()


def _leaders(cluster: Cluster) -> dict[int, int]:
    topic = metadata(cluster.brokers[0]).topics.get(TOPIC)
    return {} if topic is None else {p: part.leader for p, part in topic.partitions.items()}


def _read_committed(cluster: Cluster, expected: int) -> tuple[list[bytes], dict[int, tuple[int, int]]]:
    """Every value a read_committed consumer reads from the start, once it has ``expected`` of them and
    stands at each partition's end; and per partition (position, high watermark)."""
    consumer = Consumer({
        "bootstrap.servers": cluster.bootstrap, "group.id": f"g-{uuid.uuid4().hex[:6]}",
        "isolation.level": "read_committed", "enable.auto.commit": False,
    })  # fmt: skip
    consumer.assign([TopicPartition(TOPIC, p, 0) for p in range(PARTITIONS)])
    values: list[bytes] = []
    ends: dict[int, tuple[int, int]] = {}
    try:

        def done() -> bool:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                values.append(message.value() or b"")
            if len(values) < expected:
                return False
            for p in range(PARTITIONS):
                position = consumer.position([TopicPartition(TOPIC, p)])[0].offset
                ends[p] = (position, consumer.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)[1])
            return all(position == high for position, high in ends.values())

        wait_for(done, timeout_s=60, what="the read_committed consumer to reach every partition's end")
    finally:
        consumer.close()
    return values, ends


def test_a_transaction_over_partitions_of_three_brokers_commits_and_aborts(cluster: Cluster) -> None:
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "transactional.id": "spread", "linger.ms": 5})
    producer.init_transactions(TIMEOUT_S)
    committed: list[bytes] = []
    for n, commit in enumerate((True, False, True)):
        producer.begin_transaction()
        batch = [f"t{n}-p{p}-{i}".encode() for p in range(PARTITIONS) for i in range(3)]
        for value in batch:
            producer.produce(TOPIC, value=value, partition=int(value.split(b"-p")[1][:1]))
        if commit:
            producer.commit_transaction(TIMEOUT_S)
            committed += batch
        else:
            producer.flush(TIMEOUT_S)  # the records are written, then aborted
            producer.abort_transaction(TIMEOUT_S)
    values, ends = _read_committed(cluster, len(committed))
    assert sorted(values) == sorted(committed)
    # each partition holds 9 records and 3 markers: its last stable offset reached its end, so every
    # leader wrote both commits and the abort, whichever broker coordinates the transactional id
    assert ends == {p: (12, 12) for p in range(PARTITIONS)}


def test_the_transaction_state_topic_has_its_configs(cluster: Cluster) -> None:
    topic = wait_for(lambda: metadata(cluster.brokers[1]).topics.get("__transaction_state"), what="the topic")
    assert len(topic.partitions) == 3
    assert all(len(p.replicas) == 3 for p in topic.partitions.values())
    resource = ConfigResource(ConfigResource.Type.TOPIC, "__transaction_state")
    client = admin(cluster.brokers[2])  # kept: the future fails if its client is gone
    configs = client.describe_configs([resource])[resource].result(TIMEOUT_S)
    assert configs["cleanup.policy"].value == "compact"
    assert configs["min.insync.replicas"].value == "2"
    assert configs["segment.bytes"].value == "104857600"


def test_a_leader_verifies_transactional_records_with_the_coordinating_broker(cluster: Cluster) -> None:
    """KIP-890 part 1 across brokers: a transactional batch for a partition the producer never added
    is refused by its leader, which asks the broker coordinating the transactional id."""
    txn_id = "verify-remote"
    first = RawClient(cluster.brokers[0])
    try:
        found = wait_for(lambda: _coordinator(first, txn_id), what="a coordinator for the id")
    finally:
        first.close()
    coordinator_broker = next(b for b in cluster.brokers if b.port == found.port)
    leaders = _leaders(cluster)
    partition = next(p for p, leader in leaders.items() if leader != found.node_id)
    leader_broker = next(b for b in cluster.brokers if _broker_id(cluster, b) == leaders[partition])
    coordinator, leader = RawClient(coordinator_broker), RawClient(leader_broker)
    try:
        init = coordinator.request(22, 4, InitProducerIdRequest(transactional_id=txn_id, transaction_timeout_ms=60000))
        assert init.error_code == ErrorCode.NONE
        pid, epoch = int(init.producer_id), int(init.producer_epoch)

        def produce(version: int, sequence: int) -> int:
            records = batch(b"v", producer_id=pid, producer_epoch=epoch, base_sequence=sequence, is_transactional=True)
            body = ProduceRequest(transactional_id=txn_id, acks=-1, timeout_ms=10000, topic_data=[TopicProduceData(
                name=TOPIC, partition_data=[PartitionProduceData(index=partition, records=records)])])  # fmt: skip
            return int(leader.request(0, version, body).responses[0].partition_responses[0].error_code)

        assert produce(9, 0) == ErrorCode.INVALID_TXN_STATE
        assert produce(11, 0) == ErrorCode.TRANSACTION_ABORTABLE
        add = AddPartitionsToTxnRequest(
            v3_and_below_transactional_id=txn_id, v3_and_below_producer_id=pid, v3_and_below_producer_epoch=epoch,
            v3_and_below_topics=[AddPartitionsToTxnTopic(name=TOPIC, partitions=[partition])],
        )  # fmt: skip
        assert (
            coordinator.request(24, 3, add)
            .results_by_topic_v3_and_below[0]
            .results_by_partition[0]
            .partition_error_code
            == 0
        )
        assert produce(9, 0) == ErrorCode.NONE
        assert produce(9, 1) == ErrorCode.NONE  # the transaction is open here now: no need to ask again
        end = EndTxnRequest(transactional_id=txn_id, producer_id=pid, producer_epoch=epoch, committed=False)
        assert coordinator.request(26, 3, end).error_code == ErrorCode.NONE
    finally:
        coordinator.close()
        leader.close()


def _coordinator(client: RawClient, txn_id: str) -> FindCoordinatorResponse | None:
    response: FindCoordinatorResponse = client.request(10, 3, FindCoordinatorRequest(key=txn_id, key_type=1))
    return response if response.error_code == ErrorCode.NONE else None


def _broker_id(cluster: Cluster, broker: BrokerProcess) -> int:
    return next(b.id for b in metadata(broker).brokers.values() if b.port == broker.port)


def test_a_transaction_whose_topic_is_deleted_still_commits(cluster: Cluster) -> None:
    """A partition deleted while its transaction is open gets no marker (it is gone), as Kafka skips it;
    the other partitions get theirs, and the commit is answered instead of CONCURRENT_TRANSACTIONS
    forever (the coordinator used to retry the deleted partition's marker, finding no leader, without end)."""
    doomed = f"txn-doomed-{uuid.uuid4().hex[:6]}"
    client = admin(cluster.brokers[0])
    for future in client.create_topics([NewTopic(doomed, 1, 1)], operation_timeout=30).values():
        future.result(timeout=60)
    txn_id = f"deleted-{uuid.uuid4().hex[:6]}"
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "transactional.id": txn_id, "linger.ms": 0})
    producer.init_transactions(TIMEOUT_S)
    producer.begin_transaction()
    producer.produce(doomed, value=b"gone", partition=0)
    producer.produce(TOPIC, value=b"kept", partition=0)
    assert producer.flush(TIMEOUT_S) == 0  # both partitions are in the transaction
    for future in client.delete_topics([doomed], operation_timeout=30).values():
        future.result(timeout=60)
    wait_for(lambda: all(doomed not in metadata(b).topics for b in cluster.brokers), timeout_s=TIMEOUT_S,
             what=f"{doomed} gone from every broker's metadata")  # fmt: skip
    producer.commit_transaction(TIMEOUT_S)
    producer.begin_transaction()  # the transactional id goes on
    producer.produce(TOPIC, value=b"next", partition=0)
    producer.commit_transaction(TIMEOUT_S)
    consumer = Consumer({
        "bootstrap.servers": cluster.bootstrap, "group.id": f"g-{uuid.uuid4().hex[:6]}",
        "isolation.level": "read_committed", "enable.auto.commit": False,
    })  # fmt: skip
    consumer.assign([TopicPartition(TOPIC, 0, 0)])
    seen: list[bytes] = []

    def both_read() -> bool:
        seen.extend(m.value() or b"" for m in consumer.consume(10, 0.5) if m.error() is None)
        return b"next" in seen

    try:
        wait_for(both_read, timeout_s=TIMEOUT_S, what="the committed records")
    finally:
        consumer.close()
    assert b"kept" in seen and b"next" in seen
