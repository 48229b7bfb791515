"""read_committed on the broker: Fetch stops at the last stable offset and lists aborted transactions,
its long poll wakes when a marker moves the LSO, ListOffsets answers the LSO, and clients may not
write control batches. Transactional data comes in by Produce; markers are appended as the
transaction coordinator appends them (origin COORDINATOR)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from broker.partition import Partition
from broker.server import Broker
from protocol.errors import ErrorCode
from protocol.messages.fetch import FetchRequest
from protocol.messages.list_offsets import (
    ListOffsetsPartition,
    ListOffsetsRequest,
    ListOffsetsTopic,
)
from protocol.records import Record, build_batch, build_control_batch, iter_batches, iter_records
from storage.producer.state import AppendOrigin
from tests.broker.inprocess import (
    AsyncClient,
    create_topic,
    fetch_answer,
    fetch_request,
    produce_answer,
    produce_request,
    records,
    running_broker,
)

FETCH, PRODUCE, LIST_OFFSETS = 1, 0, 2


def txn_batch(pid: int, seq: int, *values: bytes, epoch: int = 0) -> bytes:
    now = int(time.time() * 1000)
    return build_batch(
        [Record(i, now, b"k", v, []) for i, v in enumerate(values)],
        producer_id=pid, producer_epoch=epoch, base_sequence=seq, is_transactional=True,
    )  # fmt: skip


def write_marker(broker: Broker, partition: Partition, pid: int, commit: bool, epoch: int = 0) -> int:
    """Append a marker as the transaction coordinator does, and wake whoever waits on the partition."""
    marker = build_control_batch(commit, pid, epoch, coordinator_epoch=0, timestamp=int(time.time() * 1000))
    info = partition.log.append_as_leader(marker, partition.leader_epoch, origin=AppendOrigin.COORDINATOR)
    partition.maybe_advance_high_watermark()
    broker.replica_manager.on_append(partition)
    return info.first_offset


def committed_fetch(topic: str, offset: int, max_wait_ms: int = 0) -> FetchRequest:
    request = fetch_request(topic, offset, max_wait_ms=max_wait_ms)
    request.isolation_level = 1
    return request


def values(answer: object) -> list[bytes]:
    data = bytes(answer.records or b"")  # type: ignore[attr-defined]
    return [r.value or b"" for h, view in iter_batches(data) if not h.is_control for r in iter_records(view)]


def test_read_committed_stops_at_the_lso_and_lists_aborted_transactions(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_broker(tmp_path) as broker:
            (partition,) = await create_topic(broker, "t")
            client = await AsyncClient.connect(broker)
            assert (
                produce_answer(await client.request(PRODUCE, 9, produce_request("t", records(b"plain")))).error_code
                == 0
            )
            await client.request(PRODUCE, 9, produce_request("t", txn_batch(7, 0, b"aborted-1", b"aborted-2")))
            await client.request(PRODUCE, 9, produce_request("t", txn_batch(8, 0, b"committed")))
            answer = fetch_answer(await client.request(FETCH, 12, committed_fetch("t", 0)))
            assert (answer.high_watermark, answer.last_stable_offset) == (4, 1)  # 7's transaction is open
            assert values(answer) == [b"plain"] and answer.aborted_transactions == []
            uncommitted = fetch_answer(await client.request(FETCH, 12, fetch_request("t", 0)))
            assert len(values(uncommitted)) == 4 and uncommitted.aborted_transactions is None
            abort_at = write_marker(broker, partition, 7, commit=False)
            write_marker(broker, partition, 8, commit=True)
            answer = fetch_answer(await client.request(FETCH, 12, committed_fetch("t", 0)))
            assert answer.last_stable_offset == answer.high_watermark == abort_at + 2
            assert [(t.producer_id, t.first_offset) for t in answer.aborted_transactions] == [(7, 1)]
            # What a client keeps: batches of aborted producers from their first offset are dropped.
            assert b"committed" in values(answer)
            after = fetch_answer(await client.request(FETCH, 12, committed_fetch("t", abort_at + 1)))
            assert after.aborted_transactions == []
            await client.close()

    asyncio.run(body())


def test_a_read_committed_long_poll_wakes_when_a_marker_moves_the_lso(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_broker(tmp_path) as broker:
            (partition,) = await create_topic(broker, "t")
            client = await AsyncClient.connect(broker)
            await client.request(PRODUCE, 9, produce_request("t", txn_batch(7, 0, b"pending")))
            assert partition.last_stable_offset == 0 and partition.high_watermark == 1
            # Waits far longer than the client's receive timeout: only the marker can answer it in time.
            sent = await client.send(FETCH, 12, committed_fetch("t", 0, max_wait_ms=120_000))
            await asyncio.sleep(0.2)
            write_marker(broker, partition, 7, commit=True)
            correlation_id, response = await client.receive(FETCH, 12)
            assert correlation_id == sent
            answer = fetch_answer(response)
            assert values(answer) == [b"pending"] and answer.last_stable_offset == 2
            await client.close()

    asyncio.run(body())


def test_list_offsets_read_committed_answers_the_lso(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_broker(tmp_path) as broker:
            (partition,) = await create_topic(broker, "t")
            client = await AsyncClient.connect(broker)
            await client.request(PRODUCE, 9, produce_request("t", records(b"a", b"b")))
            await client.request(PRODUCE, 9, produce_request("t", txn_batch(7, 0, b"open")))

            async def latest(isolation: int) -> int:
                wanted = ListOffsetsPartition(partition_index=0, timestamp=-1)
                topics = [ListOffsetsTopic(name="t", partitions=[wanted])]
                request = ListOffsetsRequest(replica_id=-1, isolation_level=isolation, topics=topics)
                response = await client.request(LIST_OFFSETS, 7, request)
                part = response.topics[0].partitions[0]
                assert part.error_code == ErrorCode.NONE
                return int(part.offset)

            assert (await latest(0), await latest(1)) == (3, 2)
            write_marker(broker, partition, 7, commit=False)
            assert (await latest(0), await latest(1)) == (4, 4)
            await client.close()

    asyncio.run(body())


def test_clients_cannot_produce_control_batches(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_broker(tmp_path) as broker:
            (partition,) = await create_topic(broker, "t")
            client = await AsyncClient.connect(broker)
            await client.request(PRODUCE, 9, produce_request("t", txn_batch(7, 0, b"x")))
            marker = build_control_batch(False, 7, 0, coordinator_epoch=0)
            answer = produce_answer(await client.request(PRODUCE, 9, produce_request("t", marker)))
            assert answer.error_code == ErrorCode.INVALID_RECORD
            assert partition.log_end_offset == 1 and partition.last_stable_offset == 0
            await client.close()

    asyncio.run(body())
