"""What a principal without the cluster permission an admin API needs is told, as Kafka tells it.

User:ANONYMOUS (the PLAINTEXT listener, not a super user, no ACL) asks for cluster-wide admin work:

- the ACL APIs and the partition-reassignment APIs answer CLUSTER_AUTHORIZATION_FAILED with Kafka's
  message, ``Request Request(processor=.., connectionId=.., session=Session(User:..,/host), ...) is not
  authorized.``, which the client libraries show to the user (librdkafka puts it in the error string);
- ElectLeaders names every partition asked for with CLUSTER_AUTHORIZATION_FAILED (v0 has no top-level
  error code, so an empty answer would read as "nothing to elect"); v1+ also carries it at the top.

Each answer here is the one Kafka 2.4.1 gives to the same requests (checked side by side).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from confluent_kafka.admin._acl import AclBinding, AclBindingFilter, AclOperation, AclPermissionType
from confluent_kafka.admin._resource import ResourcePatternType, ResourceType

from protocol.errors import ErrorCode as E
from protocol.messages.alter_client_quotas import (
    AlterClientQuotasRequest,
    AlterClientQuotasRequestEntryData,
    EntityData,
    OpData,
)
from protocol.messages.alter_partition_reassignments import (
    AlterPartitionReassignmentsRequest,
    ReassignablePartition,
    ReassignableTopic,
)
from protocol.messages.create_acls import AclCreation, CreateAclsRequest
from protocol.messages.delete_acls import DeleteAclsFilter, DeleteAclsRequest
from protocol.messages.describe_acls import DescribeAclsRequest
from protocol.messages.describe_client_quotas import DescribeClientQuotasRequest
from protocol.messages.elect_leaders import ElectLeadersRequest, TopicPartitions
from protocol.messages.list_partition_reassignments import ListPartitionReassignmentsRequest
from tests.raw_client import RawClient
from tests.security_broker import SecuredBroker

JAAS = (
    "org.apache.kafka.common.security.plain.PlainLoginModule required "
    'username="admin" password="admin-secret" user_admin="admin-secret";'
)
TOPIC = "denials"
TIMEOUT_S = 30.0
NOT_AUTHORIZED = re.compile(
    r"Request Request\(processor=\d+, connectionId=127\.0\.0\.1:(\d+)-127\.0\.0\.1:(\d+)-\d+, "
    r"session=Session\(User:ANONYMOUS,/127\.0\.0\.1\), listenerName=ListenerName\(PLAINTEXT\), "
    r"securityProtocol=PLAINTEXT, buffer=null\) is not authorized\."
)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredBroker]:
    settings = {
        "authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
        "super.users": "User:admin",
        "sasl.enabled.mechanisms": "PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS,
        "offsets.topic.replication.factor": "1",
    }
    listeners = {"PLAINTEXT": "PLAINTEXT", "SASL_PLAINTEXT": "SASL_PLAINTEXT"}
    with SecuredBroker(tmp_path_factory.mktemp("denials"), listeners, settings) as process:
        admin = AdminClient({
            "bootstrap.servers": process.bootstrap_of("SASL_PLAINTEXT"), "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "PLAIN", "sasl.username": "admin", "sasl.password": "admin-secret",
        })  # fmt: skip
        for future in admin.create_topics([NewTopic(TOPIC, 2, 1)]).values():
            future.result(timeout=TIMEOUT_S)
        yield process
        assert "Traceback" not in process.output


@pytest.fixture
def client(broker: SecuredBroker) -> Iterator[RawClient]:
    raw = RawClient(broker, port=broker.ports["PLAINTEXT"])
    yield raw
    raw.close()


def assert_kafkas_message(message: str | None, client: RawClient, broker: SecuredBroker) -> None:
    assert message is not None
    match = NOT_AUTHORIZED.fullmatch(message)
    assert match is not None, message
    local_port, remote_port = int(match.group(1)), int(match.group(2))
    assert local_port == broker.ports["PLAINTEXT"]  # Kafka's connection id: broker side first, then the client
    assert remote_port == client.sock.getsockname()[1]


def test_acl_apis_denied_with_kafkas_message(broker: SecuredBroker, client: RawClient) -> None:
    everything = DescribeAclsRequest(
        resource_type_filter=1, pattern_type_filter=1, resource_name_filter=None, principal_filter=None,
        host_filter=None, operation=1, permission_type=1,
    )  # fmt: skip
    described = client.request(29, 1, everything)
    assert described.error_code == E.CLUSTER_AUTHORIZATION_FAILED
    assert_kafkas_message(described.error_message, client, broker)

    creation = AclCreation(resource_type=2, resource_name=TOPIC, resource_pattern_type=3, principal="User:x",
                           host="*", operation=3, permission_type=3)  # fmt: skip
    created = client.request(30, 1, CreateAclsRequest(creations=[creation, creation]))
    assert [r.error_code for r in created.results] == [E.CLUSTER_AUTHORIZATION_FAILED] * 2
    for result in created.results:
        assert_kafkas_message(result.error_message, client, broker)

    anything = DeleteAclsFilter(resource_type_filter=1, pattern_type_filter=1, operation=1, permission_type=1)
    deleted = client.request(31, 1, DeleteAclsRequest(filters=[anything]))
    assert [r.error_code for r in deleted.filter_results] == [E.CLUSTER_AUTHORIZATION_FAILED]
    assert_kafkas_message(deleted.filter_results[0].error_message, client, broker)
    assert deleted.filter_results[0].matching_acls == []


def test_librdkafka_shows_kafkas_message(broker: SecuredBroker) -> None:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap_of("PLAINTEXT")})
    binding = AclBinding(ResourceType.TOPIC, TOPIC, ResourcePatternType.LITERAL, "User:x", "*",
                         AclOperation.READ, AclPermissionType.ALLOW)  # fmt: skip
    with pytest.raises(KafkaException) as created:
        admin.create_acls([binding])[binding].result(timeout=TIMEOUT_S)
    assert created.value.args[0].code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED
    assert "User:ANONYMOUS" in created.value.args[0].str() and "is not authorized." in created.value.args[0].str()
    anything = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,  # type: ignore[arg-type]
                                AclOperation.ANY, AclPermissionType.ANY)  # fmt: skip
    with pytest.raises(KafkaException) as deleted:
        admin.delete_acls([anything])[anything].result(timeout=TIMEOUT_S)
    assert deleted.value.args[0].code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED
    assert "is not authorized." in deleted.value.args[0].str()


def test_reassignment_apis_denied_with_kafkas_message(broker: SecuredBroker, client: RawClient) -> None:
    listed = client.request(46, 0, ListPartitionReassignmentsRequest(topics=None))
    assert listed.error_code == E.CLUSTER_AUTHORIZATION_FAILED
    assert_kafkas_message(listed.error_message, client, broker)

    wanted = [ReassignableTopic(name=TOPIC, partitions=[ReassignablePartition(partition_index=0, replicas=[0])])]
    altered = client.request(45, 0, AlterPartitionReassignmentsRequest(topics=wanted))
    assert altered.error_code == E.CLUSTER_AUTHORIZATION_FAILED
    assert_kafkas_message(altered.error_message, client, broker)
    # Kafka answers each partition asked for with the same error
    assert [(t.name, [(p.partition_index, p.error_code) for p in t.partitions]) for t in altered.responses] == [
        (TOPIC, [(0, E.CLUSTER_AUTHORIZATION_FAILED)])
    ]


@pytest.mark.parametrize("version", [0, 1, 2])
def test_elect_leaders_denied_names_each_partition(client: RawClient, version: int) -> None:
    asked = [TopicPartitions(topic=TOPIC, partitions=[0, 1]), TopicPartitions(topic="other", partitions=[3])]
    answer = client.request(43, version, ElectLeadersRequest(topic_partitions=asked))
    if version >= 1:
        assert answer.error_code == E.CLUSTER_AUTHORIZATION_FAILED
    got = sorted(
        (r.topic, p.partition_id, p.error_code, p.error_message)
        for r in answer.replica_election_results
        for p in r.partition_result
    )
    denied = E.CLUSTER_AUTHORIZATION_FAILED
    assert got == sorted([("other", 3, denied, None), (TOPIC, 0, denied, None), (TOPIC, 1, denied, None)])
    if version >= 1:  # "every partition" (null): nothing named, so nothing listed, the refusal at the top
        everything = client.request(43, version, ElectLeadersRequest(topic_partitions=None))
        assert (everything.error_code, everything.replica_election_results) == (denied, [])


def test_client_quota_apis_denied(client: RawClient) -> None:
    described = client.request(48, 1, DescribeClientQuotasRequest())
    assert (described.error_code, described.entries) == (E.CLUSTER_AUTHORIZATION_FAILED, None)
    entry = AlterClientQuotasRequestEntryData(
        entity=[EntityData(entity_type="client-id", entity_name="x")], ops=[OpData(key="producer_byte_rate", value=1)]
    )
    altered = client.request(49, 1, AlterClientQuotasRequest(entries=[entry, entry]))
    assert [e.error_code for e in altered.entries] == [E.CLUSTER_AUTHORIZATION_FAILED] * 2
