"""The transaction APIs on a real broker, over a plain socket: what no client library sends on
purpose (a transactional produce to a partition never added, a client's control batch, the batched
verify-only AddPartitionsToTxn of KIP-890, WriteTxnMarkers), version-dependent error codes, EndTxn v5
(KIP-890 part 2, advertised with ``unstable.api.versions.enable``, which this module's broker sets),
and the admin APIs (DescribeTransactions, ListTransactions)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from protocol.errors import ErrorCode as E
from protocol.messages.add_offsets_to_txn import AddOffsetsToTxnRequest
from protocol.messages.add_partitions_to_txn import (
    AddPartitionsToTxnRequest,
    AddPartitionsToTxnTopic,
    AddPartitionsToTxnTransaction,
)
from protocol.messages.api_versions import ApiVersionsRequest
from protocol.messages.end_txn import EndTxnRequest
from protocol.messages.init_producer_id import InitProducerIdRequest
from protocol.messages.list_transactions import ListTransactionsRequest
from protocol.messages.offset_fetch import OffsetFetchRequest, OffsetFetchRequestTopic
from protocol.messages.produce import PartitionProduceData, ProduceRequest, TopicProduceData
from protocol.messages.txn_offset_commit import (
    TxnOffsetCommitRequest,
    TxnOffsetCommitRequestPartition,
    TxnOffsetCommitRequestTopic,
)
from protocol.messages.write_txn_markers import WritableTxnMarker, WritableTxnMarkerTopic, WriteTxnMarkersRequest
from protocol.records import read_header
from protocol.records.control import build_control_batch
from tests.clients.txn_helpers import OVERRIDES, describe, wait_for_state
from tests.harness import BrokerProcess
from tests.raw_client import RawClient, batch

INIT, ADD, END, MARKERS, LIST, VERSIONS = 22, 24, 26, 27, 66, 18


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    overrides = {**OVERRIDES, "unstable.api.versions.enable": "true"}
    with BrokerProcess(Path(tmp_path_factory.mktemp("txn-raw")), overrides) as process:
        yield process


@pytest.fixture
def client(broker: BrokerProcess) -> Iterator[RawClient]:
    c = RawClient(broker)
    yield c
    c.close()


def init(client: RawClient, txn_id: str) -> tuple[int, int]:
    r = client.request(INIT, 4, InitProducerIdRequest(transactional_id=txn_id, transaction_timeout_ms=60000))
    assert r.error_code == E.NONE
    return int(r.producer_id), int(r.producer_epoch)


def add(
    client: RawClient, txn_id: str, pid: int, epoch: int, topic: str, *partitions: int, version: int = 3
) -> list[tuple[str, int, int]]:
    body = AddPartitionsToTxnRequest(
        v3_and_below_transactional_id=txn_id, v3_and_below_producer_id=pid, v3_and_below_producer_epoch=epoch,
        v3_and_below_topics=[AddPartitionsToTxnTopic(name=topic, partitions=list(partitions))],
    )  # fmt: skip
    r = client.request(ADD, version, body)
    return [(t.name, p.partition_index, p.partition_error_code) for t in r.results_by_topic_v3_and_below
            for p in t.results_by_partition]  # fmt: skip


def txn_produce(client: RawClient, txn_id: str | None, topic: str, pid: int, epoch: int, version: int = 9) -> int:
    records = batch(b"v", producer_id=pid, producer_epoch=epoch, base_sequence=0, is_transactional=True)
    body = ProduceRequest(
        transactional_id=txn_id, acks=-1, timeout_ms=10000,
        topic_data=[TopicProduceData(name=topic, partition_data=[PartitionProduceData(index=0, records=records)])],
    )  # fmt: skip
    return int(client.request(0, version, body).responses[0].partition_responses[0].error_code)


def test_a_transactional_produce_to_a_partition_not_in_the_transaction_is_refused(client: RawClient) -> None:
    client.create_topic("raw-verify")
    pid, epoch = init(client, "raw-verify")
    assert txn_produce(client, "raw-verify", "raw-verify", pid, epoch) == E.INVALID_TXN_STATE
    assert txn_produce(client, "raw-verify", "raw-verify", pid, epoch, version=11) == E.TRANSACTION_ABORTABLE
    assert add(client, "raw-verify", pid, epoch, "raw-verify", 0) == [("raw-verify", 0, E.NONE)]
    assert txn_produce(client, "raw-verify", "raw-verify", pid, epoch) == E.NONE
    assert txn_produce(client, "raw-verify", "raw-verify", pid, epoch - 1 if epoch else 5) == E.INVALID_PRODUCER_EPOCH


def test_a_client_may_not_write_a_control_batch(client: RawClient) -> None:
    client.create_topic("raw-control")
    pid, epoch = init(client, "raw-control")
    add(client, "raw-control", pid, epoch, "raw-control", 0)
    marker = build_control_batch(True, pid, epoch, 0)
    data = [PartitionProduceData(index=0, records=marker)]
    body = ProduceRequest(
        transactional_id="raw-control", acks=-1, timeout_ms=10000,
        topic_data=[TopicProduceData(name="raw-control", partition_data=data)],
    )  # fmt: skip
    assert client.request(0, 9, body).responses[0].partition_responses[0].error_code == E.INVALID_RECORD


def test_unknown_partitions_are_refused_and_the_others_not_attempted(client: RawClient) -> None:
    client.create_topic("raw-known")
    pid, epoch = init(client, "raw-unknown")
    body = AddPartitionsToTxnRequest(
        v3_and_below_transactional_id="raw-unknown", v3_and_below_producer_id=pid, v3_and_below_producer_epoch=epoch,
        v3_and_below_topics=[AddPartitionsToTxnTopic(name="raw-known", partitions=[0]),
                             AddPartitionsToTxnTopic(name="raw-nowhere", partitions=[0])],
    )  # fmt: skip
    r = client.request(ADD, 3, body)
    codes = {t.name: t.results_by_partition[0].partition_error_code for t in r.results_by_topic_v3_and_below}
    assert codes == {"raw-known": E.OPERATION_NOT_ATTEMPTED, "raw-nowhere": E.UNKNOWN_TOPIC_OR_PARTITION}


def test_fencing_errors_follow_the_request_version(client: RawClient) -> None:
    client.create_topic("raw-fence")
    pid, epoch = init(client, "raw-fence")
    init(client, "raw-fence")  # a new epoch: the old one is fenced
    init(client, "raw-fence")  # and another: the old one is not even the previous epoch (KIP-360 retries)
    assert add(client, "raw-fence", pid, epoch, "raw-fence", 0, version=1) == [
        ("raw-fence", 0, E.INVALID_PRODUCER_EPOCH)
    ]
    assert add(client, "raw-fence", pid, epoch, "raw-fence", 0, version=2) == [("raw-fence", 0, E.PRODUCER_FENCED)]
    end = EndTxnRequest(transactional_id="raw-fence", producer_id=pid, producer_epoch=epoch, committed=True)
    assert client.request(END, 1, end).error_code == E.INVALID_PRODUCER_EPOCH
    assert client.request(END, 3, end).error_code == E.PRODUCER_FENCED
    stale = InitProducerIdRequest(transactional_id="raw-fence", transaction_timeout_ms=60000, producer_id=pid,
                                  producer_epoch=epoch)  # fmt: skip
    assert client.request(INIT, 3, stale).error_code == E.INVALID_PRODUCER_EPOCH
    assert client.request(INIT, 4, stale).error_code == E.PRODUCER_FENCED


def test_batched_verify_only_add_partitions(client: RawClient) -> None:
    client.create_topic("raw-batched")
    pid, epoch = init(client, "raw-batched")
    add(client, "raw-batched", pid, epoch, "raw-batched", 0)

    def txn(txn_id: str, producer_id: int, verify_only: bool) -> AddPartitionsToTxnTransaction:
        return AddPartitionsToTxnTransaction(
            transactional_id=txn_id, producer_id=producer_id, producer_epoch=epoch, verify_only=verify_only,
            topics=[AddPartitionsToTxnTopic(name="raw-batched", partitions=[0])],
        )  # fmt: skip

    body = AddPartitionsToTxnRequest(transactions=[txn("raw-batched", pid, True), txn("raw-batched-none", 1, True)])
    r = client.request(ADD, 4, body)
    assert [(t.transactional_id, t.topic_results[0].results_by_partition[0].partition_error_code)
            for t in r.results_by_transaction] == [("raw-batched", E.NONE),
                                                   ("raw-batched-none", E.INVALID_PRODUCER_ID_MAPPING)]  # fmt: skip
    end = EndTxnRequest(transactional_id="raw-batched", producer_id=pid, producer_epoch=epoch, committed=False)
    assert client.request(END, 3, end).error_code == E.NONE
    r = client.request(ADD, 5, AddPartitionsToTxnRequest(transactions=[txn("raw-batched", pid, True)]))
    assert r.results_by_transaction[0].topic_results[0].results_by_partition[0].partition_error_code in (
        E.INVALID_TXN_STATE,  # the transaction ended: its partitions are no longer verified
    )


def test_describe_and_list_transactions(broker: BrokerProcess, client: RawClient) -> None:
    client.create_topic("raw-admin")
    pid, epoch = init(client, "raw-admin-open")
    add(client, "raw-admin-open", pid, epoch, "raw-admin", 0)
    other, _ = init(client, "raw-admin-empty")
    found = describe(broker, "raw-admin-open")
    assert (found.error_code, found.transaction_state, found.producer_id) == (E.NONE, "Ongoing", pid)
    assert [(t.topic, t.partitions) for t in found.topics] == [("raw-admin", [0])]
    assert found.transaction_timeout_ms == 60000 and found.transaction_start_time_ms > 0
    assert describe(broker, "raw-admin-nobody").error_code == E.TRANSACTIONAL_ID_NOT_FOUND

    def listed(states: list[str] | None = None, pids: list[int] | None = None) -> tuple[list[str], list[str]]:
        r = client.request(LIST, 1, ListTransactionsRequest(state_filters=states or [], producer_id_filters=pids or []))
        assert r.error_code == E.NONE
        return [t.transactional_id for t in r.transaction_states if t.transactional_id.startswith("raw-admin")], list(
            r.unknown_state_filters
        )

    assert listed(states=["Ongoing"]) == (["raw-admin-open"], [])
    assert listed(pids=[other]) == (["raw-admin-empty"], [])
    assert listed(states=["Empty", "Bogus"]) == (["raw-admin-empty"], ["Bogus"])
    assert listed()[0] == ["raw-admin-empty", "raw-admin-open"]


def test_write_txn_markers_from_another_coordinator(broker: BrokerProcess, client: RawClient) -> None:
    client.create_topic("raw-markers")
    pid, epoch = init(client, "raw-markers")
    add(client, "raw-markers", pid, epoch, "raw-markers", 0)
    assert txn_produce(client, "raw-markers", "raw-markers", pid, epoch) == E.NONE
    body = WriteTxnMarkersRequest(markers=[WritableTxnMarker(
        producer_id=pid, producer_epoch=epoch, transaction_result=True, coordinator_epoch=0,
        topics=[WritableTxnMarkerTopic(name="raw-markers", partition_indexes=[0]),
                WritableTxnMarkerTopic(name="raw-markers-nowhere", partition_indexes=[0])],
    )])  # fmt: skip
    r = client.request(MARKERS, 1, body)
    codes = {t.name: t.partitions[0].error_code for t in r.markers[0].topics}
    assert codes == {"raw-markers": E.NONE, "raw-markers-nowhere": E.UNKNOWN_TOPIC_OR_PARTITION}
    assert client.latest_offset("raw-markers") == 2  # the record at 0, the COMMIT marker at 1
    stale = WriteTxnMarkersRequest(markers=[WritableTxnMarker(
        producer_id=pid, producer_epoch=epoch - 1 if epoch else 0, transaction_result=False, coordinator_epoch=0,
        topics=[WritableTxnMarkerTopic(name="raw-markers", partition_indexes=[0])],
    )])  # fmt: skip
    if epoch:
        assert (
            client.request(MARKERS, 0, stale).markers[0].topics[0].partitions[0].error_code == E.INVALID_PRODUCER_EPOCH
        )


def test_api_versions_advertise_the_transaction_apis(client: RawClient) -> None:
    r = client.request(VERSIONS, 3, ApiVersionsRequest(client_software_name="raw", client_software_version="1"))
    ranges = {k.api_key: (k.min_version, k.max_version) for k in r.api_keys}
    assert ranges[INIT] == (0, 5) and ranges[ADD] == (0, 5) and ranges[END] == (0, 5)  # v5: unstable, enabled
    assert ranges[25] == (0, 4) and ranges[28] == (0, 4) and ranges[MARKERS] == (0, 1)
    assert ranges[65] == (0, 0) and ranges[LIST] == (0, 1)


def test_offsets_of_a_group_never_added_to_the_transaction_are_refused(client: RawClient) -> None:
    client.create_topic("raw-offsets")
    pid, epoch = init(client, "raw-offsets")
    body = TxnOffsetCommitRequest(
        transactional_id="raw-offsets", group_id="raw-offsets-group", producer_id=pid, producer_epoch=epoch,
        topics=[TxnOffsetCommitRequestTopic(name="raw-offsets", partitions=[
            TxnOffsetCommitRequestPartition(partition_index=0, committed_offset=1)])],
    )  # fmt: skip
    assert client.request(28, 3, body).topics[0].partitions[0].error_code == E.INVALID_TXN_STATE
    assert client.request(28, 4, body).topics[0].partitions[0].error_code == E.TRANSACTION_ABORTABLE
    add_offsets = AddOffsetsToTxnRequest(
        transactional_id="raw-offsets", producer_id=pid, producer_epoch=epoch, group_id="raw-offsets-group"
    )
    assert client.request(25, 3, add_offsets).error_code == E.NONE
    assert client.request(28, 3, body).topics[0].partitions[0].error_code == E.NONE

    def fetched(require_stable: bool) -> tuple[int, int]:
        request = OffsetFetchRequest(
            group_id="raw-offsets-group",
            topics=[OffsetFetchRequestTopic(name="raw-offsets", partition_indexes=[0])],
            require_stable=require_stable,
        )
        p = client.request(9, 7, request).topics[0].partitions[0]
        return int(p.committed_offset), int(p.error_code)

    assert fetched(require_stable=True) == (-1, E.UNSTABLE_OFFSET_COMMIT)  # pending in the transaction
    assert fetched(require_stable=False) == (-1, E.NONE)
    end = EndTxnRequest(transactional_id="raw-offsets", producer_id=pid, producer_epoch=epoch, committed=True)
    assert client.request(END, 3, end).error_code == E.NONE
    deadline = time.monotonic() + 10
    while fetched(require_stable=True) != (1, E.NONE) and time.monotonic() < deadline:
        time.sleep(0.05)  # the COMMIT marker is written after EndTxn is answered
    assert fetched(require_stable=True) == (1, E.NONE)


def _end_v5(client: RawClient, txn_id: str, pid: int, epoch: int, commit: bool) -> tuple[int, int, int]:
    """EndTxn v5, retried while the previous end's markers are in flight: (error, producer id, epoch)."""
    end = EndTxnRequest(transactional_id=txn_id, producer_id=pid, producer_epoch=epoch, committed=commit)
    deadline = time.monotonic() + 10
    while True:
        r = client.request(END, 5, end)
        if r.error_code != E.CONCURRENT_TRANSACTIONS or time.monotonic() > deadline:
            return int(r.error_code), int(r.producer_id), int(r.producer_epoch)
        time.sleep(0.02)


