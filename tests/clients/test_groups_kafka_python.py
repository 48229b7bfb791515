"""Consumer groups with kafka-python against a real broker: sharing, failover, resuming, restarts."""

from __future__ import annotations

import ast
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from tests.harness import BrokerProcess

OVERRIDES = {
    "group.initial.rebalance.delay.ms": "0",
    "group.min.session.timeout.ms": "1000",
    "offsets.topic.num.partitions": "5",
}
FAST = {"session_timeout_ms": 3000, "heartbeat_interval_ms": 300, "max_poll_interval_ms": 20000}


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    with BrokerProcess(tmp_path_factory.mktemp("groups"), OVERRIDES) as process:
        yield process


def make_topic(broker: BrokerProcess, name: str, partitions: int = 6) -> None:
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    admin.create_topics([NewTopic(name, partitions, 1)])
    admin.close()


def produce(broker: BrokerProcess, topic: str, count: int, partitions: int = 6, start: int = 0) -> None:
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    for i in range(start, start + count):
        producer.send(topic, str(i).encode(), partition=i % partitions)
    producer.flush()
    producer.close()


def consumer(broker: BrokerProcess, topic: str, group: str, **extra: object) -> KafkaConsumer:
    c = KafkaConsumer(
        bootstrap_servers=broker.bootstrap, group_id=group, auto_offset_reset="earliest",
        enable_auto_commit=False, **{**FAST, **extra},
    )  # fmt: skip
    # Know the topic before joining: a leader assigning without its metadata rejoins at once, and
    # kafka-python (3.0.12) then sometimes stops heartbeating: a client quirk, not what these tests test.
    assert topic in c.topics()
    c.subscribe([topic])
    return c


