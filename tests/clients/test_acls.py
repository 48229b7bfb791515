"""ACLs with real clients on one broker running Kafka's AclAuthorizer: confluent-kafka's AdminClient
creates, describes and deletes them; SASL PLAIN users are denied (TOPIC_AUTHORIZATION_FAILED,
GROUP_AUTHORIZATION_FAILED as librdkafka reports them) and then allowed; super.users, prefixed ACLs,
DENY over ALLOW, Metadata hiding topics, a TLS client known by its certificate's mapped name; and
``allow.everyone.if.no.acl.found=true``, the client libraries' usual test fixture."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
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
from kafka.errors import NoError

from tests.certs import PASSWORD, Pki
from tests.clients.secure_clients import confluent_round_trip
from tests.security_broker import SecuredBroker

JAAS = (
    "org.apache.kafka.common.security.plain.PlainLoginModule required "
    'username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret" '
    'user_bob="bob-secret";'
)
AUTHORIZER = "kafka.security.authorizer.AclAuthorizer"
TIMEOUT_S = 30.0
ANY = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,  # type: ignore[arg-type]
                       AclOperation.ANY, AclPermissionType.ANY)  # fmt: skip


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredBroker]:
    listeners = {"PLAINTEXT": "PLAINTEXT", "SASL_PLAINTEXT": "SASL_PLAINTEXT"}
    settings = {
        "authorizer.class.name": AUTHORIZER,
        "super.users": "User:admin;User:ANONYMOUS",  # PLAINTEXT (the test's admin and inter-broker) is ANONYMOUS
        "sasl.enabled.mechanisms": "PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS,
        "auto.create.topics.enable": "false",
    }
    with SecuredBroker(tmp_path_factory.mktemp("acl-broker"), listeners, settings) as process:
        yield process
        assert "Traceback" not in process.output


def user(broker: SecuredBroker, name: str) -> dict[str, Any]:
    return {
        "bootstrap.servers": broker.bootstrap_of("SASL_PLAINTEXT"),
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "PLAIN",
        "sasl.username": name,
        "sasl.password": f"{name}-secret",
    }


def admin_of(config: dict[str, Any]) -> AdminClient:
    return AdminClient(config)


def make_topics(broker: SecuredBroker, *names: str) -> None:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    for future in admin.create_topics([NewTopic(n, 1, 1) for n in names]).values():
        future.result(timeout=TIMEOUT_S)


def allow(admin: AdminClient, *bindings: AclBinding) -> None:
    for future in admin.create_acls(list(bindings)).values():
        future.result(timeout=TIMEOUT_S)


def acl(
    rtype: ResourceType, name: str, principal: str, op: AclOperation,
    perm: AclPermissionType = AclPermissionType.ALLOW, pattern: ResourcePatternType = ResourcePatternType.LITERAL,
) -> AclBinding:  # fmt: skip
    return AclBinding(rtype, name, pattern, principal, "*", op, perm)


def produce_error(config: dict[str, Any], topic: str) -> Any:
    """The delivery error of one message (None: delivered)."""
    producer = Producer({**config, "message.timeout.ms": 10000})
    delivered: list[Any] = []
    producer.produce(topic, b"v", on_delivery=lambda err, msg: delivered.append(err))
    producer.flush(TIMEOUT_S)
    assert len(delivered) == 1
    return delivered[0]


def consume_error(config: dict[str, Any], topic: str, group: str) -> int:
    """The first error code the consumer reports (0: a message arrived)."""
    consumer = Consumer({**config, "group.id": group, "auto.offset.reset": "earliest"})
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            error = message.error()
            if error is None:
                return 0
            if error.code() != KafkaError._PARTITION_EOF:
                return int(error.code())
    finally:
        consumer.close()
    raise AssertionError("neither a message nor an error")


def test_admin_creates_describes_and_deletes_acls(broker: SecuredBroker) -> None:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    literal = acl(ResourceType.TOPIC, "orders", "User:alice", AclOperation.READ)
    prefixed = acl(ResourceType.TOPIC, "ord", "User:bob", AclOperation.WRITE, pattern=ResourcePatternType.PREFIXED)
    group = acl(ResourceType.GROUP, "g1", "User:alice", AclOperation.READ, AclPermissionType.DENY)
    allow(admin, literal, prefixed, group)
    everything = admin.describe_acls(ANY).result(timeout=TIMEOUT_S)
    assert {literal, prefixed, group} <= set(everything)
    match = AclBindingFilter(ResourceType.TOPIC, "orders", ResourcePatternType.MATCH, None, None,  # type: ignore[arg-type]
                             AclOperation.ANY, AclPermissionType.ANY)  # fmt: skip
    assert set(admin.describe_acls(match).result(timeout=TIMEOUT_S)) == {literal, prefixed}
    only_group = AclBindingFilter(ResourceType.GROUP, None, ResourcePatternType.ANY, None, None,  # type: ignore[arg-type]
                                  AclOperation.ANY, AclPermissionType.ANY)  # fmt: skip
    deleted = admin.delete_acls([only_group])[only_group].result(timeout=TIMEOUT_S)
    assert deleted == [group]
    assert group not in admin.describe_acls(ANY).result(timeout=TIMEOUT_S)
    bad = AclBinding(ResourceType.BROKER, "not-the-cluster", ResourcePatternType.LITERAL, "User:alice", "*",
                     AclOperation.ALTER, AclPermissionType.ALLOW)  # fmt: skip
    with pytest.raises(KafkaException) as failure:
        admin.create_acls([bad])[bad].result(timeout=TIMEOUT_S)
    assert failure.value.args[0].code() == KafkaError.INVALID_REQUEST
    # A user without ALTER on the cluster may not create ACLs.
    mine = acl(ResourceType.TOPIC, "x", "User:bob", AclOperation.READ)
    bob_admin = admin_of(user(broker, "bob"))  # kept: a collected client fails its futures
    with pytest.raises(KafkaException) as failure:
        bob_admin.create_acls([mine])[mine].result(timeout=TIMEOUT_S)
    assert failure.value.args[0].code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED
    admin.delete_acls([ANY])[ANY].result(timeout=TIMEOUT_S)
    assert admin.describe_acls(ANY).result(timeout=TIMEOUT_S) == []


def test_user_denied_then_allowed_to_produce_and_consume(broker: SecuredBroker) -> None:
    topic, group = f"t-{uuid.uuid4().hex[:6]}", f"g-{uuid.uuid4().hex[:6]}"
    make_topics(broker, topic)
    alice = user(broker, "alice")
    error = produce_error(alice, topic)
    assert error is not None and error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    allow(admin, acl(ResourceType.TOPIC, topic, "User:alice", AclOperation.WRITE))
    assert produce_error(alice, topic) is None
    allow(admin, acl(ResourceType.TOPIC, topic, "User:alice", AclOperation.READ))
    assert consume_error(alice, topic, group) == KafkaError.GROUP_AUTHORIZATION_FAILED
    allow(admin, acl(ResourceType.GROUP, group, "User:alice", AclOperation.READ))
    assert consume_error(alice, topic, group) == 0
    # bob has none of these ACLs; the super user admin needs none.
    error = produce_error(user(broker, "bob"), topic)
    assert error is not None and error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    assert confluent_round_trip(user(broker, "admin"), topic, b"as admin") in (b"v", b"as admin")


def test_prefixed_acls_and_deny_over_allow(broker: SecuredBroker) -> None:
    prefix = f"p{uuid.uuid4().hex[:6]}-"
    make_topics(broker, prefix + "a", prefix + "b")
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    allow(
        admin,
        acl(ResourceType.TOPIC, prefix, "User:bob", AclOperation.ALL, pattern=ResourcePatternType.PREFIXED),
        acl(ResourceType.TOPIC, prefix + "b", "User:bob", AclOperation.WRITE, AclPermissionType.DENY),
    )
    bob = user(broker, "bob")
    assert produce_error(bob, prefix + "a") is None
    error = produce_error(bob, prefix + "b")
    assert error is not None and error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_metadata_hides_topics_the_user_may_not_describe(broker: SecuredBroker) -> None:
    seen, hidden = f"seen-{uuid.uuid4().hex[:6]}", f"hidden-{uuid.uuid4().hex[:6]}"
    make_topics(broker, seen, hidden)
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    allow(admin, acl(ResourceType.TOPIC, seen, "User:carol-less", AclOperation.READ))  # no effect on bob
    allow(admin, acl(ResourceType.TOPIC, seen, "User:bob", AclOperation.READ))  # READ implies DESCRIBE
    topics = admin_of(user(broker, "bob")).list_topics(timeout=TIMEOUT_S).topics
    assert seen in topics and hidden not in topics
    assert {seen, hidden} <= set(admin.list_topics(timeout=TIMEOUT_S).topics)


# kafka-python's fixture names Kafka 4's StandardAuthorizer for 4.x brokers, AclAuthorizer before.
@pytest.fixture(scope="module", params=[AUTHORIZER, "org.apache.kafka.metadata.authorizer.StandardAuthorizer"])
def open_broker(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[SecuredBroker]:
    """The client libraries' usual fixture: a plaintext broker, the authorizer on, allow when no ACL."""
    settings = {"authorizer.class.name": request.param, "allow.everyone.if.no.acl.found": "true"}
    with SecuredBroker(tmp_path_factory.mktemp("open-broker"), {"PLAINTEXT": "PLAINTEXT"}, settings) as process:
        yield process
        assert "Traceback" not in process.output


