"""The ACL admin APIs on a broker without an authorizer answer SECURITY_DISABLED, as Kafka's do, so admin
clients get Kafka's error and message instead of an unsupported API."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._acl import AclBinding, AclBindingFilter, AclOperation, AclPermissionType
from confluent_kafka.admin._resource import ResourcePatternType, ResourceType
from kafka import KafkaAdminClient
from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    ResourcePattern,
    ResourcePatternFilter,
)
from kafka.admin import ResourceType as KpResourceType
from kafka.errors import SecurityDisabledError

from protocol.messages.describe_acls import DescribeAclsRequest
from tests.harness import BrokerProcess
from tests.raw_client import RawClient


def test_confluent_admin_gets_security_disabled(module_broker: BrokerProcess) -> None:
    admin = AdminClient({"bootstrap.servers": module_broker.bootstrap})
    binding = AclBinding(ResourceType.TOPIC, "t", ResourcePatternType.LITERAL, "User:alice", "*",
                         AclOperation.READ, AclPermissionType.ALLOW)  # fmt: skip
    any_filter = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,  # type: ignore[arg-type]
                                  AclOperation.ANY, AclPermissionType.ANY)  # fmt: skip
    # librdkafka does not surface DescribeAcls' top-level error: it shows no bindings (checked raw below).
    assert admin.describe_acls(any_filter).result(timeout=30) == []
    for future in (
        admin.create_acls([binding])[binding],
        admin.delete_acls([any_filter])[any_filter],
    ):
        with pytest.raises(KafkaException) as failure:
            future.result(timeout=30)
        error = failure.value.args[0]
        assert error.name() == "SECURITY_DISABLED"
        assert "No Authorizer is configured on the broker" in error.str()


def test_kafka_python_admin_gets_security_disabled(module_broker: BrokerProcess) -> None:
    admin = KafkaAdminClient(bootstrap_servers=module_broker.bootstrap)
    try:
        patterns = ResourcePatternFilter(KpResourceType.ANY, None, ACLResourcePatternType.ANY)
        acl_filter = ACLFilter(
            principal=None, host="*", operation=ACLOperation.ANY, permission_type=ACLPermissionType.ANY,
            resource_pattern=patterns,
        )  # fmt: skip
        with pytest.raises(SecurityDisabledError):
            admin.describe_acls(acl_filter)
        acl = ACL(
            principal="User:alice", host="*", operation=ACLOperation.READ, permission_type=ACLPermissionType.ALLOW,
            resource_pattern=ResourcePattern(KpResourceType.TOPIC, "t"),
        )  # fmt: skip
        result = admin.create_acls([acl])
        assert result["failed"] == [SecurityDisabledError]
    finally:
        admin.close()


def test_describe_acls_every_version_says_security_disabled(module_broker: BrokerProcess) -> None:
    client = RawClient(module_broker)
    request = DescribeAclsRequest(resource_type_filter=1, pattern_type_filter=1, operation=1, permission_type=1)
    for version in range(4):
        response = client.request(29, version, request)
        assert (response.error_code, response.error_message, response.resources) == (
            54, "No Authorizer is configured on the broker", [],
        )  # fmt: skip
