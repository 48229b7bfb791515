"""Idempotent producers: producer ids that are never reused, and duplicate and out-of-order batches.

The duplicate and sequence tests need the producer state wired into ``storage.log.log.Log`` (its
``append_as_leader`` raising ``OutOfOrderSequence`` / ``InvalidProducerEpoch`` and answering a
duplicate with its original offsets)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import confluent_kafka as ck
import pytest

from protocol.errors import ErrorCode
from protocol.messages.init_producer_id import InitProducerIdRequest, InitProducerIdResponse
from tests.harness import BrokerProcess
from tests.raw_client import RawClient, batch, values_in


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    with BrokerProcess(Path(tmp_path_factory.mktemp("idempotence"))) as process:
        yield process


def init_producer_id(
    client: RawClient, transactional_id: str | None = None, version: int = 4
) -> InitProducerIdResponse:
    body = InitProducerIdRequest(transactional_id=transactional_id, transaction_timeout_ms=60000)
    response: InitProducerIdResponse = client.request(22, version, body)
    return response


def answer(response: Any) -> Any:
    return response.responses[0].partition_responses[0]


def test_producer_ids_are_new_every_time_and_after_a_restart(tmp_path: Path) -> None:
    with BrokerProcess(tmp_path) as process:
        client = RawClient(process)
        first = [init_producer_id(client, version=v) for v in (0, 2, 5)]
        client.close()
        process.restart(clean=False)
        client = RawClient(process)
        after = init_producer_id(client)
        client.close()
    ids = [r.producer_id for r in first]
    assert [(r.error_code, r.producer_epoch) for r in first] == [(0, 0)] * 3
    assert len(set(ids)) == 3
    assert after.error_code == 0
    assert after.producer_id > max(ids)


def test_transactional_ids_get_a_producer_id_and_a_new_epoch_each_time(broker: BrokerProcess) -> None:
    client = RawClient(broker)
    first = init_producer_id(client, "txn-1")
    second = init_producer_id(client, "txn-1")
    empty = init_producer_id(client, "")
    too_long = client.request(
        22, 4, InitProducerIdRequest(transactional_id="txn-2", transaction_timeout_ms=900001)
    )  # over transaction.max.timeout.ms
    client.close()
    assert (first.error_code, first.producer_epoch) == (ErrorCode.NONE, 0)
    assert (second.error_code, second.producer_id, second.producer_epoch) == (ErrorCode.NONE, first.producer_id, 1)
    assert empty.error_code == ErrorCode.INVALID_REQUEST
    assert too_long.error_code == ErrorCode.INVALID_TRANSACTION_TIMEOUT


def test_confluent_idempotent_producer_writes_each_message_once(broker: BrokerProcess) -> None:
    topic = f"idem-{uuid.uuid4().hex[:8]}"
    reports: list[Any] = []
    producer = ck.Producer({"bootstrap.servers": broker.bootstrap, "enable.idempotence": True, "linger.ms": 5})
    for i in range(30):
        producer.produce(topic, value=f"m{i}".encode(), on_delivery=lambda err, msg: reports.append((err, msg)))
    assert producer.flush(15) == 0
    assert [err for err, _ in reports] == [None] * 30
    assert sorted(msg.offset() for _, msg in reports) == list(range(30))
    client = RawClient(broker)
    records = client.fetch(topic, 0).responses[0].partitions[0].records
    assert client.latest_offset(topic) == 30
    client.close()
    assert values_in(records) == [f"m{i}".encode() for i in range(30)]


def test_a_resent_batch_is_answered_with_its_first_offsets_and_written_once(broker: BrokerProcess) -> None:
    client = RawClient(broker)
    topic = f"idem-dup-{uuid.uuid4().hex[:8]}"
    client.create_topic(topic)
    pid = init_producer_id(client).producer_id
    client.produce(topic, batch(b"before"))
    data = batch(b"once", b"twice?", producer_id=pid, producer_epoch=0, base_sequence=0)
    first, again = answer(client.produce(topic, data)), answer(client.produce(topic, data))
    end = client.latest_offset(topic)
    client.close()
    assert (first.error_code, first.base_offset) == (0, 1)
    assert (again.error_code, again.base_offset) == (0, 1)
    assert end == 3


def test_sequence_gaps_and_old_epochs_are_refused(broker: BrokerProcess) -> None:
    client = RawClient(broker)
    topic = f"idem-seq-{uuid.uuid4().hex[:8]}"
    client.create_topic(topic)
    pid = init_producer_id(client).producer_id
    ok = answer(client.produce(topic, batch(b"a", producer_id=pid, producer_epoch=1, base_sequence=0)))
    gap = answer(client.produce(topic, batch(b"b", producer_id=pid, producer_epoch=1, base_sequence=5)))
    old = answer(client.produce(topic, batch(b"c", producer_id=pid, producer_epoch=0, base_sequence=1)))
    client.close()
    assert ok.error_code == 0
    assert gap.error_code == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert old.error_code == ErrorCode.INVALID_PRODUCER_EPOCH
