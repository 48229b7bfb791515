"""Topic administration that must not lose or resurrect data, nor stall or crash the broker.

Real broker processes, real sockets (tests/raw_client.py) and real files: a topic with a 249-character
name is deleted for good, internal topics are not deleted, a damaged ``kafkish-metadata.json`` is
replaced by its previous good copy, and impossible partition counts are refused at once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol.errors import ErrorCode
from protocol.messages.create_partitions import (
    CreatePartitionsRequest,
    CreatePartitionsResponse,
    CreatePartitionsTopic,
)
from protocol.messages.create_topics import CreatableTopic, CreateTopicsRequest, CreateTopicsResponse
from protocol.messages.delete_topics import DeleteTopicsRequest, DeleteTopicsResponse
from protocol.messages.metadata import MetadataRequest, MetadataRequestTopic, MetadataResponse
from tests.harness import BrokerProcess
from tests.raw_client import RawClient, batch

CREATE_TOPICS, DELETE_TOPICS, CREATE_PARTITIONS, METADATA = 19, 20, 37, 3
INT32_MAX = 2**31 - 1


def create_topics(client: RawClient, *topics: CreatableTopic, validate_only: bool = False) -> CreateTopicsResponse:
    response: CreateTopicsResponse = client.request(
        CREATE_TOPICS, 7, CreateTopicsRequest(topics=list(topics), timeout_ms=10000, validate_only=validate_only)
    )
    return response


def create_topic(client: RawClient, name: str, partitions: int = 1) -> None:
    (result,) = create_topics(client, CreatableTopic(name=name, num_partitions=partitions, replication_factor=1)).topics
    assert result.error_code == ErrorCode.NONE, result.error_message


def delete_topic(client: RawClient, name: str) -> tuple[int, str | None]:
    response: DeleteTopicsResponse = client.request(
        DELETE_TOPICS, 5, DeleteTopicsRequest(topic_names=[name], timeout_ms=10000)
    )
    (result,) = response.responses
    return result.error_code, result.error_message


def topic_names(client: RawClient) -> set[str]:
    response: MetadataResponse = client.request(METADATA, 12, MetadataRequest(topics=None))
    return {t.name for t in response.topics if t.name is not None}


def test_a_deleted_topic_with_a_249_character_name_does_not_come_back(tmp_path: Path) -> None:
    name = "t" * 249
    with BrokerProcess(tmp_path) as broker:
        client = RawClient(broker)
        create_topic(client, name, partitions=2)
        assert client.produce(name, batch(b"old-1", b"old-2")).responses[0].partition_responses[0].error_code == 0
        assert client.latest_offset(name) == 2

        assert delete_topic(client, name) == (ErrorCode.NONE, None)
        assert name not in topic_names(client), "the same connection still answers"
        assert not [p for p in (tmp_path / "kafka-logs").iterdir() if p.name.startswith(name)], "its dirs are gone"

        create_topic(client, name, partitions=2)
        assert client.latest_offset(name) == 0, "the old records stay deleted"
        fetched = client.fetch(name, 0).responses[0].partitions[0]
        assert (fetched.error_code, fetched.high_watermark) == (ErrorCode.NONE, 0)
        client.close()


@pytest.mark.parametrize("internal", ["__consumer_offsets", "__transaction_state"])
def test_internal_topics_are_not_deleted(tmp_path: Path, internal: str) -> None:
    with BrokerProcess(tmp_path) as broker:
        client = RawClient(broker)
        create_topic(client, internal)
        code, message = delete_topic(client, internal)
        assert code == ErrorCode.INVALID_REQUEST
        assert message == f"Topic {internal} is a kafka internal topic and is not allowed to be marked for deletion."
        assert internal in topic_names(client)
        client.close()


def test_a_damaged_metadata_file_falls_back_to_the_previous_good_copy(tmp_path: Path) -> None:
    broker = BrokerProcess(tmp_path)
    with broker:
        client = RawClient(broker)
        create_topic(client, "kept", partitions=3)
        create_topic(client, "second")
        client.close()
    metadata = tmp_path / "kafka-logs" / "kafkish-metadata.json"
    metadata.write_bytes(metadata.read_bytes()[:40])  # a torn file: not JSON any more

    with broker:  # starts it again
        warnings = [line for line in broker.output.splitlines() if " WARNING " in line]
        assert any("is damaged" in line and "previous good copy" in line for line in warnings), broker.output
        client = RawClient(broker)
        response: MetadataResponse = client.request(
            METADATA, 12, MetadataRequest(topics=[MetadataRequestTopic(name="kept")], allow_auto_topic_creation=False)
        )
        (kept,) = response.topics
        assert (kept.error_code, len(kept.partitions)) == (ErrorCode.NONE, 3)
        client.close()


def test_a_metadata_file_and_copy_both_damaged_stop_the_broker_with_a_message(tmp_path: Path) -> None:
    logs = tmp_path / "kafka-logs"
    logs.mkdir()
    (logs / "kafkish-metadata.json").write_text("{not json")
    (logs / "kafkish-metadata.json.prev").write_text('{"version": 1}')
    broker = BrokerProcess(tmp_path).start()
    assert broker.stop() == 1
    assert "cannot start:" in broker.output and "kafkish-metadata.json is damaged" in broker.output
    assert "Traceback" not in broker.output


def test_impossible_partition_counts_are_refused_at_once(tmp_path: Path) -> None:
    with BrokerProcess(tmp_path) as broker:
        client = RawClient(broker)
        for validate_only in (True, False):
            (result,) = create_topics(
                client,
                CreatableTopic(name="huge", num_partitions=INT32_MAX, replication_factor=1),
                validate_only=validate_only,
            ).topics
            assert (result.error_code, result.error_message) == (
                ErrorCode.POLICY_VIOLATION,
                "Excessively large number of partitions per request.",
            )
        create_topic(client, "small")
        grown: CreatePartitionsResponse = client.request(
            CREATE_PARTITIONS,
            3,
            CreatePartitionsRequest(
                topics=[CreatePartitionsTopic(name="small", count=INT32_MAX, assignments=None)],
                timeout_ms=10000,
                validate_only=True,
            ),
        )
        (grown_result,) = grown.results
        assert grown_result.error_code == ErrorCode.POLICY_VIOLATION
        # The broker still serves, and a sensible topic is still created.
        create_topic(client, "after", partitions=4)
        assert {"small", "after"} <= topic_names(client) and "huge" not in topic_names(client)
        client.close()
