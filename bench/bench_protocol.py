"""Codec speed: decode + encode of typical small messages, and a 1 MiB produce request.

Run: ``python -m bench.bench_protocol``. Prints messages per second on one core (best of several runs);
the issue's target is 100,000 or more decode+encode per second for Metadata with a few topics, Heartbeat
and a one-partition Fetch.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from protocol import codec
from protocol.headers import RequestHeader, decode_request, encode_request
from protocol.messages.fetch import (
    FetchableTopicResponse,
    FetchPartition,
    FetchRequest,
    FetchResponse,
    FetchTopic,
    PartitionData,
)
from protocol.messages.heartbeat import HeartbeatRequest, HeartbeatResponse
from protocol.messages.metadata import (
    MetadataRequest,
    MetadataRequestTopic,
    MetadataResponse,
    MetadataResponseBroker,
    MetadataResponsePartition,
    MetadataResponseTopic,
)
from protocol.messages.produce import PartitionProduceData, ProduceRequest, TopicProduceData
from protocol.schema import Struct

TOPIC_ID = bytes(range(16))


def messages() -> list[tuple[str, Struct, int]]:
    topics = [f"orders-{i}" for i in range(3)]
    metadata_response = MetadataResponse(
        brokers=[MetadataResponseBroker(node_id=0, host="localhost", port=9092)],
        cluster_id="kafkish-cluster",
        controller_id=0,
        topics=[
            MetadataResponseTopic(
                name=name,
                topic_id=TOPIC_ID,
                partitions=[
                    MetadataResponsePartition(partition_index=p, leader_id=0, leader_epoch=0, replica_nodes=[0],
                                              isr_nodes=[0])
                    for p in range(3)
                ],
            )
            for name in topics
        ],
    )  # fmt: skip
    small_metadata = MetadataResponse(
        brokers=[MetadataResponseBroker(node_id=0, host="localhost", port=9092)],
        cluster_id="kafkish-cluster",
        topics=[
            MetadataResponseTopic(
                name=name, topic_id=TOPIC_ID,
                partitions=[MetadataResponsePartition(leader_id=0, replica_nodes=[0], isr_nodes=[0])],
            )
            for name in topics
        ],
    )  # fmt: skip
    fetch_request = FetchRequest(
        replica_id=-1, max_wait_ms=500, min_bytes=1, max_bytes=52428800, session_id=0, session_epoch=-1,
        topics=[FetchTopic(topic="orders", topic_id=TOPIC_ID,
                           partitions=[FetchPartition(partition=0, fetch_offset=1234, partition_max_bytes=1048576)])],
    )  # fmt: skip
    fetch_response = FetchResponse(
        responses=[
            FetchableTopicResponse(
                topic="orders", topic_id=TOPIC_ID,
                partitions=[PartitionData(partition_index=0, high_watermark=2000, last_stable_offset=2000,
                                          log_start_offset=0, records=b"\x00" * 200)],
            )
        ]
    )  # fmt: skip
    return [
        ("Metadata request v12, 3 topics", MetadataRequest(topics=[MetadataRequestTopic(name=t) for t in topics]), 12),
        ("Metadata response v12, 3 topics x 1 partition", small_metadata, 12),
        ("Metadata response v12, 3 topics x 3 partitions", metadata_response, 12),
        ("Metadata response v1, 3 topics x 3 partitions", metadata_response, 1),
        ("Heartbeat request v4", HeartbeatRequest(group_id="group-1", generation_id=7, member_id="m-1"), 4),
        ("Heartbeat response v4", HeartbeatResponse(), 4),
        ("Fetch request v12, 1 partition", fetch_request, 12),
        ("Fetch response v12, 1 partition", fetch_response, 12),
        ("Fetch request v16, 1 partition", fetch_request, 16),
    ]


def rate(work: Callable[[], object], seconds: float = 0.4, runs: int = 3) -> float:
    best = 0.0
    for _ in range(runs):
        count = 0
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            for _ in range(200):
                work()
            count += 200
        best = max(best, count / elapsed)
    return best


def main() -> dict[str, float]:
    results: dict[str, float] = {}
    for name, message, version in messages():
        cls = type(message)

        def round_trip(message: Struct = message, version: int = version, cls: type[Struct] = cls) -> object:
            return codec.decode(cls, codec.encode(message, version), version)

        results[name] = rate(round_trip)
        print(f"{name:<50} {results[name]:>12,.0f} decode+encode/s")
    records = b"\x01" * (1 << 20)
    header = RequestHeader(request_api_key=0, request_api_version=9, correlation_id=1, client_id="bench")
    request = ProduceRequest(
        acks=-1, timeout_ms=30000,
        topic_data=[TopicProduceData(name="orders", partition_data=[PartitionProduceData(index=0, records=records)])],
    )  # fmt: skip
    frame = memoryview(encode_request(header, request))[4:]
    _, decoded = decode_request(frame)
    assert isinstance(decoded, ProduceRequest)
    data = decoded.topic_data[0].partition_data[0].records
    assert isinstance(data, memoryview) and data.obj is frame.obj, "the records must be a view of the frame"
    results["Produce request v9 with 1 MiB of records, decode"] = rate(lambda: decode_request(frame))
    print(f"{'Produce request v9 with 1 MiB records (zero-copy)':<50} "
          f"{results['Produce request v9 with 1 MiB of records, decode']:>12,.0f} decodes/s")  # fmt: skip
    return results


if __name__ == "__main__":
    main()
