"""An authorization matrix over the APIs, on raw sockets: User:ANONYMOUS (PLAINTEXT, not a super user)
meets Kafka's denial code in every API while it has no ACL, nothing but successes once allowed
everything, and exactly what one READ ACL implies in between (READ implies DESCRIBE, not WRITE), with
real authorized-operations bitmasks. The admin is a SASL super user."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from confluent_kafka.admin._acl import AclBinding, AclBindingFilter, AclOperation, AclPermissionType
from confluent_kafka.admin._resource import ResourcePatternType, ResourceType
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.security.acl import AccessControlEntry, PatternType, ResourcePattern
from broker.security.acl import AclBinding as OurBinding
from broker.security.acl import AclOperation as Op
from broker.security.acl import AclPermissionType as AclPermissionTypeOurs
from broker.security.acl import ResourceType as OurType
from protocol.errors import ErrorCode as E
from protocol.messages.add_offsets_to_txn import AddOffsetsToTxnRequest
from protocol.messages.alter_partition import AlterPartitionRequest
from protocol.messages.controlled_shutdown import ControlledShutdownRequest
from protocol.messages.create_partitions import CreatePartitionsRequest, CreatePartitionsTopic
from protocol.messages.create_topics import CreatableTopic, CreateTopicsRequest
from protocol.messages.delete_groups import DeleteGroupsRequest
from protocol.messages.delete_records import DeleteRecordsPartition, DeleteRecordsRequest, DeleteRecordsTopic
from protocol.messages.delete_topics import DeleteTopicsRequest
from protocol.messages.describe_acls import DescribeAclsRequest
from protocol.messages.describe_configs import DescribeConfigsRequest, DescribeConfigsResource
from protocol.messages.describe_groups import DescribeGroupsRequest
from protocol.messages.describe_log_dirs import DescribeLogDirsRequest
from protocol.messages.end_txn import EndTxnRequest
from protocol.messages.find_coordinator import FindCoordinatorRequest
from protocol.messages.heartbeat import HeartbeatRequest
from protocol.messages.init_producer_id import InitProducerIdRequest
from protocol.messages.join_group import JoinGroupRequest, JoinGroupRequestProtocol
from protocol.messages.leave_group import LeaveGroupRequest, MemberIdentity
from protocol.messages.list_offsets import ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic
from protocol.messages.metadata import MetadataRequest, MetadataRequestTopic
from protocol.messages.offset_commit import OffsetCommitRequest, OffsetCommitRequestPartition, OffsetCommitRequestTopic
from protocol.messages.offset_fetch import OffsetFetchRequest, OffsetFetchRequestTopic
from protocol.messages.sync_group import SyncGroupRequest
from protocol.messages.txn_offset_commit import (
    TxnOffsetCommitRequest,
    TxnOffsetCommitRequestPartition,
    TxnOffsetCommitRequestTopic,
)
from protocol.messages.update_metadata import UpdateMetadataRequest
from tests.broker.test_acl_authorizer import reference
from tests.raw_client import RawClient, batch
from tests.security_broker import SecuredBroker

JAAS = (
    "org.apache.kafka.common.security.plain.PlainLoginModule required "
    'username="admin" password="admin-secret" user_admin="admin-secret";'
)
TOPIC, GROUP, TXN = "m", "mg", "mtx"
TOPIC_OPS = sum(1 << op for op in (3, 4, 5, 6, 7, 8, 10, 11))
GROUP_OPS = (1 << 3) | (1 << 6) | (1 << 8)
ANY = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,  # type: ignore[arg-type]
                       AclOperation.ANY, AclPermissionType.ANY)  # fmt: skip


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
    with SecuredBroker(tmp_path_factory.mktemp("matrix"), listeners, settings) as process:
        admin = admin_of(process)
        for future in admin.create_topics([NewTopic(TOPIC, 1, 1)]).values():
            future.result(timeout=30)
        yield process
        assert "Traceback" not in process.output


def admin_of(broker: SecuredBroker) -> AdminClient:
    return AdminClient({
        "bootstrap.servers": broker.bootstrap_of("SASL_PLAINTEXT"), "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "PLAIN", "sasl.username": "admin", "sasl.password": "admin-secret",
    })  # fmt: skip


def set_acls(broker: SecuredBroker, *bindings: AclBinding) -> None:
    admin = admin_of(broker)
    admin.delete_acls([ANY])[ANY].result(timeout=30)
    if bindings:
        for future in admin.create_acls(list(bindings)).values():
            future.result(timeout=30)


def anonymous(rtype: ResourceType, name: str, op: AclOperation) -> AclBinding:
    return AclBinding(rtype, name, ResourcePatternType.LITERAL, "User:ANONYMOUS", "*", op, AclPermissionType.ALLOW)


# API -> (what it answers, as an error code) for ANONYMOUS; each case sends one real request.
def _cases(c: RawClient) -> dict[str, Callable[[], int]]:
    return {
        "Produce": lambda: c.produce(TOPIC, batch(b"v")).responses[0].partition_responses[0].error_code,
        "Fetch": lambda: c.fetch(TOPIC, 0).responses[0].partitions[0].error_code,
        "ListOffsets": lambda: (
            c.request(
                2,
                5,
                ListOffsetsRequest(
                    replica_id=-1,
                    topics=[
                        ListOffsetsTopic(name=TOPIC, partitions=[ListOffsetsPartition(partition_index=0, timestamp=-1)])
                    ],
                ),
            )
            .topics[0]
            .partitions[0]
            .error_code
        ),
        "Metadata": lambda: (
            c.request(3, 9, MetadataRequest(topics=[MetadataRequestTopic(name=TOPIC)])).topics[0].error_code
        ),
        "FindCoordinator": lambda: c.request(10, 3, FindCoordinatorRequest(key=GROUP, key_type=0)).error_code,
        "JoinGroup": lambda: (
            c.request(
                11,
                5,
                JoinGroupRequest(
                    group_id=GROUP,
                    session_timeout_ms=10000,
                    rebalance_timeout_ms=10000,
                    member_id="",
                    protocol_type="consumer",
                    protocols=[JoinGroupRequestProtocol(name="range", metadata=b"")],
                ),
            ).error_code
        ),
        "DescribeGroups": lambda: c.request(15, 3, DescribeGroupsRequest(groups=[GROUP])).groups[0].error_code,
        "InitProducerId(txn)": lambda: (
            c.request(22, 2, InitProducerIdRequest(transactional_id=TXN, transaction_timeout_ms=10000)).error_code
        ),
        "InitProducerId(idempotent)": lambda: c.request(22, 2, InitProducerIdRequest(transactional_id=None)).error_code,
        "CreateTopics": lambda: (
            c.request(
                19,
                4,
                CreateTopicsRequest(
                    timeout_ms=10000,
                    topics=[CreatableTopic(name="made-by-anonymous", num_partitions=1, replication_factor=1)],
                    validate_only=True,
                ),
            )
            .topics[0]
            .error_code
        ),
        "DescribeLogDirs": lambda: c.request(35, 4, DescribeLogDirsRequest(topics=None)).error_code,
        "DescribeAcls": lambda: (
            c.request(
                29,
                1,
                DescribeAclsRequest(
                    resource_type_filter=1,
                    pattern_type_filter=1,
                    resource_name_filter=None,
                    principal_filter=None,
                    host_filter=None,
                    operation=1,
                    permission_type=1,
                ),
            ).error_code
        ),
        "UpdateMetadata": lambda: c.request(6, 6, UpdateMetadataRequest()).error_code,
        "AlterPartition": lambda: c.request(56, 0, AlterPartitionRequest(broker_id=1)).error_code,
        "ControlledShutdown": lambda: c.request(7, 3, ControlledShutdownRequest(broker_id=1)).error_code,
        "DeleteGroups": lambda: c.request(42, 2, DeleteGroupsRequest(groups_names=[GROUP])).results[0].error_code,
        "Heartbeat": lambda: (
            c.request(12, 3, HeartbeatRequest(group_id=GROUP, generation_id=1, member_id="x")).error_code
        ),
        "SyncGroup": lambda: (
            c.request(14, 3, SyncGroupRequest(group_id=GROUP, generation_id=1, member_id="x")).error_code
        ),
        "LeaveGroup": lambda: (
            c.request(13, 3, LeaveGroupRequest(group_id=GROUP, members=[MemberIdentity(member_id="x")])).error_code
        ),
        "OffsetCommit": lambda: (
            c.request(
                8,
                8,
                OffsetCommitRequest(
                    group_id=GROUP,
                    topics=[
                        OffsetCommitRequestTopic(
                            name=TOPIC, partitions=[OffsetCommitRequestPartition(partition_index=0, committed_offset=0)]
                        )
                    ],
                ),
            )
            .topics[0]
            .partitions[0]
            .error_code
        ),
        "OffsetFetch": lambda: _offset_fetch_error(
            c.request(
                9,
                7,
                OffsetFetchRequest(group_id=GROUP, topics=[OffsetFetchRequestTopic(name=TOPIC, partition_indexes=[0])]),
            )
        ),
        "EndTxn": lambda: (
            c.request(26, 2, EndTxnRequest(transactional_id=TXN, producer_id=1, producer_epoch=0)).error_code
        ),
        "AddOffsetsToTxn": lambda: (
            c.request(
                25, 2, AddOffsetsToTxnRequest(transactional_id=TXN, producer_id=1, producer_epoch=0, group_id=GROUP)
            ).error_code
        ),
        "TxnOffsetCommit": lambda: (
            c.request(
                28,
                2,
                TxnOffsetCommitRequest(
                    transactional_id=TXN,
                    group_id=GROUP,
                    producer_id=1,
                    producer_epoch=0,
                    topics=[
                        TxnOffsetCommitRequestTopic(
                            name=TOPIC,
                            partitions=[TxnOffsetCommitRequestPartition(partition_index=0, committed_offset=0)],
                        )
                    ],
                ),
            )
            .topics[0]
            .partitions[0]
            .error_code
        ),
        "DeleteTopics": lambda: (
            c.request(20, 4, DeleteTopicsRequest(topic_names=["gone"], timeout_ms=5000)).responses[0].error_code
        ),
        "DescribeConfigs": lambda: (
            c.request(
                32,
                1,
                DescribeConfigsRequest(
                    resources=[DescribeConfigsResource(resource_type=2, resource_name=TOPIC, configuration_keys=None)]
                ),
            )
            .results[0]
            .error_code
        ),
        "CreatePartitions": lambda: (
            c.request(
                37,
                1,
                CreatePartitionsRequest(
                    topics=[CreatePartitionsTopic(name=TOPIC, count=1, assignments=None)],
                    timeout_ms=5000,
                    validate_only=True,
                ),
            )
            .results[0]
            .error_code
        ),
        "DeleteRecords": lambda: (
            c.request(
                21,
                1,
                DeleteRecordsRequest(
                    topics=[
                        DeleteRecordsTopic(name=TOPIC, partitions=[DeleteRecordsPartition(partition_index=0, offset=0)])
                    ],
                    timeout_ms=5000,
                ),
            )
            .topics[0]
            .partitions[0]
            .error_code
        ),
    }


def _offset_fetch_error(response: Any) -> int:
    """OffsetFetch v2-7: a group's error at the top, a topic's in its partitions."""
    return int(response.error_code or response.topics[0].partitions[0].error_code)


DENIED = {
    "Produce": E.TOPIC_AUTHORIZATION_FAILED,
    "Fetch": E.TOPIC_AUTHORIZATION_FAILED,
    "ListOffsets": E.TOPIC_AUTHORIZATION_FAILED,
    "Metadata": E.TOPIC_AUTHORIZATION_FAILED,
    "FindCoordinator": E.GROUP_AUTHORIZATION_FAILED,
    "JoinGroup": E.GROUP_AUTHORIZATION_FAILED,
    "DescribeGroups": E.GROUP_AUTHORIZATION_FAILED,
    "InitProducerId(txn)": E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    "InitProducerId(idempotent)": E.CLUSTER_AUTHORIZATION_FAILED,
    "CreateTopics": E.TOPIC_AUTHORIZATION_FAILED,
    "DescribeLogDirs": E.CLUSTER_AUTHORIZATION_FAILED,
    "DescribeAcls": E.CLUSTER_AUTHORIZATION_FAILED,
    "UpdateMetadata": E.CLUSTER_AUTHORIZATION_FAILED,
    "AlterPartition": E.CLUSTER_AUTHORIZATION_FAILED,
    "ControlledShutdown": E.CLUSTER_AUTHORIZATION_FAILED,
    "DeleteGroups": E.GROUP_AUTHORIZATION_FAILED,
    "Heartbeat": E.GROUP_AUTHORIZATION_FAILED,
    "SyncGroup": E.GROUP_AUTHORIZATION_FAILED,
    "LeaveGroup": E.GROUP_AUTHORIZATION_FAILED,
    "OffsetCommit": E.GROUP_AUTHORIZATION_FAILED,
    "OffsetFetch": E.GROUP_AUTHORIZATION_FAILED,
    "EndTxn": E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    "AddOffsetsToTxn": E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    "TxnOffsetCommit": E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    "DeleteTopics": E.TOPIC_AUTHORIZATION_FAILED,
    "DescribeConfigs": E.TOPIC_AUTHORIZATION_FAILED,
    "CreatePartitions": E.TOPIC_AUTHORIZATION_FAILED,
    "DeleteRecords": E.TOPIC_AUTHORIZATION_FAILED,
}
AUTHORIZATION_ERRORS = set(DENIED.values())


def answers(broker: SecuredBroker) -> dict[str, int]:
    client = RawClient(broker)
    try:
        return {name: int(case()) for name, case in _cases(client).items()}
    finally:
        client.close()


def metadata_view(broker: SecuredBroker) -> Any:
    client = RawClient(broker)
    try:
        return client.request(3, 9, MetadataRequest(topics=None, include_topic_authorized_operations=True))
    finally:
        client.close()


def test_no_acl_denies_every_api_with_kafkas_code(broker: SecuredBroker) -> None:
    set_acls(broker)
    assert answers(broker) == DENIED
    assert [t.name for t in metadata_view(broker).topics] == []  # every topic hidden
    client = RawClient(broker)
    try:  # nothing to delete once the denied groups are answered: the answer still comes
        assert client.request(42, 2, DeleteGroupsRequest(groups_names=[])).results == []
    finally:
        client.close()


def test_all_allowed_no_denial_anywhere(broker: SecuredBroker) -> None:
    set_acls(
        broker,
        anonymous(ResourceType.TOPIC, "*", AclOperation.ALL),
        anonymous(ResourceType.GROUP, "*", AclOperation.ALL),
        anonymous(ResourceType.TRANSACTIONAL_ID, "*", AclOperation.ALL),
        anonymous(ResourceType.BROKER, "kafka-cluster", AclOperation.ALL),
    )
    got = answers(broker)
    assert not {name: code for name, code in got.items() if code in AUTHORIZATION_ERRORS}, got
    (topic,) = [t for t in metadata_view(broker).topics if t.name == TOPIC]
    assert topic.topic_authorized_operations == TOPIC_OPS
    client = RawClient(broker)
    try:
        group = client.request(15, 3, DescribeGroupsRequest(groups=[GROUP], include_authorized_operations=True))
        assert group.groups[0].authorized_operations == GROUP_OPS
    finally:
        client.close()


def test_read_implies_describe_and_nothing_else(broker: SecuredBroker) -> None:
    set_acls(broker, anonymous(ResourceType.TOPIC, TOPIC, AclOperation.READ))
    got = answers(broker)
    assert got["Produce"] == E.TOPIC_AUTHORIZATION_FAILED
    assert got["Fetch"] == E.NONE
    assert got["ListOffsets"] == E.NONE and got["Metadata"] == E.NONE
    assert got["FindCoordinator"] == E.GROUP_AUTHORIZATION_FAILED
    (topic,) = metadata_view(broker).topics
    assert topic.topic_authorized_operations == (1 << 3) | (1 << 8)  # READ, and the DESCRIBE it implies


def test_auto_creation_through_metadata_needs_create(broker: SecuredBroker) -> None:
    described = AclBinding(ResourceType.TOPIC, "auto-", ResourcePatternType.PREFIXED, "User:ANONYMOUS", "*",
                           AclOperation.DESCRIBE, AclPermissionType.ALLOW)  # fmt: skip
    set_acls(broker, described)

    def auto_create(name: str) -> int:
        client = RawClient(broker)
        try:
            request = MetadataRequest(topics=[MetadataRequestTopic(name=name)], allow_auto_topic_creation=True)
            return int(client.request(3, 9, request).topics[0].error_code)
        finally:
            client.close()

    assert auto_create("auto-one") == E.TOPIC_AUTHORIZATION_FAILED
    create = AclBinding(ResourceType.TOPIC, "auto-", ResourcePatternType.PREFIXED, "User:ANONYMOUS", "*",
                        AclOperation.CREATE, AclPermissionType.ALLOW)  # fmt: skip
    set_acls(broker, described, create)
    assert auto_create("auto-one") in (E.NONE, E.LEADER_NOT_AVAILABLE)
    assert auto_create("other") == E.TOPIC_AUTHORIZATION_FAILED  # not even described


def test_an_idempotent_producer_starts_with_write_on_some_topic(broker: SecuredBroker) -> None:
    set_acls(broker, anonymous(ResourceType.TOPIC, TOPIC, AclOperation.READ))
    assert answers(broker)["InitProducerId(idempotent)"] == E.CLUSTER_AUTHORIZATION_FAILED
    set_acls(broker, anonymous(ResourceType.TOPIC, TOPIC, AclOperation.WRITE))  # KIP-679
    assert answers(broker)["InitProducerId(idempotent)"] == E.NONE
    set_acls(broker, anonymous(ResourceType.BROKER, "kafka-cluster", AclOperation.IDEMPOTENT_WRITE))
    assert answers(broker)["InitProducerId(idempotent)"] == E.NONE


# -- property: random ACLs, every API's answer against the reference model -------------------------
_CONFLUENT_TYPES = {
    OurType.TOPIC: ResourceType.TOPIC, OurType.GROUP: ResourceType.GROUP,
    OurType.TRANSACTIONAL_ID: ResourceType.TRANSACTIONAL_ID, OurType.CLUSTER: ResourceType.BROKER,
}  # fmt: skip
_RESOURCES = [(OurType.TOPIC, TOPIC), (OurType.TOPIC, "*"), (OurType.TOPIC, "ma"), (OurType.GROUP, GROUP),
              (OurType.GROUP, "m"), (OurType.TRANSACTIONAL_ID, TXN), (OurType.CLUSTER, "kafka-cluster")]  # fmt: skip
_OPS = [Op.ALL, Op.READ, Op.WRITE, Op.DESCRIBE, Op.DELETE, Op.CREATE, Op.ALTER, Op.CLUSTER_ACTION,
        Op.IDEMPOTENT_WRITE, Op.DESCRIBE_CONFIGS, Op.ALTER_CONFIGS]  # fmt: skip

# What each case needs, in the order the broker checks, as the reference model is asked it: per step the
# alternatives (any one suffices) and the error when none does. Expected: the first failing step's error.
Need = list[tuple[Op, OurType, str]]
CLUSTER = "kafka-cluster"
_T: Need = [(Op.WRITE, OurType.TRANSACTIONAL_ID, TXN)]
_STEPS: dict[str, list[tuple[Need, E]]] = {
    "Produce": [([(Op.WRITE, OurType.TOPIC, TOPIC)], E.TOPIC_AUTHORIZATION_FAILED)],
    "Fetch": [([(Op.READ, OurType.TOPIC, TOPIC)], E.TOPIC_AUTHORIZATION_FAILED)],
    "ListOffsets": [([(Op.DESCRIBE, OurType.TOPIC, TOPIC)], E.TOPIC_AUTHORIZATION_FAILED)],
    "Metadata": [([(Op.DESCRIBE, OurType.TOPIC, TOPIC)], E.TOPIC_AUTHORIZATION_FAILED)],
    "FindCoordinator": [([(Op.DESCRIBE, OurType.GROUP, GROUP)], E.GROUP_AUTHORIZATION_FAILED)],
    "JoinGroup": [([(Op.READ, OurType.GROUP, GROUP)], E.GROUP_AUTHORIZATION_FAILED)],
    "DescribeGroups": [([(Op.DESCRIBE, OurType.GROUP, GROUP)], E.GROUP_AUTHORIZATION_FAILED)],
    "InitProducerId(txn)": [(_T, E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)],
    "CreateTopics": [
        (
            [(Op.CREATE, OurType.CLUSTER, CLUSTER), (Op.CREATE, OurType.TOPIC, "made-by-anonymous")],
            E.TOPIC_AUTHORIZATION_FAILED,
        ),
    ],
    "DescribeLogDirs": [([(Op.DESCRIBE, OurType.CLUSTER, CLUSTER)], E.CLUSTER_AUTHORIZATION_FAILED)],
    "DescribeAcls": [([(Op.DESCRIBE, OurType.CLUSTER, CLUSTER)], E.CLUSTER_AUTHORIZATION_FAILED)],
    "UpdateMetadata": [([(Op.CLUSTER_ACTION, OurType.CLUSTER, CLUSTER)], E.CLUSTER_AUTHORIZATION_FAILED)],
    "AlterPartition": [([(Op.CLUSTER_ACTION, OurType.CLUSTER, CLUSTER)], E.CLUSTER_AUTHORIZATION_FAILED)],
    "ControlledShutdown": [([(Op.CLUSTER_ACTION, OurType.CLUSTER, CLUSTER)], E.CLUSTER_AUTHORIZATION_FAILED)],
    "DeleteGroups": [([(Op.DELETE, OurType.GROUP, GROUP)], E.GROUP_AUTHORIZATION_FAILED)],
    "Heartbeat": [([(Op.READ, OurType.GROUP, GROUP)], E.GROUP_AUTHORIZATION_FAILED)],
    "SyncGroup": [([(Op.READ, OurType.GROUP, GROUP)], E.GROUP_AUTHORIZATION_FAILED)],
    "LeaveGroup": [([(Op.READ, OurType.GROUP, GROUP)], E.GROUP_AUTHORIZATION_FAILED)],
    "OffsetCommit": [
        ([(Op.READ, OurType.GROUP, GROUP)], E.GROUP_AUTHORIZATION_FAILED),
        ([(Op.READ, OurType.TOPIC, TOPIC)], E.TOPIC_AUTHORIZATION_FAILED),
    ],
    "OffsetFetch": [
        ([(Op.DESCRIBE, OurType.GROUP, GROUP)], E.GROUP_AUTHORIZATION_FAILED),
        ([(Op.DESCRIBE, OurType.TOPIC, TOPIC)], E.TOPIC_AUTHORIZATION_FAILED),
    ],
    "EndTxn": [(_T, E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)],
    "AddOffsetsToTxn": [
        (_T, E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED),
        ([(Op.READ, OurType.GROUP, GROUP)], E.GROUP_AUTHORIZATION_FAILED),
    ],
    "TxnOffsetCommit": [
        (_T, E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED),
        ([(Op.READ, OurType.GROUP, GROUP)], E.GROUP_AUTHORIZATION_FAILED),
        ([(Op.READ, OurType.TOPIC, TOPIC)], E.TOPIC_AUTHORIZATION_FAILED),
    ],
    "DeleteTopics": [([(Op.DELETE, OurType.TOPIC, "gone")], E.TOPIC_AUTHORIZATION_FAILED)],
    "DescribeConfigs": [([(Op.DESCRIBE_CONFIGS, OurType.TOPIC, TOPIC)], E.TOPIC_AUTHORIZATION_FAILED)],
    "CreatePartitions": [([(Op.ALTER, OurType.TOPIC, TOPIC)], E.TOPIC_AUTHORIZATION_FAILED)],
    "DeleteRecords": [([(Op.DELETE, OurType.TOPIC, TOPIC)], E.TOPIC_AUTHORIZATION_FAILED)],
}

_bindings = st.builds(
    lambda resource, pattern, who, op, perm: OurBinding(
        ResourcePattern(resource[0], resource[1], pattern), AccessControlEntry(who, "*", op, perm)
    ),
    st.sampled_from(_RESOURCES),
    st.sampled_from([PatternType.LITERAL, PatternType.PREFIXED]),
    st.sampled_from(["User:ANONYMOUS", "User:*", "User:other"]),
    st.sampled_from(_OPS),
    st.sampled_from([AclPermissionTypeOurs.ALLOW, AclPermissionTypeOurs.DENY]),
).filter(lambda b: b.pattern.resource_type != OurType.CLUSTER or b.pattern.pattern_type == PatternType.LITERAL)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(acls=st.lists(_bindings, max_size=4, unique=True))
def test_every_api_answers_as_the_reference_model_decides(broker: SecuredBroker, acls: list[OurBinding]) -> None:
    set_acls(broker, *[
        AclBinding(_CONFLUENT_TYPES[b.pattern.resource_type], b.pattern.name,
                   ResourcePatternType[b.pattern.pattern_type.name], b.entry.principal, b.entry.host,
                   AclOperation[b.entry.operation.name], AclPermissionType[b.entry.permission_type.name])
        for b in acls
    ])  # fmt: skip
    got = answers(broker)
    for api, steps in _STEPS.items():
        expected = next(
            (
                error
                for alternatives, error in steps
                if not any(
                    reference(acls, set(), False, "User:ANONYMOUS", "127.0.0.1", op, rtype, name)
                    for op, rtype, name in alternatives
                )
            ),
            None,
        )
        if expected is None:
            assert got[api] not in AUTHORIZATION_ERRORS, (api, got[api], acls)  # no wrongful denial
        else:
            assert got[api] == expected, (api, got[api], acls)  # no unauthorised success
