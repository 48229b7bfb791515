"""ReplicaManager's data path, in process: appends with acks 0/1/-1, the acks=all wait and its
outcomes, the bound and the worker thread for records that must be decoded, per-partition order,
long-polling fetches, follower fetches, and clean cancellation of waiting requests."""

from __future__ import annotations

import asyncio
import struct
import zlib
from pathlib import Path

from broker.delayed import FetchParams, FetchPartitionSpec, RequestTimedOut
from broker.partition import (
    NotEnoughReplicas,
    NotEnoughReplicasAfterAppend,
    NotLeaderOrFollower,
    UnknownTopicOrPartition,
)
from broker.replica_manager import INLINE_DECODE_RECORDS, InvalidRequiredAcks, ReplicaManager
from broker.topics import InvalidTopic
from protocol.errors import ErrorCode
from protocol.records import Compression, Record, build_batch, iter_records
from protocol.records.header import compute_crc
from storage.errors import InvalidRecord
from tests.broker.inprocess import AsyncClient, create_topic, produce_answer, produce_request, records, running_broker

KEY = ("t", 0)


def spec(offset: int, max_bytes: int = 1 << 20) -> FetchPartitionSpec:
    return FetchPartitionSpec(fetch_offset=offset, max_bytes=max_bytes)


def values(rm: ReplicaManager, key: tuple[str, int], offset: int = 0) -> list[bytes | None]:
    partition = rm.partitions[key]
    data = partition.read(offset, 1 << 26, partition.log_end_offset).read_bytes()
    out: list[bytes | None] = []
    pos = 0
    while pos < len(data):
        size = struct.unpack_from(">i", data, pos + 8)[0] + 12
        out += [r.value for r in iter_records(memoryview(data)[pos : pos + size])]
        pos += size
    return out