def test_allow_everyone_if_no_acl_found(open_broker: SecuredBroker) -> None:
    config: dict[str, Any] = {"bootstrap.servers": open_broker.bootstrap}
    make_topics(open_broker, "open")
    assert confluent_round_trip(config, "open") == b"hello"
    admin = AdminClient(config)
    binding = acl(ResourceType.TOPIC, "open", "User:someone-else", AclOperation.READ)
    allow(admin, binding)  # ACLs on the cluster resource: none, so creating them is allowed
    assert admin.describe_acls(ANY).result(timeout=TIMEOUT_S) == [binding]
    # Now "open" has an ACL, and it is not ANONYMOUS's: the topic is closed to this client.
    assert produce_error(config, "open").code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    assert admin.delete_acls([ANY])[ANY].result(timeout=TIMEOUT_S) == [binding]
    assert produce_error(config, "open") is None


def test_a_tls_client_is_authorized_as_its_mapped_certificate_name(tmp_path_factory: pytest.TempPathFactory) -> None:
    pki = Pki.make(tmp_path_factory.mktemp("acl-pki"))
    settings = {
        "authorizer.class.name": AUTHORIZER,
        "super.users": "User:ANONYMOUS",
        "listener.name.ssl.ssl.keystore.type": "PKCS12",
        "listener.name.ssl.ssl.keystore.location": pki.broker_pkcs12(),
        "listener.name.ssl.ssl.keystore.password": PASSWORD,
        "listener.name.ssl.ssl.truststore.type": "PEM",
        "listener.name.ssl.ssl.truststore.location": pki.path("ca.pem"),
        "listener.name.ssl.ssl.client.auth": "required",
        "listener.name.ssl.ssl.principal.mapping.rules": "RULE:^CN=(.*?),OU=eng,.*$/$1/U",
    }
    listeners = {"PLAINTEXT": "PLAINTEXT", "SSL": "SSL"}
    with SecuredBroker(tmp_path_factory.mktemp("tls-acl"), listeners, settings) as broker:
        make_topics(broker, "tls-topic")
        client = {
            "bootstrap.servers": broker.bootstrap_of("SSL"), "security.protocol": "SSL",
            "ssl.ca.location": pki.path("ca.pem"), "ssl.certificate.location": pki.path("client.crt"),
            "ssl.key.location": pki.path("client.key"),
        }  # fmt: skip
        error = produce_error(client, "tls-topic")
        assert error is not None and error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        allow(admin, acl(ResourceType.TOPIC, "tls-topic", "User:CLIENT", AclOperation.WRITE))  # the mapped name
        assert produce_error(client, "tls-topic") is None


