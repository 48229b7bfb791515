"""Connection, in process, with real sockets: responses leave in request order even when a later
request finishes first, acks=0 produces take their turn silently, a bad frame closes only its own
socket, and a client that goes away while its fetch waits leaves nothing waiting for long."""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path

from protocol.errors import ErrorCode
from protocol.messages.api_versions import ApiVersionsRequest
from protocol.records import Compression, Record, build_batch, read_legacy_message
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

PRODUCE, FETCH, API_VERSIONS = 0, 1, 18


def test_a_later_request_that_finishes_first_waits_for_the_earlier_answer(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_broker(tmp_path) as broker:
            await create_topic(broker, "t")
            consumer = await AsyncClient.connect(broker)
            fetch_id = await consumer.send(FETCH, 11, fetch_request("t", 0, max_wait_ms=30000))
            versions_id = await consumer.send(API_VERSIONS, 2, ApiVersionsRequest())
            await asyncio.sleep(0.1)  # ApiVersions is answered by its handler; its response must wait
            producer = await AsyncClient.connect(broker)
            assert (
                produce_answer(await producer.request(PRODUCE, 9, produce_request("t", records(b"a")))).error_code == 0
            )
            correlation_id, fetched = await consumer.receive(FETCH, 11)
            assert correlation_id == fetch_id
            assert fetch_answer(fetched).high_watermark == 1 and len(fetch_answer(fetched).records) > 0
            correlation_id, versions = await consumer.receive(API_VERSIONS, 2)
            assert correlation_id == versions_id and versions.error_code == ErrorCode.NONE
            await consumer.close()
            await producer.close()

    asyncio.run(body())


def test_acks_0_produce_takes_its_turn_without_an_answer(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_broker(tmp_path) as broker:
            await create_topic(broker, "t")
            client = await AsyncClient.connect(broker)
            await client.send(PRODUCE, 9, produce_request("t", records(b"a"), acks=0))
            answer = produce_answer(await client.request(PRODUCE, 9, produce_request("t", records(b"b"), acks=1)))
            assert answer.error_code == ErrorCode.NONE and answer.base_offset == 1
            await client.close()

    asyncio.run(body())


def test_a_bad_frame_closes_only_its_own_connection(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_broker(tmp_path) as broker:
            await create_topic(broker, "t")
            good = await AsyncClient.connect(broker)
            bad = await AsyncClient.connect(broker)
            bad.writer.write(struct.pack(">i", 12) + b"\xff" * 12)  # an unknown API key
            await bad.writer.drain()
            assert await asyncio.wait_for(bad.reader.read(), 10) == b""  # closed, nothing sent
            answer = produce_answer(await good.request(PRODUCE, 9, produce_request("t", records(b"a"))))
            assert answer.error_code == ErrorCode.NONE
            await good.close()
            await bad.close()

    asyncio.run(body())


def test_a_client_gone_while_its_fetch_waits_leaves_nothing_waiting(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_broker(tmp_path) as broker:
            await create_topic(broker, "t")
            purgatory = broker.replica_manager.fetch_purgatory
            client = await AsyncClient.connect(broker)
            await client.send(FETCH, 11, fetch_request("t", 0, max_wait_ms=500))
            for _ in range(100):
                if purgatory.watched():
                    break
                await asyncio.sleep(0.02)
            assert purgatory.watched() == 1
            await client.close()
            for _ in range(500):
                if not purgatory.watched():
                    break
                await asyncio.sleep(0.02)
            assert purgatory.watched() == 0
            other = await AsyncClient.connect(broker)
            assert produce_answer(await other.request(PRODUCE, 9, produce_request("t", records(b"a")))).error_code == 0
            await other.close()

    asyncio.run(body())


def test_down_converting_a_large_batch_for_fetch_v2_does_not_stall_the_event_loop(tmp_path: Path) -> None:
    """The Reliability issue's case: Fetch v2 of a batch with very many records (down-conversion to
    magic 1) used to stall the event loop (143 s for 5 million records); it now runs in a worker
    thread. The broker and a ticking task share this loop: the ticks must go on while it converts
    (here some 300,000 records, seconds of work; a stall of a second would mean it ran on the loop)."""
    count = 300_000
    big = build_batch([Record(i, 0, None, b"%d" % i, []) for i in range(count)], compression=Compression.GZIP)

    async def body() -> None:
        async with running_broker(tmp_path) as broker:
            await create_topic(broker, "big")
            loader = await AsyncClient.connect(broker)
            assert produce_answer(await loader.request(PRODUCE, 9, produce_request("big", big))).error_code == 0
            consumer = await AsyncClient.connect(broker)
            loop = asyncio.get_running_loop()
            gaps: list[float] = []

            async def tick() -> None:
                last = loop.time()
                while True:
                    await asyncio.sleep(0.005)
                    now = loop.time()
                    gaps.append(now - last)
                    last = now

            ticker = asyncio.ensure_future(tick())
            fetched = await consumer.request(FETCH, 2, fetch_request("big", 0))
            ticker.cancel()
            part = fetch_answer(fetched)
            assert part.error_code == ErrorCode.NONE
            wrapper = read_legacy_message(part.records)  # one gzip wrapper (magic 1) holding every record
            assert (wrapper.magic, wrapper.offset, wrapper.compression) == (1, count - 1, Compression.GZIP)
            assert max(gaps) < 1.0, f"the event loop stalled for {max(gaps):.1f} s"
            await consumer.close()
            await loader.close()

    asyncio.run(body())
