"""Creating ``__consumer_offsets`` on first use: it does not stall other clients, the clients that ask
meanwhile are told COORDINATOR_NOT_AVAILABLE (retriable) and then find a working coordinator, and
commits and KIP-848 heartbeats that come first create the topic too. Raw sockets, so the retries are
the test's own; a coordinator's write that finds no topic is driven in-process."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from broker.config import BrokerConfig
from broker.controller.embedded import EmbeddedController
from broker.coordinator.group.group import OffsetAndMetadata
from broker.coordinator.group.service import GroupService
from broker.metadata_cache import MetadataCache
from broker.replica_manager import ReplicaManager
from broker.topics import TopicStore
from protocol.errors import ErrorCode as E
from protocol.messages.consumer_group_heartbeat import ConsumerGroupHeartbeatRequest
from protocol.messages.find_coordinator import FindCoordinatorRequest
from protocol.messages.metadata import MetadataRequest
from protocol.messages.offset_commit import OffsetCommitRequest, OffsetCommitRequestPartition, OffsetCommitRequestTopic
from storage.manager import LogManager
from tests.harness import BrokerProcess
from tests.raw_client import RawClient

METADATA, FIND, COMMIT, CONSUMER_HEARTBEAT = 3, 10, 8, 68
OFFSETS = "__consumer_offsets"
PARTITIONS = 100  # offsets.topic.num.partitions here: a creation long enough to watch
TIMEOUT_S = 30


def fresh_broker(tmp: Path) -> BrokerProcess:
    return BrokerProcess(
        tmp, {"offsets.topic.num.partitions": str(PARTITIONS), "group.initial.rebalance.delay.ms": "0"}
    )


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[BrokerProcess]:
    """A broker of its own per test: each test needs ``__consumer_offsets`` not to exist yet."""
    with fresh_broker(tmp_path) as process:
        yield process


def retry(ask: Callable[[], Any], error: Callable[[Any], int]) -> tuple[Any, list[int]]:
    """Ask until the answer is not COORDINATOR_NOT_AVAILABLE (as clients do); the answer and every error seen."""
    seen: list[int] = []
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        answer = ask()
        seen.append(error(answer))
        if seen[-1] != E.COORDINATOR_NOT_AVAILABLE or time.monotonic() > deadline:
            return answer, seen
        time.sleep(0.02)


def find(client: RawClient, group: str) -> tuple[Any, list[int]]:
    return retry(lambda: client.request(FIND, 3, FindCoordinatorRequest(key=group)), lambda a: int(a.error_code))


def simple_commit(client: RawClient, group: str, topic: str = "t") -> int:
    partition = OffsetCommitRequestPartition(partition_index=0, committed_offset=5)
    request = OffsetCommitRequest(
        group_id=group, generation_id_or_member_epoch=-1, member_id="",
        topics=[OffsetCommitRequestTopic(name=topic, partitions=[partition])],
    )  # fmt: skip
    return int(client.request(COMMIT, 8, request).topics[0].partitions[0].error_code)


def offsets_topic(client: RawClient) -> tuple[int, int] | None:
    """``__consumer_offsets`` as Metadata shows it: (error, partitions with a leader), None if absent."""
    answer = client.request(METADATA, 9, MetadataRequest(topics=None, allow_auto_topic_creation=False))
    for topic in answer.topics:
        if topic.name == OFFSETS:
            return int(topic.error_code), sum(1 for p in topic.partitions if p.leader_id >= 0)
    return None


def test_first_find_coordinator_creates_the_topic_while_metadata_keeps_answering(broker: BrokerProcess) -> None:
    watcher, finder = RawClient(broker), RawClient(broker)
    finder.create_topic("t")
    seen: list[tuple[int, int] | None] = []
    answers = 0
    done = threading.Event()

    def watch() -> None:
        nonlocal answers
        while not done.is_set():
            seen.append(offsets_topic(watcher))
            answers += 1

    thread = threading.Thread(target=watch)
    thread.start()
    try:
        while answers == 0:  # the watcher is going
            time.sleep(0.01)
        before = answers
        found, errors = find(finder, "first-group")
        answered_during_creation = answers - before
    finally:
        done.set()
        thread.join(TIMEOUT_S)
    assert (found.error_code, found.node_id, found.port) == (E.NONE, 0, broker.port)
    assert set(errors) <= {E.NONE, E.COORDINATOR_NOT_AVAILABLE}
    # A loop blocked by the creation answers the watcher once or twice around it; a free one, dozens
    # (on a loaded two-core machine as few as 15 were seen, so the bar sits well above a blocked loop's).
    assert answered_during_creation >= 8
    assert seen[0] is None, "the topic did not exist before the first FindCoordinator"
    shown = {s for s in seen if s is not None}
    assert shown <= {(E.LEADER_NOT_AVAILABLE, 0), (E.NONE, PARTITIONS)}, "never shown half made"
    assert offsets_topic(watcher) == (E.NONE, PARTITIONS)
    assert simple_commit(finder, "first-group") == E.NONE


def test_clients_asking_during_the_creation_retry_and_then_find_a_working_coordinator(tmp_path: Path) -> None:
    """Many clients ask at once: whoever is told NONE (at once or after COORDINATOR_NOT_AVAILABLE) can
    commit straight away; nobody gets any other error."""
    with fresh_broker(tmp_path) as broker:
        admin = RawClient(broker)
        admin.create_topic("t")
        clients = [RawClient(broker) for _ in range(6)]
        for i, client in enumerate(clients):  # all in flight together
            client.send(FIND, 3, FindCoordinatorRequest(key=f"g{i}"))
        first = [int(client.receive(FIND, 3).error_code) for client in clients]
        assert E.NONE in first, "the request that started the creation got the coordinator"
        assert set(first) <= {E.NONE, E.COORDINATOR_NOT_AVAILABLE}
        for i, client in enumerate(clients):
            found, errors = find(client, f"g{i}")
            assert found.error_code == E.NONE and set(errors) <= {E.NONE, E.COORDINATOR_NOT_AVAILABLE}
            assert simple_commit(client, f"g{i}") == E.NONE
        assert offsets_topic(admin) == (E.NONE, PARTITIONS)


def test_a_commit_before_any_find_coordinator_creates_the_topic(broker: BrokerProcess) -> None:
    client = RawClient(broker)
    client.create_topic("t")
    _, errors = retry(lambda: simple_commit(client, "committer"), lambda code: int(code))
    assert errors[-1] == E.NONE and set(errors) <= {E.NONE, E.COORDINATOR_NOT_AVAILABLE}
    assert offsets_topic(client) == (E.NONE, PARTITIONS)


def test_a_consumer_group_heartbeat_before_any_find_coordinator_creates_the_topic(broker: BrokerProcess) -> None:
    client = RawClient(broker)
    client.create_topic("t")
    request = ConsumerGroupHeartbeatRequest(
        group_id="cg", member_id="m1", member_epoch=0, rebalance_timeout_ms=5000,
        subscribed_topic_names=["t"], topic_partitions=[],
    )  # fmt: skip
    joined, errors = retry(lambda: client.request(CONSUMER_HEARTBEAT, 1, request), lambda a: int(a.error_code))
    assert set(errors) <= {E.NONE, E.COORDINATOR_NOT_AVAILABLE}
    assert (joined.error_code, joined.member_id, joined.member_epoch) == (E.NONE, "m1", 1)
    assert offsets_topic(client) == (E.NONE, PARTITIONS)


def test_a_coordinator_write_without_the_topic_is_retriable_and_starts_the_creation(tmp_path: Path) -> None:
    """A commit issued with no topic completes with COORDINATOR_NOT_AVAILABLE and the creation goes
    on in the background; the retry is stored."""

    async def scenario() -> None:
        logs = str(tmp_path / "logs")
        config = BrokerConfig.from_properties({"log.dirs": logs, "offsets.topic.num.partitions": "5"})
        log_manager = LogManager([logs])
        log_manager.startup()
        topics = TopicStore(logs)
        topics.load()
        replicas = ReplicaManager(0, config, log_manager)
        cache = MetadataCache(0, "cluster")
        controller = EmbeddedController(0, config, topics, replicas, cache)
        controller.start()
        service = GroupService(config, cache, controller, replicas)
        await service.start()
        offsets_topic = service.offsets_topic
        commit = {("t", 0): OffsetAndMetadata(offset=7, leader_epoch=-1, metadata="", commit_timestamp=1)}

        async def commit_offsets() -> dict[tuple[str, int], int]:
            done: asyncio.Future[dict[tuple[str, int], E]] = asyncio.get_running_loop().create_future()
            service.coordinator.commit_offsets("s", "", None, -1, commit, done.set_result)
            return dict(await done)

        try:
            assert await commit_offsets() == {("t", 0): E.COORDINATOR_NOT_AVAILABLE}
            assert not await offsets_topic.ensure_created(), "not ready while the creation is in flight"
            deadline = asyncio.get_running_loop().time() + TIMEOUT_S
            while not offsets_topic.exists() and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.01)
            assert await offsets_topic.ensure_created()
            assert cache.num_partitions(OFFSETS) == 5
            assert await commit_offsets() == {("t", 0): E.NONE}
            assert service.coordinator.fetch_offsets("s", [("t", 0)])[("t", 0)] == commit[("t", 0)]
            assert len(list(offsets_topic.replay())) == 1, "the retried commit is in the log, once"
        finally:
            service.shutdown()
            log_manager.shutdown()

    asyncio.run(scenario())