def test_transactional_producer_needs_write_on_its_transactional_id(broker: SecuredBroker) -> None:
    topic, txn = f"tx-{uuid.uuid4().hex[:6]}", f"txn-{uuid.uuid4().hex[:6]}"
    make_topics(broker, topic)
    config = {**user(broker, "alice"), "transactional.id": txn, "transaction.timeout.ms": 10000}
    denied = Producer(config)
    with pytest.raises(KafkaException) as failure:
        denied.init_transactions(TIMEOUT_S)
    assert failure.value.args[0].code() == KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    allow(
        admin,
        acl(ResourceType.TRANSACTIONAL_ID, txn, "User:alice", AclOperation.WRITE),
        acl(ResourceType.TOPIC, topic, "User:alice", AclOperation.WRITE),
    )
    producer = Producer(config)
    producer.init_transactions(TIMEOUT_S)
    producer.begin_transaction()
    producer.produce(topic, b"in a transaction")
    producer.commit_transaction(TIMEOUT_S)


def test_kafka_python_admin_acls_on_the_usual_fixture(open_broker: SecuredBroker) -> None:
    admin = KafkaAdminClient(bootstrap_servers=open_broker.bootstrap)
    try:
        acl_ = ACL(
            principal="User:kp", host="*", operation=ACLOperation.WRITE, permission_type=ACLPermissionType.ALLOW,
            resource_pattern=ResourcePattern(KpResourceType.TOPIC, "kp-", ACLResourcePatternType.PREFIXED),
        )  # fmt: skip
        result = admin.create_acls([acl_])
        assert result["failed"] == [] and len(result["succeeded"]) == 1
        by_principal = ACLFilter(
            principal="User:kp", host="*", operation=ACLOperation.ANY, permission_type=ACLPermissionType.ANY,
            resource_pattern=ResourcePatternFilter(KpResourceType.ANY, None, ACLResourcePatternType.ANY),
        )  # fmt: skip
        found, error = admin.describe_acls(by_principal)
        assert error is NoError
        assert [(a.principal, a.resource_pattern.resource_name) for a in found] == [("User:kp", "kp-")]
        ((_, deleted, _),) = admin.delete_acls([by_principal])
        assert [a.operation for a in deleted] == [ACLOperation.WRITE]
        assert admin.describe_acls(by_principal)[0] == []
    finally:
        admin.close()
