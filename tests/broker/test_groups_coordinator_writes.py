"""The group coordinator's writes and loads on a real ReplicaManager and real logs (in tmp_path), on a
real event loop: answers wait for the append to be committed, failed appends undo their change and
answer Kafka's mapped error, and a partition's groups follow its leadership (COORDINATOR_LOAD_IN_PROGRESS
while it loads, NOT_COORDINATOR once resigned). Only a follower is imagined: a replica put in the ISR
that the test "catches up" by moving the high watermark, as its fetch would."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from broker.config import BrokerConfig
from broker.controller.embedded import EmbeddedController
from broker.coordinator.group.consumer.validation import Heartbeat, HeartbeatResult
from broker.coordinator.group.group import JoinResult, OffsetAndMetadata, SyncResult
from broker.coordinator.group.service import GroupService
from broker.coordinator.group.state import GroupState
from broker.coordinator.group.store import OFFSETS_TOPIC, append_error
from broker.handlers._partitions import PartitionError
from broker.metadata_cache import MetadataCache
from broker.partition import NotEnoughReplicas, Partition
from broker.replica_manager import ReplicaManager
from broker.topics import TopicStore
from protocol.errors import ErrorCode as E
from storage.errors import LogOffline, RecordTooLarge, StorageError
from storage.manager import LogManager

T = TypeVar("T")
TP = ("t", 0)
TIMEOUT_S = 10


@asynccontextmanager
async def coordinator(tmp_path: Path, **props: str) -> AsyncIterator[GroupService]:
    logs = str(tmp_path / "logs")
    settings = {"log.dirs": logs, "offsets.topic.num.partitions": "3", "group.initial.rebalance.delay.ms": "0"}
    config = BrokerConfig.from_properties({**settings, **props})
    log_manager = LogManager([logs])
    log_manager.startup()
    topics = TopicStore(logs)
    topics.load()
    cache = MetadataCache(0, "cluster")
    replicas = ReplicaManager(0, config, log_manager, cache)
    controller = EmbeddedController(0, config, topics, replicas, cache)
    controller.start()
    service = GroupService(config, cache, controller, replicas)
    await service.start()
    assert await service.offsets_topic.ensure_created()
    try:
        yield service
    finally:
        service.shutdown()
        log_manager.shutdown()


async def answer(start: Callable[[Callable[[T], None]], None]) -> T:
    """Start an operation that calls back and wait for its one answer."""
    done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
    start(done.set_result)  # a second answer would raise InvalidStateError
    return await asyncio.wait_for(done, TIMEOUT_S)


async def until(condition: Callable[[], bool]) -> None:
    deadline = asyncio.get_running_loop().time() + TIMEOUT_S
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.001)


def offset(value: int) -> dict[tuple[str, int], OffsetAndMetadata]:
    return {TP: OffsetAndMetadata(value, -1, "", 1)}


async def commit(service: GroupService, group: str, value: int, member: str = "", generation: int = -1) -> Any:
    gc = service.coordinator
    return await answer(lambda done: gc.commit_offsets(group, member, None, generation, offset(value), done))


def committed(service: GroupService, group: str) -> int | None:
    found = service.coordinator.fetch_offsets(group, [TP])[TP]
    return None if found is None else found.offset


def offsets_partition(service: GroupService, group: str) -> Partition:
    partition = service.replicas.get_partition(OFFSETS_TOPIC, service.offsets_topic.partition_for(group))
    assert partition is not None
    return partition


def lead(service: GroupService, partition: int, leader: int, epoch: int) -> None:
    """What LeaderAndIsr does to this broker's replica of ``__consumer_offsets`` partition ``partition``."""
    replica = service.replicas.get_partition(OFFSETS_TOPIC, partition)
    assert replica is not None
    replica.leader_id, replica.leader_epoch = leader, epoch
    if leader == 0:
        service.on_elected(partition, epoch)
    else:
        service.on_resigned(partition, epoch)


