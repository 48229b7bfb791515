"""The log cleaner runs in slices: while it compacts a large topic, other clients keep being answered,
and afterwards a consumer reads each key's latest value at its offset."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    ResourceType,
)

from storage.checkpoints import read_offset_checkpoint
from tests.broker.test_compaction import read_all
from tests.harness import BrokerProcess

TIMEOUT_S = 30
RECORDS = 300_000  # small records: the cleaner spends about a second and a half on them
KEYS = 1000
TOPIC = "live"
DONE_LINE = "log cleaner compacted"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[BrokerProcess]:
    with BrokerProcess(tmp_path, {"log.cleaner.backoff.ms": "50"}) as process:
        yield process


def key(i: int) -> bytes:
    return f"key-{i % KEYS}".encode()


def value(i: int) -> bytes:
    return f"{i:08d}".encode()


def produce(bootstrap: str) -> None:
    # Batches of 1,000 records: the cleaner filters a batch at a time, so a batch is its smallest step.
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 50, "batch.num.messages": 1000})
    for i in range(RECORDS):
        while True:
            try:
                producer.produce(TOPIC, key=key(i), value=value(i), partition=0)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    assert producer.flush(TIMEOUT_S) == 0


def fill_and_make_compacted(broker: BrokerProcess) -> None:
    """Write the topic as a plain one, then make it compacted: the cleaner takes the whole log in one
    pass, which starts within log.cleaner.backoff.ms."""
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    configs = {"cleanup.policy": "delete", "segment.bytes": str(256 * 1024)}
    admin.create_topics([NewTopic(TOPIC, 1, 1, config=configs)])[TOPIC].result(TIMEOUT_S)
    produce(broker.bootstrap)
    compact = ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource(ResourceType.TOPIC, TOPIC, incremental_configs=[compact])
    admin.incremental_alter_configs([resource])[resource].result(TIMEOUT_S)


def cleaning_files(broker: BrokerProcess) -> list[str]:
    return [n for n in os.listdir(broker.log_dir / f"{TOPIC}-0") if n.endswith((".cleaned", ".swap"))]


def wait_until_cleaning(broker: BrokerProcess) -> None:
    """Until a .cleaned segment exists: the cleaner is rewriting the log."""
    deadline = time.monotonic() + TIMEOUT_S
    while not cleaning_files(broker):
        assert time.monotonic() < deadline and DONE_LINE not in broker.output, "never saw the cleaner write"
        time.sleep(0.001)


def wait_until_cleaned(broker: BrokerProcess) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while DONE_LINE not in broker.output and time.monotonic() < deadline:
        time.sleep(0.001)
    assert DONE_LINE in broker.output, broker.output


def expected_after_cleaning(broker: BrokerProcess) -> list[tuple[int, bytes, bytes]]:
    """Each key's latest record below the cleaner's checkpoint, then every record from it on."""
    end = read_offset_checkpoint(str(broker.log_dir / "cleaner-offset-checkpoint"))[(TOPIC, 0)]
    assert RECORDS // 2 < end < RECORDS  # most of the log was cleaned, not the active segment
    latest_below_end = {key(i): i for i in range(end)}
    expected = [(i, key(i), value(i)) for i in sorted(latest_below_end.values())]
    return expected + [(i, key(i), value(i)) for i in range(end, RECORDS)]


def test_clients_are_answered_while_the_cleaner_compacts(broker: BrokerProcess) -> None:
    watcher = AdminClient({"bootstrap.servers": broker.bootstrap})
    watcher.list_topics(timeout=TIMEOUT_S)  # connected before the cleaning starts
    answers = 0
    done = threading.Event()

    def watch() -> None:
        nonlocal answers
        while not done.is_set():
            watcher.list_topics(timeout=TIMEOUT_S)
            answers += 1

    thread = threading.Thread(target=watch)
    thread.start()
    try:
        fill_and_make_compacted(broker)
        wait_until_cleaning(broker)
        answers_when_seen = answers
        wait_until_cleaned(broker)
        answers_when_done = answers
    finally:
        done.set()
        thread.join(TIMEOUT_S)
    # A loop blocked by the cleaner answers none of the requests sent while it rewrites the log (0 when
    # this was so); one that slices the work answers dozens.
    assert answers_when_done - answers_when_seen >= 20
    assert read_all(broker.bootstrap, TOPIC, RECORDS) == expected_after_cleaning(broker)


def test_a_broker_stopped_while_cleaning_leaves_no_cleaned_files(broker: BrokerProcess) -> None:
    fill_and_make_compacted(broker)
    wait_until_cleaning(broker)
    assert broker.stop() == 0
    assert DONE_LINE not in broker.output and "shut down cleanly" in broker.output
    assert cleaning_files(broker) == []
    broker.start()  # the next broker cleans the log from the start
    wait_until_cleaned(broker)
    assert read_all(broker.bootstrap, TOPIC, RECORDS) == expected_after_cleaning(broker)
