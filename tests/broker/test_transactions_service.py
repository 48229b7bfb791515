"""The transaction coordinator on a real in-process broker: its ids loaded from and written to
``__transaction_state`` through the replica manager, and the leadership seam (``on_elected`` /
``on_resigned`` per partition) that cluster mode calls."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

from broker.coordinator.transaction import records
from broker.coordinator.transaction.store import TRANSACTION_TOPIC
from protocol.errors import ErrorCode
from tests.broker.inprocess import create_topic, running_broker

OVERRIDES = {"transaction.state.log.num.partitions": "3"}


def test_resigning_drops_the_ids_and_a_new_election_replays_them(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_broker(tmp_path, **OVERRIDES) as broker:
            await create_topic(broker, "t")
            service = broker.transaction_coordinator
            assert await service.ensure_topic()
            coordinator = service.coordinator
            code, pid, epoch = await coordinator.init_producer_id("app", 60000)
            assert code is ErrorCode.NONE
            assert await coordinator.add_partitions("app", pid, epoch, {("t", 0)}) is ErrorCode.NONE
            index = service.log.partition_for("app")
            partition = broker.replica_manager.get_partition(TRANSACTION_TOPIC, index)
            assert partition is not None and partition.log.log_end_offset == 2  # two records written
            leader_epoch = partition.leader_epoch

            service.on_resigned(index, leader_epoch + 1)
            assert coordinator.describe("app").error is ErrorCode.NOT_COORDINATOR
            service.on_resigned(index, leader_epoch)  # stale: ignored
            service.on_elected(index, leader_epoch + 2)
            assert coordinator.describe("app").error is ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
            for _ in range(200):
                if coordinator.describe("app").error is not ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
                    break
                await asyncio.sleep(0.01)
            found = coordinator.describe("app")
            assert (found.error, found.state, found.producer_id, found.partitions) == (
                ErrorCode.NONE, "Ongoing", pid, (("t", 0),),
            )  # fmt: skip
            assert await coordinator.end_transaction("app", pid, epoch, commit=True) is ErrorCode.NONE

    asyncio.run(body())


def test_in_cluster_mode_the_topic_waits_for_enough_brokers_as_kafka_does(tmp_path: Path) -> None:
    """With ZooKeeper, Kafka does not create ``__transaction_state`` while fewer brokers are alive than
    its replication factor (the clients get COORDINATOR_NOT_AVAILABLE); a single broker caps the
    factor and min.insync.replicas at 1 instead, so the defaults (3 and 2) work there."""

    async def body() -> None:
        async with running_broker(tmp_path, **OVERRIDES) as broker:
            log = broker.transaction_coordinator.log
            log.cluster = True  # as a cluster-mode broker's TransactionLog, over this one live broker
            assert not await log.ensure_created() and not log.exists()
            log.cluster = False
            assert await log.ensure_created() and log.exists()
            configs = broker.metadata_cache.topic_configs(TRANSACTION_TOPIC)
            assert configs["min.insync.replicas"] == 1 and configs["cleanup.policy"] == ["compact"]
            topic = broker.metadata_cache.topic(TRANSACTION_TOPIC)
            assert topic is not None and all(len(p.replicas) == 1 for p in topic.partitions.values())

    asyncio.run(body())


def test_a_record_that_cannot_be_loaded_does_not_leave_the_partition_loading_for_good(tmp_path: Path) -> None:
    """A record with a state no version of Kafka writes is skipped; the load completes and serves the
    partition's other ids."""

    async def body() -> None:
        async with running_broker(tmp_path, **OVERRIDES) as broker:
            await create_topic(broker, "t")
            service = broker.transaction_coordinator
            assert await service.ensure_topic()
            coordinator = service.coordinator
            code, pid, _ = await coordinator.init_producer_id("app", 60000)
            assert code is ErrorCode.NONE
            index = service.log.partition_for("app")
            odd = next(f"odd-{n}" for n in range(1000) if service.log.partition_for(f"odd-{n}") == index)
            strange = records.TransactionLogValue(
                producer_id=pid + 1, producer_epoch=0, transaction_timeout_ms=60000, transaction_status=42,
                transaction_last_update_timestamp_ms=0, transaction_start_timestamp_ms=-1,
            )  # fmt: skip
            assert await service.log.append(odd, records.value(strange)) is ErrorCode.NONE
            partition = broker.replica_manager.get_partition(TRANSACTION_TOPIC, index)
            assert partition is not None
            service.on_elected(index, partition.leader_epoch + 1)
            for _ in range(200):
                if coordinator.describe("app").error is not ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
                    break
                await asyncio.sleep(0.01)
            found = coordinator.describe("app")
            assert (found.error, found.state, found.producer_id) == (ErrorCode.NONE, "Empty", pid)
            assert coordinator.describe(odd).error is ErrorCode.TRANSACTIONAL_ID_NOT_FOUND

    asyncio.run(body())


def test_a_load_that_fails_midway_serves_what_it_read_and_stops_loading(tmp_path: Path) -> None:
    """Kafka's load catches any error, logs it, installs the transactions read up to it and leaves the
    loading state; a load that stopped with the partition still loading would answer every id of it
    COORDINATOR_LOAD_IN_PROGRESS forever."""

    async def body() -> None:
        async with running_broker(tmp_path, **OVERRIDES) as broker:
            await create_topic(broker, "t")
            service = broker.transaction_coordinator
            assert await service.ensure_topic()
            coordinator = service.coordinator
            code, pid, _ = await coordinator.init_producer_id("app", 60000)
            assert code is ErrorCode.NONE
            index = service.log.partition_for("app")
            partition = broker.replica_manager.get_partition(TRANSACTION_TOPIC, index)
            assert partition is not None
            read_slices = service.log.read_slices

            def failing(index: int) -> Iterator[list[records.TxnRecord]]:
                yield from read_slices(index)
                raise RuntimeError("a bug while reading")

            service.log.read_slices = failing  # type: ignore[method-assign]
            service.on_elected(index, partition.leader_epoch + 1)
            for _ in range(200):
                if coordinator.describe("app").error is not ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
                    break
                await asyncio.sleep(0.01)
            found = coordinator.describe("app")
            assert (found.error, found.state, found.producer_id) == (ErrorCode.NONE, "Empty", pid)

    asyncio.run(body())