def test_end_txn_v5_bumps_the_epoch_at_every_end(broker: BrokerProcess, client: RawClient) -> None:
    """KIP-890 part 2: the answer carries the next epoch, the markers are written at it, a retry of
    the end is answered with the current one, the old epoch is fenced, and read_committed consumers
    see exactly the committed transaction."""
    client.create_topic("raw-v5")
    pid, epoch = init(client, "raw-v5")
    assert add(client, "raw-v5", pid, epoch, "raw-v5", 0) == [("raw-v5", 0, E.NONE)]
    assert txn_produce(client, "raw-v5", "raw-v5", pid, epoch) == E.NONE
    assert _end_v5(client, "raw-v5", pid, epoch, commit=True) == (E.NONE, pid, epoch + 1)
    assert _end_v5(client, "raw-v5", pid, epoch, commit=True) == (E.NONE, pid, epoch + 1)  # a retry
    assert _end_v5(client, "raw-v5", pid, epoch, commit=False) == (E.INVALID_TXN_STATE, -1, -1)
    assert add(client, "raw-v5", pid, epoch, "raw-v5", 0) == [("raw-v5", 0, E.PRODUCER_FENCED)]
    # The next transaction goes on at the new epoch (sequences from 0), and is aborted.
    assert add(client, "raw-v5", pid, epoch + 1, "raw-v5", 0) == [("raw-v5", 0, E.NONE)]
    assert txn_produce(client, "raw-v5", "raw-v5", pid, epoch + 1) == E.NONE
    assert _end_v5(client, "raw-v5", pid, epoch + 1, commit=False) == (E.NONE, pid, epoch + 2)
    wait_for_state(broker, "raw-v5", "CompleteAbort")  # until then the new epoch may only retry (Kafka's rule)
    # An abort with no transaction open bumps the epoch as well; a commit of nothing is refused.
    assert _end_v5(client, "raw-v5", pid, epoch + 2, commit=True) == (E.INVALID_TXN_STATE, -1, -1)
    assert _end_v5(client, "raw-v5", pid, epoch + 2, commit=False) == (E.NONE, pid, epoch + 3)
    state = wait_for_state(broker, "raw-v5", "CompleteAbort")
    assert (state.producer_id, state.producer_epoch) == (pid, epoch + 3)

    part = client.fetch("raw-v5", 0, isolation_level=1).responses[0].partitions[0]
    data = bytes(part.records or b"")
    headers, pos = [], 0
    while pos < len(data):
        header = read_header(data, pos)
        headers.append((header.base_offset, header.is_control, header.producer_epoch))
        pos += header.size
    # record, COMMIT marker (at the bumped epoch), record of the aborted transaction, ABORT marker
    assert headers == [(0, False, epoch), (1, True, epoch + 1), (2, False, epoch + 1), (3, True, epoch + 2)]
    assert part.last_stable_offset == 4
    assert [(a.producer_id, a.first_offset) for a in part.aborted_transactions or []] == [(pid, 2)]
