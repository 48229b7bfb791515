"""Transactions survive the death of their coordinator: three broker processes on a real ZooKeeper,
Kafka's defaults for the internal topics (``__transaction_state`` and ``__consumer_offsets`` with 3
replicas, ``transaction.state.log.min.isr`` 2), confluent-kafka clients.

The broker coordinating a transactional id is killed with SIGKILL in the middle of a
consume-transform-produce loop and restarted later: the controller makes another replica of its
``__transaction_state`` partition the leader, that broker loads the transactions from its copy
(COORDINATOR_LOAD_IN_PROGRESS meanwhile), completes or aborts what was open, and the output holds every
input record exactly once. A zombie producer of the dead coordinator's time is fenced by its successor.
Only the number of partitions of the internal topics is lowered, to keep loading quick.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.cimpl import NewTopic

from kafkish.testing.checkers import Record, assert_delivery
from protocol.errors import ErrorCode
from protocol.messages.find_coordinator import FindCoordinatorRequest
from tests.cluster.brokers import Cluster, admin, metadata, wait_for
from tests.harness import BrokerProcess
from tests.raw_client import RawClient
from tests.zookeeper import ZooKeeperServer

TIMEOUT_S = 60
INPUT, OUTPUT, ZOMBIE = "ctp-in", "ctp-out", "zombie-out"
PARTITIONS = 3
RECORDS = 240
OVERRIDES = {"offsets.topic.num.partitions": "3", "transaction.state.log.num.partitions": "3"}


@pytest.fixture(scope="module")
def cluster(zookeeper: ZooKeeperServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    chroot = f"{zookeeper.connect}/txn-failover-{uuid.uuid4().hex[:8]}"
    running = Cluster(tmp_path_factory.mktemp("txn-failover"), chroot, overrides=OVERRIDES)
    try:
        running.start()
        topics = [NewTopic(name, PARTITIONS, 3) for name in (INPUT, OUTPUT, ZOMBIE)]
        client = admin(running.brokers[0])  # kept: the futures fail once their client is gone
        for future in client.create_topics(topics, operation_timeout=30).values():
            future.result(timeout=60)
        yield running
    finally:
        running.stop()


def _coordinator(cluster: Cluster, txn_id: str) -> BrokerProcess:
    """The broker that coordinates ``txn_id`` now, as FindCoordinator answers it."""

    def find() -> BrokerProcess | None:
        for broker in cluster.alive():
            client = RawClient(broker)
            try:
                found = client.request(10, 3, FindCoordinatorRequest(key=txn_id, key_type=1))
            finally:
                client.close()
            if found.error_code == ErrorCode.NONE:
                return next((b for b in cluster.alive() if b.port == found.port), None)
        return None

    found: BrokerProcess = wait_for(find, timeout_s=TIMEOUT_S, what=f"a coordinator for {txn_id}")
    return found


def _restart(broker: BrokerProcess, cluster: Cluster) -> None:
    broker.restart(clean=False)
    size = len(cluster.brokers)
    wait_for(lambda: all(len(metadata(b).brokers) == size for b in cluster.alive()), timeout_s=TIMEOUT_S,
             what="the restarted broker back in every broker's metadata")  # fmt: skip


def _read_committed(cluster: Cluster, topic: str, expected: int) -> list[object]:
    consumer = Consumer({
        "bootstrap.servers": cluster.bootstrap, "group.id": f"check-{uuid.uuid4().hex[:6]}",
        "isolation.level": "read_committed", "enable.auto.commit": False,
    })  # fmt: skip
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    read: list[object] = []
    try:

        def done() -> bool:
            for message in consumer.consume(100, 0.5):
                if message.error() is None:
                    read.append(message)
            if len(read) < expected:
                return False
            positions = consumer.position([TopicPartition(topic, p) for p in range(PARTITIONS)])
            ends = [consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(PARTITIONS)]
            # an empty partition has no position (OFFSET_INVALID) until a record arrives
            return all(
                tp.offset == end or (tp.offset < 0 and end == 0) for tp, end in zip(positions, ends, strict=True)
            )

        wait_for(done, timeout_s=TIMEOUT_S, what=f"a read_committed consumer at the end of {topic}")
    finally:
        consumer.close()
    return read


def test_consume_transform_produce_is_exactly_once_across_a_coordinator_kill(cluster: Cluster) -> None:
    source = Producer({"bootstrap.servers": cluster.bootstrap, "enable.idempotence": True, "linger.ms": 5})
    inputs = [f"{n:04d}".encode() for n in range(RECORDS)]
    for n, value in enumerate(inputs):
        source.produce(INPUT, value=value, partition=n % PARTITIONS)
    assert source.flush(TIMEOUT_S) == 0

    txn_id = "ctp-failover"
    consumer = Consumer({
        "bootstrap.servers": cluster.bootstrap, "group.id": "ctp", "isolation.level": "read_committed",
        "enable.auto.commit": False, "auto.offset.reset": "earliest",
    })  # fmt: skip
    consumer.subscribe([INPUT])
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "transactional.id": txn_id, "linger.ms": 5})
    producer.init_transactions(TIMEOUT_S)
    victim: BrokerProcess | None = None
    restarted = False
    commits = aborts = 0
    processed: set[bytes] = set()
    deadline = time.monotonic() + 120
    try:
        while len(processed) < RECORDS and time.monotonic() < deadline:
            if victim is not None and not restarted and commits >= 6:
                _restart(victim, cluster)
                restarted = True
            messages = [m for m in consumer.consume(20, 1.0) if m.error() is None]
            if not messages:
                continue
            producer.begin_transaction()
            for message in messages:
                producer.produce(OUTPUT, value=b"out-" + (message.value() or b""), partition=message.partition() or 0)
            if victim is None and commits == 3:
                assert producer.flush(TIMEOUT_S) == 0  # the transaction is open, its records written
                victim = _coordinator(cluster, txn_id)
                victim.kill()  # SIGKILL: its successor finds this transaction Ongoing in its replica
            try:
                positions = consumer.position(consumer.assignment())
                producer.send_offsets_to_transaction(positions, consumer.consumer_group_metadata(), TIMEOUT_S)
                producer.commit_transaction(TIMEOUT_S)
            except KafkaException as exc:
                error: KafkaError = exc.args[0]
                assert error.txn_requires_abort(), f"not an abortable error: {error}"
                producer.abort_transaction(TIMEOUT_S)
                aborts += 1
                committed = consumer.committed(consumer.assignment(), TIMEOUT_S)
                for tp in committed:  # rewind to what the aborted transaction did not consume
                    consumer.seek(TopicPartition(tp.topic, tp.partition, max(tp.offset, 0)))
                continue
            commits += 1
            processed.update(m.value() or b"" for m in messages)
    finally:
        consumer.close()
    assert victim is not None and restarted, f"only {commits} transactions committed ({aborts} aborted)"
    assert len(processed) == RECORDS, f"{len(processed)} of {RECORDS} inputs processed in time"
    produced = [Record(OUTPUT, b"out-" + value) for value in inputs]
    assert_delivery(produced, _read_committed(cluster, OUTPUT, RECORDS))


def test_a_zombie_of_the_dead_coordinators_time_is_fenced_by_its_successor(cluster: Cluster) -> None:
    txn_id = "zombie-failover"
    zombie = Producer({"bootstrap.servers": cluster.bootstrap, "transactional.id": txn_id, "linger.ms": 0})
    zombie.init_transactions(TIMEOUT_S)
    zombie.begin_transaction()
    zombie.produce(ZOMBIE, value=b"zombie", partition=0)
    assert zombie.flush(TIMEOUT_S) == 0  # written, its transaction open
    victim = _coordinator(cluster, txn_id)
    victim.kill()
    try:
        successor = Producer({"bootstrap.servers": cluster.bootstrap, "transactional.id": txn_id})
        successor.init_transactions(TIMEOUT_S)  # on the new coordinator: fences the zombie, aborts its transaction
        assert _coordinator(cluster, txn_id) is not victim
        successor.begin_transaction()
        successor.produce(ZOMBIE, value=b"successor", partition=0)
        successor.commit_transaction(TIMEOUT_S)
        with pytest.raises(KafkaException) as raised:
            zombie.produce(ZOMBIE, value=b"late", partition=0)
            zombie.commit_transaction(TIMEOUT_S)
        assert raised.value.args[0].code() in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED)
    finally:
        _restart(victim, cluster)
    values = [m.value() for m in _read_committed(cluster, ZOMBIE, 1)]  # type: ignore[attr-defined]
    assert values == [b"successor"]
