"""Transactions with confluent-kafka (librdkafka) against a real broker process.

A transactional producer commits and aborts; a read_uncommitted consumer sees every record and no
marker (each marker takes an offset, skipped); a read_committed consumer sees only committed records
(that needs the log's last stable offset and aborted-transactions list). A second producer with the
same transactional.id fences the first; a transaction open past transaction.timeout.ms is aborted by
the coordinator; offsets sent to a transaction are committed only by its commit; and the
coordinator's state survives SIGKILL and a restart.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from tests.clients.txn_helpers import OVERRIDES, TIMEOUT_S, describe, make_topic, read, wait_for_state
from tests.harness import BrokerProcess


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    with BrokerProcess(tmp_path_factory.mktemp("txn-confluent"), OVERRIDES) as process:
        yield process


def producer(broker: BrokerProcess, txn_id: str, **config: Any) -> Producer:
    p = Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": txn_id, **config})
    p.init_transactions(TIMEOUT_S)
    return p


def committed_then_aborted_then_committed(broker: BrokerProcess, topic: str, txn_id: str) -> None:
    make_topic(broker, topic)
    p = producer(broker, txn_id)
    p.begin_transaction()
    for i in range(3):
        p.produce(topic, value=b"c%d" % i)
    p.commit_transaction(TIMEOUT_S)
    p.begin_transaction()
    for i in range(2):
        p.produce(topic, value=b"a%d" % i)
    assert p.flush(TIMEOUT_S) == 0  # written before the abort (librdkafka drops unsent records on abort)
    p.abort_transaction(TIMEOUT_S)
    p.begin_transaction()
    p.produce(topic, value=b"last")
    p.commit_transaction(TIMEOUT_S)


def test_read_uncommitted_sees_committed_and_aborted_records_and_skips_markers(broker: BrokerProcess) -> None:
    committed_then_aborted_then_committed(broker, "txn-cf-uncommitted", "cf-uncommitted")
    got = read(broker, "txn-cf-uncommitted", "read_uncommitted", 6)
    # c0-c2 at 0-2, COMMIT marker at 3, a0-a1 at 4-5, ABORT marker at 6, last at 7, COMMIT at 8.
    assert got == [(0, b"c0"), (1, b"c1"), (2, b"c2"), (4, b"a0"), (5, b"a1"), (7, b"last")]
    assert describe(broker, "cf-uncommitted").transaction_state == "CompleteCommit"


def test_read_committed_sees_only_committed_records(broker: BrokerProcess) -> None:
    committed_then_aborted_then_committed(broker, "txn-cf-committed", "cf-committed")
    got = read(broker, "txn-cf-committed", "read_committed", 4)
    assert got == [(0, b"c0"), (1, b"c1"), (2, b"c2"), (7, b"last")]


def test_an_open_transaction_holds_back_read_committed_consumers(broker: BrokerProcess) -> None:
    topic = "txn-cf-open"
    make_topic(broker, topic)
    p = producer(broker, "cf-open")
    p.begin_transaction()
    p.produce(topic, value=b"pending")
    assert p.flush(TIMEOUT_S) == 0
    assert read(broker, topic, "read_uncommitted", 1) == [(0, b"pending")]
    assert read(broker, topic, "read_committed", 0) == []
    p.commit_transaction(TIMEOUT_S)
    assert read(broker, topic, "read_committed", 1) == [(0, b"pending")]


def test_a_second_producer_fences_the_first_and_aborts_its_transaction(broker: BrokerProcess) -> None:
    topic = "txn-cf-fenced"
    make_topic(broker, topic)
    zombie = producer(broker, "cf-fenced")
    zombie.begin_transaction()
    zombie.produce(topic, value=b"zombie")
    assert zombie.flush(TIMEOUT_S) == 0
    before = describe(broker, "cf-fenced")
    successor = producer(broker, "cf-fenced")  # fences the zombie: its transaction is aborted
    after = describe(broker, "cf-fenced")
    assert after.producer_id == before.producer_id and after.producer_epoch == before.producer_epoch + 2
    with pytest.raises(KafkaException) as raised:
        zombie.commit_transaction(TIMEOUT_S)
    assert raised.value.args[0].code() in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED)
    successor.begin_transaction()
    successor.produce(topic, value=b"successor")
    successor.commit_transaction(TIMEOUT_S)
    # zombie at 0, its ABORT marker at 1, successor at 2, COMMIT at 3.
    assert read(broker, topic, "read_uncommitted", 2) == [(0, b"zombie"), (2, b"successor")]


def test_a_transaction_open_past_its_timeout_is_aborted(broker: BrokerProcess) -> None:
    topic = "txn-cf-timeout"
    make_topic(broker, topic)
    p = producer(broker, "cf-timeout", **{"transaction.timeout.ms": 1500, "message.timeout.ms": 1500})
    p.begin_transaction()
    p.produce(topic, value=b"too-slow")
    assert p.flush(TIMEOUT_S) == 0
    wait_for_state(broker, "cf-timeout", "CompleteAbort")
    with pytest.raises(KafkaException):
        p.commit_transaction(TIMEOUT_S)
    assert read(broker, topic, "read_uncommitted", 1) == [(0, b"too-slow")]
    assert read(broker, topic, "read_committed", 0) == []


def test_offsets_sent_to_a_transaction_are_committed_only_by_its_commit(broker: BrokerProcess) -> None:
    source, sink, group = "txn-cf-source", "txn-cf-sink", "cf-ctp-group"
    make_topic(broker, source)
    make_topic(broker, sink)
    plain = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(5):
        plain.produce(source, value=b"in%d" % i)
    assert plain.flush(TIMEOUT_S) == 0
    consumer = Consumer(
        {"bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False,
         "auto.offset.reset": "earliest", "isolation.level": "read_committed"}
    )  # fmt: skip
    consumer.subscribe([source])
    seen: list[Any] = []
    deadline = time.monotonic() + TIMEOUT_S
    while len(seen) < 5 and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            seen.append(message)
    assert len(seen) == 5
    p = producer(broker, "cf-ctp")
    end = [TopicPartition(source, 0, 5)]

    def transform_and_send(commit: bool) -> None:
        p.begin_transaction()
        for message in seen:
            p.produce(sink, value=message.value().upper())
        p.send_offsets_to_transaction(end, consumer.consumer_group_metadata(), TIMEOUT_S)
        if commit:
            p.commit_transaction(TIMEOUT_S)
        else:
            p.abort_transaction(TIMEOUT_S)

    transform_and_send(commit=False)
    assert consumer.committed([TopicPartition(source, 0)], TIMEOUT_S)[0].offset < 0  # aborted: nothing
    transform_and_send(commit=True)
    assert consumer.committed([TopicPartition(source, 0)], TIMEOUT_S)[0].offset == 5
    consumer.close()


def test_state_survives_sigkill_and_an_open_transaction_is_aborted_after_restart(tmp_path: Path) -> None:
    topic = "txn-cf-restart"
    with BrokerProcess(tmp_path, OVERRIDES) as broker:
        make_topic(broker, topic)
        p = producer(broker, "cf-restart", **{"transaction.timeout.ms": 4000, "message.timeout.ms": 4000})
        p.begin_transaction()
        p.produce(topic, value=b"committed")
        p.commit_transaction(TIMEOUT_S)
        p.begin_transaction()
        p.produce(topic, value=b"open")
        assert p.flush(TIMEOUT_S) == 0
        before = describe(broker, "cf-restart")
        assert before.transaction_state == "Ongoing"
        broker.kill()
        broker.restart()
        after = describe(broker, "cf-restart")  # replayed from __transaction_state
        assert (after.producer_id, after.producer_epoch) == (before.producer_id, before.producer_epoch)
        assert after.transaction_state in ("Ongoing", "PrepareAbort", "CompleteAbort")
        wait_for_state(broker, "cf-restart", "CompleteAbort")  # its timeout passed: aborted
        successor = producer(broker, "cf-restart")
        assert describe(broker, "cf-restart").producer_epoch > before.producer_epoch
        successor.begin_transaction()
        successor.produce(topic, value=b"after")
        successor.commit_transaction(TIMEOUT_S)
        got = read(broker, topic, "read_uncommitted", 3)
        assert [v for _, v in got] == [b"committed", b"open", b"after"]
        assert [o for o, _ in got] == [0, 2, 4]  # markers at 1 and 3
        assert [v for _, v in read(broker, topic, "read_committed", 2)] == [b"committed", b"after"]


def test_consume_transform_produce_is_exactly_once_across_a_sigkill(tmp_path: Path) -> None:
    """An application reads ``in`` (read_committed), writes each record transformed to ``out`` and
    sends its offsets in the same transaction, 10 records at a time. The broker is killed with a
    transaction open; the application starts over (a new producer with the same transactional.id
    fences the old one and its open transaction is aborted) and goes on from the committed offsets.
    A read_committed reader of ``out`` then sees every input exactly once."""
    source, sink, group, txn_id = "eos-in", "eos-out", "eos-group", "eos-app"
    inputs = [b"%d" % i for i in range(50)]

    def app(broker: BrokerProcess) -> tuple[Consumer, Producer]:
        # The first consumer does not get to leave the group (it closes while reconnecting to the restarted
        # broker): the second one's join waits for its session to expire, so a short one (librdkafka: 45 s).
        consumer = Consumer(
            {"bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False,
             "auto.offset.reset": "earliest", "isolation.level": "read_committed",
             "session.timeout.ms": 8000, "heartbeat.interval.ms": 1000}
        )  # fmt: skip
        consumer.subscribe([source])
        return consumer, producer(broker, txn_id, **{"transaction.timeout.ms": 10000})

    def step(consumer: Consumer, p: Producer, commit: bool = True) -> int:
        batch: list[Any] = []
        deadline = time.monotonic() + TIMEOUT_S
        while len(batch) < 10 and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None and message.error() is None:
                batch.append(message)
        p.begin_transaction()
        for message in batch:
            p.produce(sink, value=b"out-" + message.value())
        positions = consumer.position(consumer.assignment())
        p.send_offsets_to_transaction(positions, consumer.consumer_group_metadata(), TIMEOUT_S)
        if commit:
            p.commit_transaction(TIMEOUT_S)
        else:
            assert p.flush(TIMEOUT_S) == 0  # written, never committed: the broker dies now
        return len(batch)

    with BrokerProcess(tmp_path, OVERRIDES) as broker:
        make_topic(broker, source)
        make_topic(broker, sink)
        plain = Producer({"bootstrap.servers": broker.bootstrap})
        for value in inputs:
            plain.produce(source, value=value)
        assert plain.flush(TIMEOUT_S) == 0
        consumer, p = app(broker)
        done = sum(step(consumer, p) for _ in range(2))
        assert done == 20
        step(consumer, p, commit=False)
        broker.kill()
        broker.restart()
        consumer.close()
        consumer, p = app(broker)  # starts over from the committed offsets
        while done < len(inputs):
            done += step(consumer, p)
        committed = consumer.committed([TopicPartition(source, 0)], TIMEOUT_S)[0].offset
        consumer.close()
        assert (done, committed) == (len(inputs), len(inputs))
        out = read(broker, sink, "read_committed", len(inputs))
        assert sorted(value for _, value in out) == sorted(b"out-" + v for v in inputs)