def poll_until(consumers: list[KafkaConsumer], done: object, timeout_s: float = 40.0) -> dict[int, list[bytes]]:
    """Poll every consumer (each in its own thread, as applications do) until ``done(seen)``."""
    assert callable(done)
    seen: dict[int, list[bytes]] = {i: [] for i in range(len(consumers))}
    lock = threading.Lock()
    stop = threading.Event()

    def run(i: int, c: KafkaConsumer) -> None:
        while not stop.is_set():
            for records in c.poll(timeout_ms=100).values():
                with lock:
                    seen[i].extend(r.value for r in records)

    threads = [threading.Thread(target=run, args=(i, c), daemon=True) for i, c in enumerate(consumers)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            with lock:
                if done(seen):
                    return {i: list(v) for i, v in seen.items()}
            assert time.monotonic() < deadline, f"gave up waiting; got {seen}"
            time.sleep(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join(10)


def wait_assigned(consumers: list[KafkaConsumer], partitions: int, timeout_s: float = 40.0) -> None:
    def settled(_: object) -> bool:
        owned = [tp for c in consumers for tp in c.assignment()]
        return len(owned) == partitions == len(set(owned)) and all(c.assignment() for c in consumers)

    poll_until(consumers, settled, timeout_s)


def test_three_consumers_share_six_partitions_exactly_once(broker: BrokerProcess) -> None:
    make_topic(broker, "share")
    members = [consumer(broker, "share", "sharing") for _ in range(3)]
    try:
        wait_assigned(members, 6)
        assert all(len(c.assignment()) == 2 for c in members)
        produce(broker, "share", 600)
        seen = poll_until(members, lambda s: sum(map(len, s.values())) >= 600)
        everything = [v for values in seen.values() for v in values]
        assert sorted(everything) == sorted(str(i).encode() for i in range(600))
        for i, c in enumerate(members):
            mine = {tp.partition for tp in c.assignment()}
            assert {int(v) % 6 for v in seen[i]} == mine
    finally:
        for c in members:
            c.close()


KILLED_CONSUMER = """
import sys
from kafka import KafkaConsumer
c = KafkaConsumer(sys.argv[2], bootstrap_servers=sys.argv[1], group_id=sys.argv[3], auto_offset_reset="earliest",
                  enable_auto_commit=False, session_timeout_ms=3000, heartbeat_interval_ms=300, max_poll_records=5)
while True:
    if c.poll(timeout_ms=200):
        c.commit()
        print("committed", {tp.partition: c.committed(tp) for tp in c.assignment()}, flush=True)
"""


def test_killed_member_partitions_move_and_committed_records_are_not_read_again(broker: BrokerProcess) -> None:
    make_topic(broker, "failover")
    produce(broker, "failover", 600)
    survivors = [consumer(broker, "failover", "failing", max_poll_records=5) for _ in range(2)]
    first_offsets: dict[int, int] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def run(c: KafkaConsumer) -> None:
        while not stop.is_set():
            for tp, records in c.poll(timeout_ms=100).items():
                with lock:
                    first_offsets.setdefault(tp.partition, records[0].offset)

    threads = [threading.Thread(target=run, args=(c,), daemon=True) for c in survivors]
    for t in threads:
        t.start()
    victim = subprocess.Popen(
        [sys.executable, "-c", KILLED_CONSUMER, broker.bootstrap, "failover", "failing"],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    try:
        assert victim.stdout is not None
        committed: dict[int, int] = {}
        while not committed or None in committed.values() or len(committed) > 3:
            line = victim.stdout.readline()  # the child commits after every poll; we read its report
            assert line, "the child consumer exited"
            committed = ast.literal_eval(line.split(" ", 1)[1])
        victim.kill()
        victim.wait(10)
        with lock:
            first_offsets.clear()  # from now on: where the survivors start on the partitions they take over
        deadline = time.monotonic() + 40
        while True:
            with lock:
                if set(committed) <= set(first_offsets):
                    break
            assert time.monotonic() < deadline, f"partitions {committed} never moved: {first_offsets}"
            time.sleep(0.1)
        for partition, offset in committed.items():
            assert first_offsets[partition] >= offset  # at least once, and nothing committed is read again
    finally:
        stop.set()
        for t in threads:
            t.join(10)
        if victim.poll() is None:
            victim.kill()
        for c in survivors:
            c.close()


def test_a_new_consumer_resumes_from_the_committed_offset(broker: BrokerProcess) -> None:
    make_topic(broker, "resume", 1)
    produce(broker, "resume", 20, partitions=1)
    first = consumer(broker, "resume", "resuming", max_poll_records=7)
    got = poll_until([first], lambda s: len(s[0]) >= 7)[0]
    first.commit({TopicPartition("resume", 0): __import__("kafka").OffsetAndMetadata(7, "seven", -1)})
    first.close()
    second = consumer(broker, "resume", "resuming")
    try:
        rest = poll_until([second], lambda s: len(s[0]) >= 13)[0]
        assert got[:7] == [str(i).encode() for i in range(7)]
        assert rest == [str(i).encode() for i in range(7, 20)]
        assert second.committed(TopicPartition("resume", 0)) == 7
    finally:
        second.close()


@pytest.mark.parametrize("clean", [True, False], ids=["sigterm", "sigkill"])
def test_offsets_survive_a_broker_restart(tmp_path: Path, clean: bool) -> None:
    with BrokerProcess(tmp_path, OVERRIDES) as broker:
        make_topic(broker, "durable", 2)
        produce(broker, "durable", 10, partitions=2)
        c = consumer(broker, "durable", "lasting")
        poll_until([c], lambda s: len(s[0]) >= 10)
        c.commit()
        c.close()
        broker.restart(clean=clean)
        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
        offsets = admin.list_group_offsets("lasting")["lasting"]
        admin.close()
        assert {tp.partition: om.offset for tp, om in offsets.items()} == {0: 5, 1: 5}
        produce(broker, "durable", 2, partitions=2, start=10)
        again = consumer(broker, "durable", "lasting")
        try:
            assert sorted(poll_until([again], lambda s: len(s[0]) >= 2)[0]) == [b"10", b"11"]
        finally:
            again.close()
