"""The metadata cache (broker/metadata_cache.py), fed as a ZooKeeper controller feeds it."""

from __future__ import annotations

from broker.metadata_cache import (
    LEADER_DURING_DELETE,
    Endpoint,
    LiveBroker,
    MetadataCache,
    MetadataUpdate,
    PartitionState,
    TopicState,
)
from protocol.messages.update_metadata import (
    UpdateMetadataBroker,
    UpdateMetadataEndpoint,
    UpdateMetadataPartitionState,
    UpdateMetadataRequest,
    UpdateMetadataTopicState,
)

ID_A = bytes(range(16))
ID_B = bytes(range(1, 17))
B0 = LiveBroker(0, (Endpoint("PLAINTEXT", "h0", 9092), Endpoint("INTERNAL", "i0", 9093)), "r1")
B1 = LiveBroker(1, (Endpoint("INTERNAL", "i1", 9093),), "r2")


def part(index: int, leader: int, replicas: tuple[int, ...], isr: tuple[int, ...] | None = None) -> PartitionState:
    return PartitionState(index, leader, 3, replicas if isr is None else isr, replicas, offline_replicas=())


def test_brokers_controller_and_partitions() -> None:
    cache = MetadataCache(0, "cid")
    cache.update_metadata(
        MetadataUpdate(1, (B1, B0), (TopicState("a", ID_A, (part(0, 0, (0, 1)), part(1, 1, (1, 0), (1,)))),))
    )
    assert cache.controller_id == 1
    assert [b.id for b in cache.alive_brokers()] == [0, 1]
    assert [(b.id, e.host) for b, e in cache.alive_endpoints("INTERNAL")] == [(0, "i0"), (1, "i1")]
    assert [(b.id, e.host) for b, e in cache.alive_endpoints("PLAINTEXT")] == [(0, "h0")]
    assert cache.num_partitions("a") == 2 and cache.num_partitions("b") is None
    assert cache.topic_by_id(ID_A) is cache.topic("a")
    state = cache.partition("a", 1)
    assert state is not None and (state.leader, state.isr, state.replicas) == (1, (1,), (1, 0))
    # Partition 1's leader has no PLAINTEXT endpoint: no leader reachable there.
    assert cache.leader_endpoint("a", 1, "PLAINTEXT") is None
    assert cache.leader_endpoint("a", 1, "INTERNAL") == (1, Endpoint("INTERNAL", "i1", 9093))
    assert cache.leader_endpoint("a", 0, "PLAINTEXT") == (0, Endpoint("PLAINTEXT", "h0", 9092))


def test_updates_merge_partitions_and_replace_brokers() -> None:
    cache = MetadataCache(0, "cid")
    cache.update_metadata(MetadataUpdate(0, (B0, B1), (TopicState("a", ID_A, (part(0, 0, (0, 1)),)),)))
    before = cache.topic("a")
    cache.update_metadata(MetadataUpdate(0, (B0,), (TopicState("a", ID_A, (part(1, 0, (0,)),)),)))
    after = cache.topic("a")
    assert after is not before, "a changed topic is a new image; readers keep the old one intact"
    assert before is not None and len(before.partitions) == 1
    assert after is not None and list(after.partitions) == [0, 1]
    assert [b.id for b in cache.alive_brokers()] == [0]
    assert cache.leader_endpoint("a", 0, "INTERNAL") is not None
    cache.update_metadata(MetadataUpdate(0, (B0,)))  # brokers only: topics stay
    assert cache.num_partitions("a") == 2


def test_leader_during_delete_removes_partitions_then_the_topic() -> None:
    cache = MetadataCache(0, "cid")
    cache.update_metadata(MetadataUpdate(0, (B0,), (TopicState("a", ID_A, (part(0, 0, (0,)), part(1, 0, (0,)))),)))
    cache.update_topic_configs("a", {"retention.ms": 5})
    gone = PartitionState(0, LEADER_DURING_DELETE, 0, (), ())
    removed = cache.update_metadata(MetadataUpdate(0, (B0,), (TopicState("a", ID_A, (gone,)),)))
    assert removed == [("a", 0)] and cache.num_partitions("a") == 1
    assert cache.topic_configs("a") == {"retention.ms": 5}
    gone1 = PartitionState(1, LEADER_DURING_DELETE, 0, (), ())
    cache.update_metadata(MetadataUpdate(0, (B0,), (TopicState("a", ID_A, (gone1,)),)))
    assert cache.topic("a") is None and cache.topic_by_id(ID_A) is None
    assert cache.topic_configs("a") == {}


def test_a_recreated_topic_starts_afresh_and_full_updates_drop_the_rest() -> None:
    cache = MetadataCache(0, "cid")
    cache.update_metadata(
        MetadataUpdate(
            0,
            (B0,),
            (TopicState("a", ID_A, (part(0, 0, (0,)), part(1, 0, (0,)))), TopicState("x", ID_B, (part(0, 0, (0,)),))),
        )
    )
    cache.update_metadata(MetadataUpdate(0, (B0,), (TopicState("a", ID_B, (part(0, 0, (0,)),)),), full=True))
    assert cache.num_partitions("a") == 1 and cache.topic_by_id(ID_B) is cache.topic("a")
    assert cache.topic("x") is None and cache.topic_by_id(ID_A) is None


def test_an_update_metadata_request_feeds_it() -> None:
    request = UpdateMetadataRequest(
        controller_id=2,
        controller_epoch=7,
        topic_states=[
            UpdateMetadataTopicState(
                topic_name="t",
                topic_id=ID_A,
                partition_states=[
                    UpdateMetadataPartitionState(
                        partition_index=0, leader=2, leader_epoch=4, isr=[2], replicas=[2, 0], offline_replicas=[0]
                    )
                ],
            )
        ],
        live_brokers=[
            UpdateMetadataBroker(id=2, endpoints=[UpdateMetadataEndpoint(port=1, host="h2", listener="PLAINTEXT")]),
            UpdateMetadataBroker(id=0, endpoints=[], rack=None),
        ],
    )
    cache = MetadataCache(0, "cid")
    cache.update_metadata(MetadataUpdate.from_request(request, version=7))
    state = cache.partition("t", 0)
    assert state is not None and (state.leader, state.leader_epoch, state.offline_replicas) == (2, 4, (0,))
    assert cache.controller_id == 2
    assert cache.leader_endpoint("t", 0, "PLAINTEXT") == (2, Endpoint("PLAINTEXT", "h2", 1))
    assert [b.id for b in cache.alive_brokers()] == [0, 2]

    legacy = UpdateMetadataRequest(
        controller_id=2,
        ungrouped_partition_states=[
            UpdateMetadataPartitionState(topic_name="old", partition_index=0, leader=2, isr=[2], replicas=[2])
        ],
        live_brokers=[UpdateMetadataBroker(id=2, v0_host="h", v0_port=9)],
    )
    cache.update_metadata(MetadataUpdate.from_request(legacy, version=0))
    assert cache.leader_endpoint("old", 0, "PLAINTEXT") == (2, Endpoint("PLAINTEXT", "h", 9))
