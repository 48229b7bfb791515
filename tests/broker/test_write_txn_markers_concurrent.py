"""WriteTxnMarkers writes the markers of one request at once, in process: a marker whose partition
waits for a follower's acks must not hold up the marker of another partition in the same request
(Kafka appends them all at once). Held up in turn, a request of many transactions' markers could
outlast the coordinator's request timeout, be sent again, and never complete."""

from __future__ import annotations

import asyncio
from pathlib import Path

from protocol.messages.write_txn_markers import (
    WRITE_TXN_MARKERS,
    WritableTxnMarker,
    WritableTxnMarkerTopic,
    WriteTxnMarkersRequest,
    WriteTxnMarkersResponse,
)
from tests.broker.inprocess import AsyncClient, create_topic, running_broker


def _marker(producer_id: int, topic: str) -> WritableTxnMarker:
    return WritableTxnMarker(
        producer_id=producer_id, producer_epoch=0, transaction_result=True, coordinator_epoch=0,
        topics=[WritableTxnMarkerTopic(name=topic, partition_indexes=[0])],
    )  # fmt: skip


def test_a_marker_waiting_for_acks_does_not_hold_up_the_next_one(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_broker(tmp_path) as broker:
            (slow,) = await create_topic(broker, "slow", configs={"min.insync.replicas": 2})
            slow.make_leader(1, isr=[0, 1], replicas=[0, 1])  # a follower in the ISR that never fetches
            (fast,) = await create_topic(broker, "fast")
            client = await AsyncClient.connect(broker)
            try:
                request = WriteTxnMarkersRequest(markers=[_marker(1000, "slow"), _marker(1001, "fast")])
                await client.send(WRITE_TXN_MARKERS.key, 1, request)
                deadline = asyncio.get_running_loop().time() + 10
                while fast.high_watermark < 1 and asyncio.get_running_loop().time() < deadline:
                    await asyncio.sleep(0.02)
                assert fast.high_watermark == 1, "the second marker waited for the first one's acks"
                assert slow.log_end_offset == 1 and slow.high_watermark == 0  # still waiting, as it should
            finally:
                await client.close()

    asyncio.run(body())


def test_the_answers_keep_the_order_of_the_markers(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_broker(tmp_path) as broker:
            await create_topic(broker, "a")
            await create_topic(broker, "b")
            client = await AsyncClient.connect(broker)
            try:
                request = WriteTxnMarkersRequest(markers=[_marker(7, "a"), _marker(8, "b"), _marker(9, "nope")])
                response: WriteTxnMarkersResponse = await client.request(WRITE_TXN_MARKERS.key, 1, request)
            finally:
                await client.close()
            answers = [
                (m.producer_id, m.topics[0].name, m.topics[0].partitions[0].error_code) for m in response.markers
            ]
            assert answers == [(7, "a", 0), (8, "b", 0), (9, "nope", 3)]  # 3: UNKNOWN_TOPIC_OR_PARTITION

    asyncio.run(body())
