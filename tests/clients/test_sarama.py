"""Shopify/sarama 1.22.1 (Go; Debian's package) against one kafkish broker, as a Go user sees it.

``tests/clients/go/`` is the Go program (built once per session by ``tests/clients/sarama.py``); each
of its commands prints a JSON object that these tests check. sarama is configured with the newest
protocol version it knows, ``V2_2_0_0``. sarama sends requests at fixed versions without asking
ApiVersions first, so the broker's log is checked for requests at versions it does not serve.

Without Go (``make system-deps`` installs it) these tests fail, as kcat's do; they never skip.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from confluent_kafka import Producer

from kafkish.testing import Broker
from kafkish.testing._admin import create_topic
from tests.clients.sarama import go_missing, sarama

PARTITIONS = 3


@pytest.fixture(scope="module")
def bootstrap() -> Iterator[str]:
    settings = {
        "group.min.session.timeout.ms": "1000",
        "num.partitions": "1",
        # ACLs can be managed; sarama connects over PLAINTEXT as ANONYMOUS, a super user: nothing is denied
        "authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
        "super.users": "User:ANONYMOUS",
    }
    with Broker(settings) as broker:
        yield broker.bootstrap_servers
        unsupported = [line for line in broker.log_text().splitlines() if "unsupported" in line]
        assert not unsupported, unsupported


def create(bootstrap: str, topic: str, partitions: int = PARTITIONS) -> None:
    create_topic(bootstrap, topic, partitions)


def test_go_and_sarama_are_installed() -> None:
    assert not go_missing(), go_missing()


def test_cluster_admin_creates_describes_alters_and_deletes_a_topic(bootstrap: str) -> None:
    result = sarama("admin", bootstrap, "go-admin", 3)
    assert result["leaders"] == {"0": 0, "1": 0, "2": 0}
    configs = result["configs"]
    assert configs["retention.ms"] == {"value": "3600000", "default": False, "source": 0}
    assert configs["cleanup.policy"]["value"] == "compact" and not configs["cleanup.policy"]["default"]
    assert configs["segment.bytes"] == {"value": "1073741824", "default": True, "source": 0}
    assert result["createAgain"]["code"] == 36  # sarama.ErrTopicAlreadyExists
    assert "already exists" in result["createAgain"]["text"]
    assert result["createBadRF"]["code"] == 38  # sarama.ErrInvalidReplicationFactor
    assert result["alter"] is None and result["retentionAfter"] == "7200000"
    assert result["createPartitions"] is None and result["listedPartitions"] == 5
    assert result["shrinkPartitions"]["code"] == 37  # sarama.ErrInvalidPartitions
    # AlterConfigs replaces the topic's overrides: only retention.ms is left, as in Kafka
    assert result["listed"]
    assert result["listedConfigs"] == {"retention.ms": "7200000"}
    assert result["deleteAgain"]["code"] == 3  # sarama.ErrUnknownTopicOrPartition
    assert result["describeDeleted"]["code"] == 3
    # DescribeCluster sends Metadata v0, which has no controller: sarama reports -1 there, as with Kafka
    assert (result["clusterBrokers"], result["clusterController"]) == (1, -1)


def test_sync_producer_with_acks_all_then_partition_consumer_from_oldest(bootstrap: str) -> None:
    produced = sarama("produce-sync", bootstrap, "go-sync", 5, 0, 0)["produced"]
    assert [(p["partition"], p["offset"], p["key"]) for p in produced] == [(0, i, f"key-{i}") for i in range(5)]
    idempotent = sarama("produce-sync", bootstrap, "go-sync", 5, 5, 1)["produced"]
    assert [(p["partition"], p["offset"]) for p in idempotent] == [(0, i) for i in range(5, 10)]
    result = sarama("consume", bootstrap, "go-sync", 0, 10)
    assert [(r["offset"], r["key"], r["value"]) for r in result["records"]] == [
        (i, f"key-{i}", f"value-{i}") for i in range(10)
    ]
    assert [r["headers"] for r in result["records"]] == [{"source": "sarama", "n": str(i)} for i in range(10)]
    assert result["highWaterMark"] == 10
    assert result["missingPartition"]["code"] == 3  # sarama.ErrUnknownTopicOrPartition


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4"])
def test_async_producer_with_compression_round_trips(bootstrap: str, codec: str) -> None:
    topic = f"go-async-{codec}"
    create(bootstrap, topic, 2)
    result = sarama("produce-async", bootstrap, topic, 40, codec)
    assert result["errors"] == []
    by_partition = {p: sorted(r["offset"] for r in result["produced"] if r["partition"] == p) for p in (0, 1)}
    assert by_partition == {0: list(range(20)), 1: list(range(20))}  # round robin, offsets dense
    key_at = {(r["partition"], r["offset"]): r["key"] for r in result["produced"]}
    for partition in (0, 1):
        records = sarama("consume", bootstrap, topic, partition, 20)["records"]
        assert [r["key"] for r in records] == [key_at[(partition, r["offset"])] for r in records]
        for r in records:
            n = int(r["key"].removeprefix("key-"))
            assert r["value"] == f"value-{n} " * 20 and r["headers"] == {"source": "sarama", "n": str(n)}


def test_zstd_from_sarama_1_22_is_refused_as_kafka_refuses_it(bootstrap: str) -> None:
    # sarama 1.22 sends zstd batches in Produce v3; Kafka (2.1+) takes zstd only from Produce v7 on and
    # answers UNSUPPORTED_COMPRESSION_TYPE, which sarama reports for every record. Nothing is appended.
    create(bootstrap, "go-async-zstd", 1)
    result = sarama("produce-async", bootstrap, "go-async-zstd", 5, "zstd")
    assert result["produced"] == []
    assert (
        result["errors"]
        == ["kafka server: The requesting client does not support the compression type of given partition."] * 5
    )
    assert sarama("offsets", bootstrap, "go-async-zstd", 1, "nobody")["newest"] == {"0": 0}


def test_consumer_group_commits_on_close_and_a_new_member_resumes(bootstrap: str) -> None:
    create(bootstrap, "go-group")
    sarama("produce-async", bootstrap, "go-group", 30, "none")
    first = sarama("group", bootstrap, "go-group", "go-group-1", 12)
    assert first["claims"] == [0, 1, 2] and first["errors"] == []
    second = sarama("group", bootstrap, "go-group", "go-group-1", 30 - len(first["seen"]))
    assert second["claims"] == [0, 1, 2] and second["errors"] == []
    seen = [(r["partition"], r["offset"]) for r in first["seen"] + second["seen"]]
    assert sorted(seen) == [(p, o) for p in range(3) for o in range(10)]  # each record once: resumed
    assert all(r["headers"]["source"] == "sarama" for r in first["seen"] + second["seen"])
    offsets = sarama("offsets", bootstrap, "go-group", 3, "go-group-1")
    assert offsets["partitionIDs"] == [0, 1, 2]
    assert offsets["oldest"] == {"0": 0, "1": 0, "2": 0}
    assert offsets["newest"] == offsets["committed"] == {"0": 10, "1": 10, "2": 10}
    assert offsets["byTime"] == {"0": 0, "1": 0, "2": 0}
    assert offsets["future"] == {"0": -1, "1": -1, "2": -1}  # no record that late: offset -1, as in Kafka
    assert offsets["offsetManagerNext"] == 10
    assert offsets["groups"]["go-group-1"] == "consumer"
    assert (offsets["groupState"], offsets["groupProtocolType"]) == ("Empty", "consumer")


def test_two_members_split_the_partitions_and_each_reads_only_its_own(bootstrap: str) -> None:
    create(bootstrap, "go-share")
    members = sarama("group-share", bootstrap, "go-share", "go-share-group", PARTITIONS, 30)["members"]
    claims = [m["claims"] for m in members]
    assert sorted(p for c in claims for p in c) == [0, 1, 2] and all(claims)
    for m in members:
        assert {r["partition"] for r in m["seen"]} <= set(m["claims"])
    seen = sorted(int(r["key"].removeprefix("key-")) for m in members for r in m["seen"])
    assert seen == list(range(30))  # each record once


def test_delete_records_moves_the_log_start_offset(bootstrap: str) -> None:
    create(bootstrap, "go-delete-records", 1)
    sarama("produce-sync", bootstrap, "go-delete-records", 8, 0, 0)
    assert sarama("delete-records", bootstrap, "go-delete-records", 0, 5)["error"] is None
    offsets = sarama("offsets", bootstrap, "go-delete-records", 1, "nobody")
    assert (offsets["oldest"], offsets["newest"], offsets["byTime"]) == ({"0": 5}, {"0": 8}, {"0": 5})
    records = sarama("consume", bootstrap, "go-delete-records", 0, 3)["records"]
    assert [r["offset"] for r in records] == [5, 6, 7]


def test_cluster_admin_creates_lists_and_deletes_acls(bootstrap: str) -> None:
    result = sarama("acls", bootstrap, "go-acl")
    assert result["created"] == [None, None]
    # resource type 2 = topic; operation 3 = read, 4 = write; permission 3 = allow, 2 = deny
    alice, bob = "2 go-acl User:alice * 3 3", "2 go-acl User:bob * 4 2"
    assert result["listed"] == [alice, bob]
    assert result["listedAlice"] == [alice]
    assert result["deleted"] == ["2 go-acl User:alice 3"]
    assert result["after"] == [bob]


def test_read_committed_skips_aborted_records_and_stops_at_an_open_transaction(bootstrap: str) -> None:
    create(bootstrap, "go-txn", 1)
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": "go-txn-writer"})
    producer.init_transactions(30)
    for keys, commit in ((["c0", "c1", "c2"], True), (["a0", "a1"], False), (["c3"], True), (["o0"], None)):
        producer.begin_transaction()
        for key in keys:
            producer.produce("go-txn", key=key.encode(), value=b"v", partition=0)
        producer.flush(30)
        if commit:
            producer.commit_transaction(30)
        elif commit is False:
            producer.abort_transaction(30)
    # offsets: c0-c2 0-2, commit marker 3, a0-a1 4-5, abort marker 6, c3 7, marker 8, o0 9 (open)
    committed = sarama("consume", bootstrap, "go-txn", 0, 4, "read_committed")
    assert [(r["offset"], r["key"]) for r in committed["records"]] == [(0, "c0"), (1, "c1"), (2, "c2"), (7, "c3")]
    uncommitted = sarama("consume", bootstrap, "go-txn", 0, 7)
    assert [r["key"] for r in uncommitted["records"]] == ["c0", "c1", "c2", "a0", "a1", "c3", "o0"]
    assert uncommitted["highWaterMark"] == 10
    producer.abort_transaction(30)
