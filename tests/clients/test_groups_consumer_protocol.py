"""KIP-848 consumer groups with confluent-kafka (librdkafka 2.16, ``group.protocol=consumer``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, ConsumerGroupState, ConsumerGroupType, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from tests.harness import BrokerProcess

OVERRIDES = {
    "group.consumer.heartbeat.interval.ms": "300",
    "group.consumer.session.timeout.ms": "6000",
    "offsets.topic.num.partitions": "5",
}


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    with BrokerProcess(tmp_path_factory.mktemp("kip848"), OVERRIDES) as process:
        yield process


def create(broker: BrokerProcess, name: str, partitions: int = 6) -> None:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    for future in admin.create_topics([NewTopic(name, partitions, 1)]).values():
        future.result(15)


def produce(broker: BrokerProcess, topic: str, count: int, start: int = 0, partitions: int = 6) -> None:
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(start, start + count):
        producer.produce(topic, str(i).encode(), partition=i % partitions)
    assert producer.flush(15) == 0


def member(broker: BrokerProcess, group: str, topic: str, **extra: str) -> Consumer:
    c = Consumer({
        "bootstrap.servers": broker.bootstrap, "group.id": group, "group.protocol": "consumer",
        "auto.offset.reset": "earliest", "enable.auto.commit": False, **extra,
    })  # fmt: skip
    c.subscribe([topic])
    return c


def poll_until(consumers: list[Consumer], done: object, timeout_s: float = 40.0) -> list[list[bytes]]:
    """Poll every consumer in turn until ``done(got)``; fails on any consumer error."""
    got: list[list[bytes]] = [[] for _ in consumers]
    deadline = time.monotonic() + timeout_s
    while not done(got):  # type: ignore[operator]
        assert time.monotonic() < deadline, [len(g) for g in got]
        for i, c in enumerate(consumers):
            message = c.poll(0.05)
            if message is None:
                continue
            assert message.error() is None, message.error()
            got[i].append(message.value() or b"")
    return got


def values(start: int, stop: int) -> list[bytes]:
    return sorted(str(i).encode() for i in range(start, stop))


def test_three_members_share_six_partitions_and_take_over_when_one_leaves(broker: BrokerProcess) -> None:
    create(broker, "shared")
    consumers = [member(broker, "shared-group", "shared") for _ in range(3)]
    # Once reconciled, every member holds two partitions and no partition is held twice.
    poll_until(consumers, lambda g: sorted(len(c.assignment()) for c in consumers) == [2, 2, 2])
    owned = [tp.partition for c in consumers for tp in c.assignment()]
    assert sorted(owned) == list(range(6))
    produce(broker, "shared", 60)
    got = poll_until(consumers, lambda g: sum(map(len, g)) >= 60)
    assert sorted(v for vs in got for v in vs) == values(0, 60)  # each record exactly once
    for c in consumers:
        c.commit(asynchronous=False)

    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    described = admin.describe_consumer_groups(["shared-group"])["shared-group"].result(15)
    assert described.type == ConsumerGroupType.CONSUMER
    assert described.state == ConsumerGroupState.STABLE
    assert described.partition_assignor == "uniform"
    assert len(described.members) == 3
    assert sorted(tp.partition for m in described.members for tp in m.assignment.topic_partitions) == list(range(6))
    listed = admin.list_consumer_groups().result(15)
    types = {g.group_id: g.type for g in listed.valid}
    assert types["shared-group"] == ConsumerGroupType.CONSUMER

    leaving = consumers.pop()
    leaving.close()  # leaves with epoch -1: its partitions move to the others
    poll_until(consumers, lambda g: sorted(len(c.assignment()) for c in consumers) == [3, 3])
    produce(broker, "shared", 60, start=60)
    got = poll_until(consumers, lambda g: sum(map(len, g)) >= 60)
    assert sorted(v for vs in got for v in vs) == values(60, 120)
    for c in consumers:
        c.close()


def test_committed_offsets_are_resumed_by_a_new_member(broker: BrokerProcess) -> None:
    create(broker, "resume", partitions=2)
    produce(broker, "resume", 20, partitions=2)
    first = member(broker, "resume-group", "resume")
    poll_until([first], lambda g: len(g[0]) >= 20)
    first.commit(
        offsets=[TopicPartition("resume", 0, 6), TopicPartition("resume", 1, 4)], asynchronous=False
    )  # 10 records per partition: 4 + 6 left
    first.close()
    second = member(broker, "resume-group", "resume")
    got = poll_until([second], lambda g: len(g[0]) >= 10)
    expected = [str(i).encode() for i in range(20) if (i % 2 == 0 and i // 2 >= 6) or (i % 2 == 1 and i // 2 >= 4)]
    assert sorted(got[0]) == sorted(expected)
    committed = second.committed([TopicPartition("resume", 0), TopicPartition("resume", 1)], timeout=15)
    assert [tp.offset for tp in committed] == [6, 4]
    second.close()


def test_range_assignor_chosen_by_the_client(broker: BrokerProcess) -> None:
    create(broker, "ranged", partitions=4)
    consumers = [member(broker, "ranged-group", "ranged", **{"group.remote.assignor": "range"}) for _ in range(2)]
    poll_until(consumers, lambda g: sorted(len(c.assignment()) for c in consumers) == [2, 2])
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    described = admin.describe_consumer_groups(["ranged-group"])["ranged-group"].result(15)
    assert described.partition_assignor == "range"
    # Range: each member gets a contiguous block of the topic's partitions.
    blocks = sorted(sorted(tp.partition for tp in c.assignment()) for c in consumers)
    assert blocks == [[0, 1], [2, 3]]
    for c in consumers:
        c.close()


def test_classic_consumer_cannot_join_a_consumer_group_with_members(broker: BrokerProcess) -> None:
    create(broker, "mixed", partitions=1)
    modern = member(broker, "mixed-group", "mixed")
    poll_until([modern], lambda g: len(modern.assignment()) == 1)
    classic = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "mixed-group", "session.timeout.ms": 6000})
    classic.subscribe(["mixed"])
    deadline = time.monotonic() + 20
    error = None
    while error is None:
        assert time.monotonic() < deadline
        message = classic.poll(0.1)
        modern.poll(0.01)
        if message is not None and message.error() is not None:
            error = message.error()
    assert error.code() == KafkaError.INCONSISTENT_GROUP_PROTOCOL, error
    classic.close()
    modern.close()


def test_group_and_offsets_survive_a_restart_and_members_rejoin(tmp_path: Path) -> None:
    with BrokerProcess(tmp_path, OVERRIDES) as broker:
        create(broker, "durable", partitions=2)
        produce(broker, "durable", 10, partitions=2)
        c = member(broker, "durable-group", "durable")
        poll_until([c], lambda g: len(g[0]) >= 10)
        c.commit(asynchronous=False)
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        before = admin.describe_consumer_groups(["durable-group"])["durable-group"].result(15)
        broker.restart(clean=False)  # SIGKILL: the member's session is gone with the process
        produce(broker, "durable", 10, start=10, partitions=2)
        got = poll_until([c], lambda g: len(g[0]) >= 10)  # it rejoins and resumes from its commits
        assert sorted(got[0]) == values(10, 20)
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        after = admin.describe_consumer_groups(["durable-group"])["durable-group"].result(15)
        assert after.type == ConsumerGroupType.CONSUMER
        assert len(after.members) == 1 and after.members[0].member_id == before.members[0].member_id
        c.close()
