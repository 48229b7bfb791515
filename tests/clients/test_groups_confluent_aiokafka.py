"""Consumer groups with confluent-kafka (cooperative-sticky, static membership, admin) and aiokafka."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from aiokafka import AIOKafkaConsumer
from confluent_kafka import Consumer, ConsumerGroupState, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from tests.clients.test_groups_kafka_python import OVERRIDES, produce
from tests.harness import BrokerProcess


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    with BrokerProcess(tmp_path_factory.mktemp("cgroups"), OVERRIDES) as process:
        yield process


def create(broker: BrokerProcess, name: str, partitions: int = 6) -> None:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    for future in admin.create_topics([NewTopic(name, partitions, 1)]).values():
        future.result(15)


def confluent(broker: BrokerProcess, group: str, **extra: str) -> Consumer:
    return Consumer({
        "bootstrap.servers": broker.bootstrap, "group.id": group, "auto.offset.reset": "earliest",
        "session.timeout.ms": 3000, "heartbeat.interval.ms": 300, "enable.auto.commit": False, **extra,
    })  # fmt: skip


def poll_all(consumers: list[Consumer], want: int, timeout_s: float = 40.0) -> list[list[bytes]]:
    got: list[list[bytes]] = [[] for _ in consumers]
    deadline = time.monotonic() + timeout_s
    while sum(map(len, got)) < want:
        assert time.monotonic() < deadline, f"got {sum(map(len, got))} of {want}"
        for i, c in enumerate(consumers):
            message = c.poll(0.05)
            if message is not None and message.error() is None:
                got[i].append(message.value() or b"")
    return got


def test_cooperative_sticky_consumers_share_and_hand_over(broker: BrokerProcess) -> None:
    create(broker, "coop")
    settings = {"partition.assignment.strategy": "cooperative-sticky"}
    first = confluent(broker, "coop-group", **settings)
    first.subscribe(["coop"])
    produce(broker, "coop", 60)
    assert len(poll_all([first], 60)[0]) == 60
    first.commit(asynchronous=False)
    second = confluent(broker, "coop-group", **settings)
    second.subscribe(["coop"])
    deadline = time.monotonic() + 40
    while not (first.assignment() and second.assignment() and len(first.assignment()) + len(second.assignment()) == 6):
        assert time.monotonic() < deadline, (first.assignment(), second.assignment())
        first.poll(0.05)
        second.poll(0.05)
    produce(broker, "coop", 60, start=60)
    got = poll_all([first, second], 60)
    assert sorted(v for values in got for v in values) == sorted(str(i).encode() for i in range(60, 120))
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    described = admin.describe_consumer_groups(["coop-group"])["coop-group"].result(15)
    assert described.state == ConsumerGroupState.STABLE and described.partition_assignor == "cooperative-sticky"
    assert len(described.members) == 2
    first.close()
    second.close()


def test_static_member_restart_keeps_its_assignment_without_a_rebalance(broker: BrokerProcess) -> None:
    create(broker, "static")
    members = [confluent(broker, "static-group", **{"group.instance.id": f"instance-{i}"}) for i in range(2)]
    for c in members:
        c.subscribe(["static"])
    deadline = time.monotonic() + 40
    while sum(len(c.assignment()) for c in members) != 6 or not all(c.assignment() for c in members):
        assert time.monotonic() < deadline
        for c in members:
            c.poll(0.05)
    before = sorted((tp.topic, tp.partition) for tp in members[1].assignment())
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    ids_before = {m.group_instance_id: m.member_id for m in
                  admin.describe_consumer_groups(["static-group"])["static-group"].result(15).members}  # fmt: skip
    members[1].close()  # a static member leaves no LeaveGroup: the group waits for it
    again = confluent(broker, "static-group", **{"group.instance.id": "instance-1"})
    again.subscribe(["static"])
    deadline = time.monotonic() + 20
    while not again.assignment():
        assert time.monotonic() < deadline
        again.poll(0.05)
        members[0].poll(0.05)
    assert sorted((tp.topic, tp.partition) for tp in again.assignment()) == before
    group = admin.describe_consumer_groups(["static-group"])["static-group"].result(15)
    ids_after = {m.group_instance_id: m.member_id for m in group.members}
    assert ids_after["instance-0"] == ids_before["instance-0"] and ids_after["instance-1"] != ids_before["instance-1"]
    members[0].close()
    again.close()


def test_admin_list_describe_lag_and_delete(broker: BrokerProcess) -> None:
    create(broker, "lagging", 2)
    produce(broker, "lagging", 10, partitions=2)
    c = confluent(broker, "lag-group")
    c.subscribe(["lagging"])
    poll_all([c], 10)
    c.commit(offsets=[TopicPartition("lagging", 0, 3), TopicPartition("lagging", 1, 5)], asynchronous=False)
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    listed = admin.list_consumer_groups(states={ConsumerGroupState.STABLE}).result(15)
    assert "lag-group" in {g.group_id for g in listed.valid}
    deleted = admin.delete_consumer_groups(["lag-group"])["lag-group"]
    with pytest.raises(Exception, match=r"NON_EMPTY_GROUP|not empty"):
        deleted.result(15)
    committed = c.committed([TopicPartition("lagging", 0), TopicPartition("lagging", 1)], timeout=10)
    lags = {}
    for tp in committed:
        _, high = c.get_watermark_offsets(tp, timeout=10)
        lags[tp.partition] = high - tp.offset
    assert lags == {0: 2, 1: 0}  # what kafka-consumer-groups.sh --describe shows as LAG
    c.close()
    empty = admin.list_consumer_groups(states={ConsumerGroupState.EMPTY}).result(15)
    assert "lag-group" in {g.group_id for g in empty.valid}
    admin.delete_consumer_groups(["lag-group"])["lag-group"].result(15)
    after = admin.list_consumer_groups().result(15)
    assert "lag-group" not in {g.group_id for g in after.valid}
    with pytest.raises(Exception, match=r"GROUP_ID_NOT_FOUND|does not exist"):
        admin.delete_consumer_groups(["lag-group"])["lag-group"].result(15)


def test_aiokafka_consumer_group_commits_and_resumes(broker: BrokerProcess) -> None:
    create(broker, "aio", 3)
    produce(broker, "aio", 30, partitions=3)

    async def consume(count: int) -> list[bytes]:
        consumer = AIOKafkaConsumer(
            "aio", bootstrap_servers=broker.bootstrap, group_id="aio-group", auto_offset_reset="earliest",
            enable_auto_commit=False, session_timeout_ms=3000, heartbeat_interval_ms=300,
        )  # fmt: skip
        await consumer.start()
        try:
            got: list[bytes] = []
            async with asyncio.timeout(40):
                while len(got) < count:
                    batches = await consumer.getmany(timeout_ms=200, max_records=count - len(got))
                    got.extend(r.value for records in batches.values() for r in records if r.value is not None)
            await consumer.commit()
            return got
        finally:
            await consumer.stop()

    first = asyncio.run(consume(12))
    produce(broker, "aio", 3, partitions=3, start=30)
    rest = asyncio.run(consume(21))
    assert sorted(first + rest) == sorted(str(i).encode() for i in range(33))