async def set_offsets_topic_configs(service: GroupService, **configs: object) -> None:
    current = service.metadata.topic_configs(OFFSETS_TOPIC)
    await service.offsets_topic.controller.alter_topic_configs(OFFSETS_TOPIC, {**current, **configs}, False)


async def stable_member(service: GroupService, group: str, assignment: bytes = b"a") -> tuple[str, int]:
    """A one-member classic group, Stable: (member id, generation)."""
    gc = service.coordinator
    joined: JoinResult = await answer(
        lambda done: gc.join_group(
            group, "", None, False, False, "c", "/h", 30000, 10000, "consumer", [("range", b"")], done
        )
    )
    assert joined.error is E.NONE
    synced: SyncResult = await answer(
        lambda done: gc.sync_group(
            group, joined.generation_id, joined.member_id, None, None, None, {joined.member_id: assignment}, done
        )
    )
    assert synced.error is E.NONE
    return joined.member_id, joined.generation_id


def test_a_commit_is_answered_only_once_its_append_is_committed(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with coordinator(tmp_path) as service:
            assert await commit(service, "g", 3) == {TP: E.NONE}
            partition = offsets_partition(service, "g")
            partition.replicas, partition.isr = [0, 1], [0, 1]  # a follower in sync, not caught up yet
            end = partition.log_end_offset
            done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            service.coordinator.commit_offsets("g", "", None, -1, offset(5), done.set_result)
            await until(lambda: partition.log_end_offset > end)  # appended, not committed
            assert not done.done()
            assert committed(service, "g") == 3, "a pending commit is not visible yet"
            partition.log.set_high_watermark(partition.log_end_offset)  # the follower caught up
            service.replicas.on_high_watermark_change(partition)
            assert await asyncio.wait_for(done, TIMEOUT_S) == {TP: E.NONE}
            assert committed(service, "g") == 5

    asyncio.run(scenario())


def test_a_commit_whose_append_times_out_is_not_applied(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with coordinator(tmp_path, **{"offsets.commit.timeout.ms": "50"}) as service:
            assert await commit(service, "g", 3) == {TP: E.NONE}
            partition = offsets_partition(service, "g")
            partition.replicas, partition.isr = [0, 1], [0, 1]  # the follower never catches up
            assert await commit(service, "g", 5) == {TP: E.COORDINATOR_NOT_AVAILABLE}
            assert committed(service, "g") == 3
            assert not service.coordinator.groups["g"].pending_offset_commits

    asyncio.run(scenario())


def test_failed_appends_undo_their_change_and_answer_the_mapped_error(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with coordinator(tmp_path) as service:
            gc = service.coordinator
            assert await commit(service, "simple", 3) == {TP: E.NONE}
            joined: JoinResult = await answer(
                lambda done: gc.join_group(
                    "g", "", None, False, False, "c", "/h", 30000, 10000, "consumer", [("range", b"")], done
                )
            )
            await set_offsets_topic_configs(service, **{"min.insync.replicas": 2})  # every append: too few replicas
            assert await commit(service, "simple", 4) == {TP: E.COORDINATOR_NOT_AVAILABLE}
            assert committed(service, "simple") == 3
            deleted: dict[str, E] = await answer(lambda done: gc.delete_groups(["simple"], done))
            assert deleted == {"simple": E.COORDINATOR_NOT_AVAILABLE}
            assert gc.describe_group("simple").state == "Empty" and committed(service, "simple") == 3
            member, generation = joined.member_id, joined.generation_id
            synced: SyncResult = await answer(
                lambda done: gc.sync_group("g", generation, member, None, None, None, {member: b"a"}, done)
            )
            assert synced.error is E.COORDINATOR_NOT_AVAILABLE
            assert gc.groups["g"].state is GroupState.PREPARING_REBALANCE, "not Stable: the group rebalances"
            hb = Heartbeat("cg", "m", 0, rebalance_timeout_ms=5000, subscribed_topic_names=["t"], owned={})
            beat: HeartbeatResult = await answer(lambda done: gc.consumer.heartbeat(hb, done))
            assert beat.error is E.COORDINATOR_NOT_AVAILABLE and "cg" not in gc.consumer.groups

            await set_offsets_topic_configs(service, **{"min.insync.replicas": 1, "max.message.bytes": 64})
            big = {TP: OffsetAndMetadata(9, -1, "m" * 100, 1)}
            too_big: dict[tuple[str, int], E] = await answer(
                lambda done: gc.commit_offsets("simple", "", None, -1, big, done)
            )
            assert too_big == {TP: E.INVALID_COMMIT_OFFSET_SIZE} and committed(service, "simple") == 3
            rejoined: JoinResult = await answer(
                lambda done: gc.join_group(
                    "g", member, None, False, False, "c", "/h", 30000, 10000, "consumer", [("range", b"")], done
                )
            )
            synced = await answer(
                lambda done: gc.sync_group(
                    "g", rejoined.generation_id, member, None, None, None, {member: b"x" * 100}, done
                )
            )
            assert synced.error is E.UNKNOWN_SERVER_ERROR  # MESSAGE_TOO_LARGE, as Kafka maps it for groups

    asyncio.run(scenario())


def test_a_resigned_partition_answers_not_coordinator_and_a_new_election_loads_it_back(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with coordinator(tmp_path) as service:
            gc = service.coordinator
            member, generation = await stable_member(service, "g")
            assert await commit(service, "g", 7, member, generation) == {TP: E.NONE}
            partition = service.offsets_topic.partition_for("g")
            other = next(f"o{i}" for i in range(100) if service.offsets_topic.partition_for(f"o{i}") != partition)
            assert await commit(service, other, 1) == {TP: E.NONE}
            cg = next(f"c{i}" for i in range(100) if service.offsets_topic.partition_for(f"c{i}") == partition)
            join = Heartbeat(cg, "m", 0, rebalance_timeout_ms=5000, subscribed_topic_names=["t"], owned={})
            joined_cg: HeartbeatResult = await answer(lambda done: gc.consumer.heartbeat(join, done))
            assert joined_cg.error is E.NONE and joined_cg.member_epoch == 1
            waiting: asyncio.Future[JoinResult] = asyncio.get_running_loop().create_future()
            gc.join_group(
                "g", "", None, False, False, "c", "/h", 30000, 10000, "consumer", [("range", b"")], waiting.set_result
            )  # a rebalance starts: this join waits for the first member to rejoin
            assert not waiting.done()

            service.on_resigned(partition, -1)  # stale: ignored
            assert gc.heartbeat("g", member, None, generation) is E.REBALANCE_IN_PROGRESS
            lead(service, partition, leader=1, epoch=1)  # another broker leads it now
            assert (await asyncio.wait_for(waiting, TIMEOUT_S)).error is E.NOT_COORDINATOR
            assert gc.heartbeat("g", member, None, generation) is E.NOT_COORDINATOR
            assert await commit(service, "g", 8, member, generation) == {TP: E.NOT_COORDINATOR}
            assert gc.check_offset_fetch("g", None, -1) is E.NOT_COORDINATOR
            assert gc.describe_group("g").error is E.NOT_COORDINATOR
            assert gc.leave_group("g", [(member, None)])[0] is E.NOT_COORDINATOR
            again = Heartbeat(cg, "m", 1, owned={})
            beat: HeartbeatResult = await answer(lambda done: gc.consumer.heartbeat(again, done))
            assert beat.error is E.NOT_COORDINATOR and cg not in gc.consumer.groups
            assert "g" not in {g.group_id for g in gc.list_groups()}
            assert committed(service, other) == 1 and gc.check_offset_fetch(other, None, -1) is E.NONE

            lead(service, partition, leader=0, epoch=2)
            await service.wait_for_loads()
            assert gc.check_offset_fetch("g", None, -1) is E.NONE and committed(service, "g") == 7
            assert gc.groups["g"].generation_id == generation and member in gc.groups["g"].members
            assert gc.consumer.groups[cg].group_epoch == 1, "the consumer group is back, its members rejoin"

    asyncio.run(scenario())


def test_groups_of_a_loading_partition_answer_load_in_progress(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with coordinator(tmp_path, **{"offsets.load.buffer.size": "1"}) as service:  # a batch per slice
            gc = service.coordinator
            member, generation = await stable_member(service, "g")
            for value in range(20):
                assert await commit(service, "g", value, member, generation) == {TP: E.NONE}
            partition = service.offsets_topic.partition_for("g")
            lead(service, partition, leader=1, epoch=1)
            lead(service, partition, leader=0, epoch=2)
            await asyncio.sleep(0)  # the load has read a slice or so: far from done
            assert await commit(service, "g", 99, member, generation) == {TP: E.COORDINATOR_LOAD_IN_PROGRESS}
            assert gc.check_offset_fetch("g", None, -1) is E.COORDINATOR_LOAD_IN_PROGRESS
            assert gc.describe_group("g").error is E.COORDINATOR_LOAD_IN_PROGRESS
            assert gc.list_groups_error() is E.COORDINATOR_LOAD_IN_PROGRESS
            assert gc.heartbeat("g", member, None, generation) is E.NONE  # answered blindly, as Kafka does
            synced: SyncResult = await answer(
                lambda done: gc.sync_group("g", generation, member, None, None, None, {}, done)
            )
            assert synced.error is E.REBALANCE_IN_PROGRESS
            hb = Heartbeat("g", "m", 0, rebalance_timeout_ms=5000, subscribed_topic_names=["t"], owned={})
            beat: HeartbeatResult = await answer(lambda done: gc.consumer.heartbeat(hb, done))
            assert beat.error is E.COORDINATOR_LOAD_IN_PROGRESS
            await service.wait_for_loads()
            assert committed(service, "g") == 19 and gc.list_groups_error() is E.NONE
            assert gc.groups["g"].state is GroupState.STABLE

            lead(service, partition, leader=1, epoch=3)
            lead(service, partition, leader=0, epoch=4)
            await asyncio.sleep(0)
            lead(service, partition, leader=1, epoch=5)  # overtakes the load: it is abandoned
            await service.wait_for_loads()
            assert gc.check_offset_fetch("g", None, -1) is E.NOT_COORDINATOR and "g" not in gc.groups

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (NotEnoughReplicas("1 in-sync replica"), E.COORDINATOR_NOT_AVAILABLE),
        (TimeoutError("acks=all timed out"), E.COORDINATOR_NOT_AVAILABLE),
        (LogOffline("__consumer_offsets-0", "disk gone"), E.NOT_COORDINATOR),
        (RecordTooLarge("too big"), E.MESSAGE_TOO_LARGE),
        (StorageError("EIO"), E.UNKNOWN_SERVER_ERROR),
        (PartitionError(E.NOT_LEADER_OR_FOLLOWER), E.NOT_COORDINATOR),
        (PartitionError(E.UNKNOWN_TOPIC_OR_PARTITION), E.COORDINATOR_NOT_AVAILABLE),
        (PartitionError(E.REQUEST_TIMED_OUT), E.COORDINATOR_NOT_AVAILABLE),
        (PartitionError(E.RECORD_LIST_TOO_LARGE), E.MESSAGE_TOO_LARGE),
        (PartitionError(E.KAFKA_STORAGE_ERROR), E.NOT_COORDINATOR),
    ],
)
def test_append_errors_map_to_what_kafkas_coordinator_answers(exc: BaseException, expected: E) -> None:
    assert append_error(exc) is expected
