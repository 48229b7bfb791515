"""DescribeProducers (61): the producer state of partitions, as ``kafka-transactions.sh`` reads it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from protocol.errors import ErrorCode
from protocol.messages.describe_producers import DescribeProducersRequest, TopicRequest
from protocol.records import Record, build_batch, build_control_batch
from storage.producer.state import AppendOrigin
from tests.broker.inprocess import AsyncClient, create_topic, produce_answer, produce_request, running_broker

DESCRIBE_PRODUCERS = 61


def batch(pid: int, epoch: int, seq: int, count: int, *, txn: bool, ts: int) -> bytes:
    records = [Record(i, ts, b"k", b"v", []) for i in range(count)]
    return build_batch(
        records, producer_id=pid, producer_epoch=epoch, base_sequence=seq, is_transactional=txn
    )  # fmt: skip


def test_describe_producers_reports_epochs_sequences_and_open_transactions(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_broker(tmp_path) as broker:
            (partition,) = await create_topic(broker, "t")
            client = await AsyncClient.connect(broker)
            ts = int(time.time() * 1000)
            for data in (
                batch(11, 2, 0, 3, txn=False, ts=ts),  # idempotent: offsets 0-2
                batch(12, 5, 0, 1, txn=True, ts=ts + 1),  # transactional: opens at 3
                batch(13, 0, 0, 1, txn=True, ts=ts + 2),  # transactional: 4, then committed
            ):
                assert produce_answer(await client.request(0, 9, produce_request("t", data))).error_code == 0
            marker = build_control_batch(True, 13, 0, coordinator_epoch=4, timestamp=ts + 3)
            partition.log.append_as_leader(marker, partition.leader_epoch, origin=AppendOrigin.COORDINATOR)
            request = DescribeProducersRequest(
                topics=[
                    TopicRequest(name="t", partition_indexes=[0, 7]),
                    TopicRequest(name="nope", partition_indexes=[0]),
                ]
            )
            response = await client.request(DESCRIBE_PRODUCERS, 0, request)
            ours, missing = response.topics[0].partitions
            assert ours.error_code == ErrorCode.NONE
            got = [
                (p.producer_id, p.producer_epoch, p.last_sequence, p.last_timestamp, p.coordinator_epoch,
                 p.current_txn_start_offset)
                for p in ours.active_producers
            ]  # fmt: skip
            assert got == [(11, 2, 2, ts, -1, -1), (12, 5, 0, ts + 1, -1, 3), (13, 0, 0, ts + 3, 4, -1)]
            assert missing.error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            assert response.topics[1].partitions[0].error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            await client.close()

    asyncio.run(body())
