"""The transaction marker channel against a real broker in process: markers reach the leader the
metadata names over a real socket, and what was not written says whether the coordinator retries."""

from __future__ import annotations

import asyncio
from pathlib import Path

from broker.coordinator.transaction.marker_channel import MarkerError, TxnMarkerChannel
from broker.metadata_cache import Endpoint, LiveBroker, MetadataCache, MetadataUpdate, PartitionState, TopicState
from broker.network_client import NetworkClient
from protocol.errors import ErrorCode
from tests.broker.inprocess import create_topic, running_broker
from tests.harness import free_port

T = "markers"
GONE = 9  # a broker the metadata lists whose port nobody listens on


def _metadata(leader: int, port: int) -> MetadataCache:
    """Partition 0 and 7 led by ``leader`` (which hosts only 0), 1 without a leader, 2 led by GONE."""
    cache = MetadataCache(100, "c")
    states = tuple(
        PartitionState(index, owner, 0, (owner,), (owner,))
        for index, owner in ((0, leader), (7, leader), (1, -1), (2, GONE))
    )
    cache.update_metadata(MetadataUpdate(
        controller_id=leader,
        live_brokers=(LiveBroker(leader, (Endpoint("PLAINTEXT", "127.0.0.1", port),)),
                      LiveBroker(GONE, (Endpoint("PLAINTEXT", "127.0.0.1", free_port()),))),
        topic_states=(TopicState(T, bytes(16), states),),
    ))  # fmt: skip
    return cache


def test_markers_reach_the_leader_and_failures_say_whether_to_retry(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_broker(tmp_path) as broker:
            [partition] = await create_topic(broker, T)
            channel = TxnMarkerChannel(
                NetworkClient("test"), _metadata(broker.node_id, broker.listeners[0].port), "PLAINTEXT"
            )
            try:
                first, second = await asyncio.gather(  # two transactions at once: both answered
                    channel.send(5, 3, 4, True, [(T, 0)]), channel.send(6, 0, 4, False, [(T, 0)])
                )
                assert first == {(T, 0): None} and second == {(T, 0): None}
                assert partition.log.log_end_offset == 2  # the two control batches

                results = await channel.send(5, 2, 4, True, [(T, 0), (T, 7), (T, 1), (T, 2)])
                codes = {tp: (e.code, e.retriable) for tp, e in results.items() if isinstance(e, MarkerError)}
                assert codes == {
                    (T, 0): (ErrorCode.INVALID_PRODUCER_EPOCH, False),  # an older epoch than written
                    (T, 7): (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, True),  # the metadata is ahead of the broker
                    (T, 1): (ErrorCode.NOT_LEADER_OR_FOLLOWER, True),  # no leader
                    (T, 2): (ErrorCode.NOT_LEADER_OR_FOLLOWER, True),  # its leader is unreachable
                }
                fenced = await channel.send(5, 3, 3, True, [(T, 0)])  # an older coordinator epoch
                error = fenced[(T, 0)]
                assert isinstance(error, MarkerError) and error.code is ErrorCode.TRANSACTION_COORDINATOR_FENCED
                assert partition.log.log_end_offset == 2
            finally:
                channel.close()

    asyncio.run(body())