def test_acks_1_appends_each_partition_and_answers_per_partition(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_broker(tmp_path) as broker:
            rm = broker.replica_manager
            await create_topic(broker, "t", partitions=2)
            results = await rm.append_records(
                {("t", 0): records(b"a", b"b"), ("t", 1): records(b"c"), ("nope", 0): records(b"x")},
                required_acks=1,
                timeout_ms=1000,
            )
            assert [(r.info.first_offset, r.info.last_offset) for r in list(results.values())[:2] if r.info] == [
                (0, 1),
                (0, 0),
            ]
            assert results[("t", 0)].error is None and results[("t", 1)].error is None
            assert isinstance(results[("nope", 0)].error, UnknownTopicOrPartition)
            assert values(rm, ("t", 0)) == [b"a", b"b"]

    asyncio.run(body())


def test_invalid_acks_and_internal_topics_are_refused_without_appending(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_broker(tmp_path) as broker:
            rm = broker.replica_manager
            await create_topic(broker, "t")
            await create_topic(broker, "__consumer_offsets", configs={"cleanup.policy": ["compact"]})
            bad = await rm.append_records({KEY: records(b"a")}, required_acks=2, timeout_ms=1000)
            assert isinstance(bad[KEY].error, InvalidRequiredAcks)
            internal = ("__consumer_offsets", 0)
            refused = await rm.append_records({internal: records(b"a")}, required_acks=1, timeout_ms=1000)
            assert isinstance(refused[internal].error, InvalidTopic)
            allowed = await rm.append_records(
                {internal: records(b"a")}, required_acks=-1, timeout_ms=1000, internal=True
            )
            assert allowed[internal].error is None
            assert rm.partitions[KEY].log_end_offset == 0
            assert rm.partitions[internal].log_end_offset == 1

    asyncio.run(body())


def test_acks_all_waits_for_the_follower_and_completes_when_it_fetches(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_broker(tmp_path) as broker:
            rm = broker.replica_manager
            (partition,) = await create_topic(broker, "t", configs={"min.insync.replicas": 2})
            partition.make_leader(1, isr=[0, 1], replicas=[0, 1])
            produce = asyncio.create_task(rm.append_records({KEY: records(b"a")}, required_acks=-1, timeout_ms=30000))
            await asyncio.sleep(0.05)
            assert not produce.done()
            assert partition.high_watermark == 0 and partition.log_end_offset == 1
            assert rm.produce_purgatory.watched() == 1
            # The follower fetches from its log end offset 1: it has the batch, the HW moves.
            follower = FetchParams(replica_id=1, max_bytes=1 << 20)
            await rm.fetch_messages(follower, [(KEY, spec(1))])
            result = (await asyncio.wait_for(produce, 5))[KEY]
            assert result.error is None and result.info is not None and result.info.first_offset == 0
            assert partition.high_watermark == 1
            assert rm.produce_purgatory.watched() == 0

    asyncio.run(body())


def test_acks_all_times_out_with_the_offsets_it_was_appended_at(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_broker(tmp_path) as broker:
            rm = broker.replica_manager
            (partition,) = await create_topic(broker, "t")
            partition.make_leader(1, isr=[0, 1], replicas=[0, 1])
            result = (await rm.append_records({KEY: records(b"a", b"b")}, required_acks=-1, timeout_ms=50))[KEY]
            assert isinstance(result.error, RequestTimedOut)
            assert result.info is not None and result.info.first_offset == 0
            assert rm.produce_purgatory.watched() == 0

    asyncio.run(body())


def test_not_enough_replicas_before_and_after_the_append(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_broker(tmp_path) as broker:
            rm = broker.replica_manager
            (partition,) = await create_topic(broker, "t", configs={"min.insync.replicas": 2})
            before = (await rm.append_records({KEY: records(b"a")}, required_acks=-1, timeout_ms=1000))[KEY]
            assert isinstance(before.error, NotEnoughReplicas)
            assert partition.log_end_offset == 0  # nothing appended
            acks1 = (await rm.append_records({KEY: records(b"a")}, required_acks=1, timeout_ms=1000))[KEY]
            assert acks1.error is None  # acks=1 does not care
            partition.make_leader(1, isr=[0, 1], replicas=[0, 1])
            produce = asyncio.create_task(rm.append_records({KEY: records(b"b")}, required_acks=-1, timeout_ms=30000))
            await asyncio.sleep(0.05)
            assert not produce.done()
            # The follower never caught up: the ISR shrinks to the leader, whose LEO becomes the HW,
            # and the waiting produce learns the ISR is now too small.
            assert rm.maybe_shrink_isr(now_ms=2**62) == 1
            after = (await asyncio.wait_for(produce, 5))[KEY]
            assert isinstance(after.error, NotEnoughReplicasAfterAppend)
            assert after.info is not None and after.info.first_offset == 1
            assert partition.isr == [0] and partition.high_watermark == 2

    asyncio.run(body())


def test_a_cancelled_acks_all_produce_leaves_nothing_in_the_purgatory(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_broker(tmp_path) as broker:
            rm = broker.replica_manager
            (partition,) = await create_topic(broker, "t")
            partition.make_leader(1, isr=[0, 1], replicas=[0, 1])
            produce = asyncio.create_task(rm.append_records({KEY: records(b"a")}, required_acks=-1, timeout_ms=30000))
            await asyncio.sleep(0.05)
            assert rm.produce_purgatory.watched() == 1
            produce.cancel()
            await asyncio.gather(produce, return_exceptions=True)
            assert rm.produce_purgatory.watched() == 0

    asyncio.run(body())


def test_many_records_to_decode_go_to_a_worker_thread_and_keep_their_order(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_broker(tmp_path) as broker:
            rm = broker.replica_manager
            await create_topic(broker, "t", configs={"cleanup.policy": ["compact"], "max.message.bytes": 50_000_000})
            count = INLINE_DECODE_RECORDS * 20
            big = build_batch([Record(i, 0, b"k%d" % i, b"v", []) for i in range(count)], compression=Compression.GZIP)
            first = asyncio.create_task(rm.append_records({KEY: big}, required_acks=1, timeout_ms=1000))
            second = asyncio.create_task(rm.append_records({KEY: records(b"after")}, required_acks=1, timeout_ms=1000))
            await asyncio.sleep(0)  # both ran their first step: an inline append would be done now
            assert not first.done()  # validating in a worker thread
            assert not second.done()  # queued behind the first append to the same partition
            (one,), (two,) = [list(r.values()) for r in await asyncio.gather(first, second)]
            assert (
                one.error is None
                and one.info is not None
                and (one.info.first_offset, one.info.last_offset) == (0, count - 1)
            )
            assert two.error is None and two.info is not None and two.info.first_offset == count
            keyless = build_batch([Record(i, 0, None, b"v", []) for i in range(count)], compression=Compression.GZIP)
            refused = (await rm.append_records({KEY: keyless}, required_acks=1, timeout_ms=1000))[KEY]
            assert isinstance(refused.error, InvalidRecord)

    asyncio.run(body())


def _gzip_batch_of_minimal_records(count: int) -> bytes:
    """One v2 batch holding ``count`` 8-byte records (key b"k", null value), gzip-compressed: 30
    million of them make a batch of a few hundred KB."""
    record = bytes([0x0E, 0, 0, 0, 0x02, ord("k"), 0x01, 0])[:8]
    deflater = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = record * (1 << 20)
    parts, left = [], count
    while left:
        n = min(left, 1 << 20)
        parts.append(deflater.compress(chunk if n == 1 << 20 else record * n))
        left -= n
    parts.append(deflater.flush())
    body = b"".join(parts)
    header = struct.pack(
        ">qiibIhiqqqhii", 0, 49 + len(body), 0, 2, 0, Compression.GZIP, count - 1, 0, 0, -1, -1, -1, count
    )
    batch = bytearray(header + body)
    struct.pack_into(">I", batch, 17, compute_crc(batch, 0, len(batch)))
    return bytes(batch)


def test_a_batch_of_30_million_records_to_a_compacted_topic_is_refused_at_once(tmp_path: Path) -> None:
    """The Reliability issue's case: a ~1 MB gzip batch claiming 30 million records used to keep the
    event loop busy for minutes. Now: INVALID_RECORD, before anything is decompressed, and other
    clients are served meanwhile."""
    batch = _gzip_batch_of_minimal_records(30_000_000)
    assert len(batch) < 1_000_000

    async def body() -> None:
        async with running_broker(tmp_path, **{"message.max.bytes": "2000000"}) as broker:
            await create_topic(broker, "t", configs={"cleanup.policy": ["compact"]})
            await create_topic(broker, "other")
            producer = await AsyncClient.connect(broker)
            other = await AsyncClient.connect(broker)
            sent = await producer.send(0, 9, produce_request("t", batch))
            answer = produce_answer(await other.request(0, 9, produce_request("other", records(b"x"))))
            assert answer.error_code == ErrorCode.NONE
            correlation_id, response = await producer.receive(0, 9)
            assert correlation_id == sent
            refused = produce_answer(response)
            assert refused.error_code == ErrorCode.INVALID_RECORD
            assert "30000000 records" in refused.error_message
            assert broker.replica_manager.partitions[KEY].log_end_offset == 0
            await producer.close()
            await other.close()

    asyncio.run(body())


def test_a_long_poll_fetch_completes_on_the_append_and_min_bytes_counts(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_broker(tmp_path) as broker:
            rm = broker.replica_manager
            await create_topic(broker, "t")
            params = FetchParams(max_wait_ms=30000, min_bytes=1)
            fetch = asyncio.create_task(rm.fetch_messages(params, [(KEY, spec(0))]))
            await asyncio.sleep(0.05)
            assert not fetch.done() and rm.fetch_purgatory.watched() == 1
            await rm.append_records({KEY: records(b"a")}, required_acks=1, timeout_ms=1000)
            (result,) = await asyncio.wait_for(fetch, 5)
            assert result.error is None and result.size > 0 and result.high_watermark == 1
            # min_bytes beyond one small batch: the first append is not enough, the second is.
            small = len(records(b"b"))
            params = FetchParams(max_wait_ms=30000, min_bytes=small + 1)
            fetch = asyncio.create_task(rm.fetch_messages(params, [(KEY, spec(1))]))
            await rm.append_records({KEY: records(b"b")}, required_acks=1, timeout_ms=1000)
            await asyncio.sleep(0.05)
            assert not fetch.done()
            await rm.append_records({KEY: records(b"c")}, required_acks=1, timeout_ms=1000)
            (result,) = await asyncio.wait_for(fetch, 5)
            assert result.size == 2 * small

    asyncio.run(body())


def test_a_fetch_times_out_empty_and_a_cancelled_one_leaves_no_watcher(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_broker(tmp_path) as broker:
            rm = broker.replica_manager
            await create_topic(broker, "t")
            (result,) = await rm.fetch_messages(FetchParams(max_wait_ms=50), [(KEY, spec(0))])
            assert result.error is None and result.size == 0
            fetch = asyncio.create_task(rm.fetch_messages(FetchParams(max_wait_ms=30000), [(KEY, spec(0))]))
            await asyncio.sleep(0.05)
            assert rm.fetch_purgatory.watched() == 1
            fetch.cancel()
            await asyncio.gather(fetch, return_exceptions=True)
            assert rm.fetch_purgatory.watched() == 0

    asyncio.run(body())


def test_consumers_read_to_the_high_watermark_followers_to_the_log_end(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_broker(tmp_path) as broker:
            rm = broker.replica_manager
            (partition,) = await create_topic(broker, "t")
            partition.make_leader(1, isr=[0, 1], replicas=[0, 1])
            await rm.append_records({KEY: records(b"a", b"b")}, required_acks=1, timeout_ms=1000)
            assert partition.high_watermark == 0
            (consumer,) = await rm.fetch_messages(FetchParams(), [(KEY, spec(0))])
            assert consumer.size == 0 and consumer.high_watermark == 0
            (follower,) = await rm.fetch_messages(FetchParams(replica_id=1), [(KEY, spec(0))])
            assert follower.size > 0
            assert partition.replica_log_end_offset(1) == 0
            await rm.fetch_messages(FetchParams(replica_id=1), [(KEY, spec(2))])
            assert partition.replica_log_end_offset(1) == 2 and partition.high_watermark == 2
            (consumer,) = await rm.fetch_messages(FetchParams(), [(KEY, spec(0))])
            assert consumer.size > 0 and consumer.high_watermark == 2
            # A replica id that is no follower of the partition is refused.
            (stranger,) = await rm.fetch_messages(FetchParams(replica_id=7), [(KEY, spec(0))])
            assert stranger.error is not None

    asyncio.run(body())


def test_becoming_a_follower_releases_waiting_produces_and_fetches(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_broker(tmp_path) as broker:
            rm = broker.replica_manager
            (partition,) = await create_topic(broker, "t")
            rm.make_leader("t", 0, 1, isr=[0, 1], replicas=[0, 1])
            produce = asyncio.create_task(rm.append_records({KEY: records(b"a")}, required_acks=-1, timeout_ms=30000))
            fetch = asyncio.create_task(rm.fetch_messages(FetchParams(max_wait_ms=30000), [(KEY, spec(0))]))
            await asyncio.sleep(0.05)
            assert not produce.done() and not fetch.done()
            rm.make_follower("t", 0, leader_id=1, leader_epoch=2, replicas=[0, 1])
            produced = (await asyncio.wait_for(produce, 5))[KEY]
            (fetched,) = await asyncio.wait_for(fetch, 5)
            assert isinstance(produced.error, NotLeaderOrFollower)
            assert isinstance(fetched.error, NotLeaderOrFollower)
            refused = (await rm.append_records({KEY: records(b"b")}, required_acks=1, timeout_ms=1000))[KEY]
            assert isinstance(refused.error, NotLeaderOrFollower)
            assert partition.log_end_offset == 1
            assert rm.produce_purgatory.watched() == rm.fetch_purgatory.watched() == 0

    asyncio.run(body())


def test_an_uncompressed_batch_claiming_more_records_than_its_bytes_hold_is_invalid(tmp_path: Path) -> None:
    """Kafka's size check: a v2 record takes at least 7 bytes, so the header's count is bounded by the
    batch's own size, on every topic, without decoding a record."""

    async def body() -> None:
        async with running_broker(tmp_path) as broker:
            rm = broker.replica_manager
            await create_topic(broker, "t")
            batch = bytearray(records(b"a", b"b"))
            claimed = 1_000_000
            struct.pack_into(">i", batch, 23, claimed - 1)  # last offset delta
            struct.pack_into(">i", batch, 57, claimed)  # records count
            struct.pack_into(">I", batch, 17, compute_crc(batch, 0, len(batch)))
            result = (await rm.append_records({KEY: bytes(batch)}, required_acks=1, timeout_ms=1000))[KEY]
            assert isinstance(result.error, InvalidRecord) and "cannot fit" in str(result.error)
            assert rm.partitions[KEY].log_end_offset == 0

    asyncio.run(body())
