"""What the client libraries' own ACL tests check, on the broker their fixtures run: plaintext and SASL
PLAIN listeners, the ACL authorizer on, ``allow.everyone.if.no.acl.found=true``, no super user.

- confluent-kafka: authorized operations follow the ACLs. With no ACL on a resource everything is
  allowed, so every operation is listed; one ALLOW entry for the principal closes the resource to what
  that entry (and its implications) allows. Not asked for: none.
- kafkajs: createAcls, describeAcls and deleteAcls answer the shapes kafkajs returns, and the ACLs
  decide what SASL users bob (denied) and alice (allowed) may produce.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicCollection, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from confluent_kafka.admin._acl import AclBinding, AclBindingFilter, AclOperation, AclPermissionType
from confluent_kafka.admin._resource import ResourcePatternType, ResourceType

from tests.security_broker import SecuredBroker

JAAS = (
    "org.apache.kafka.common.security.plain.PlainLoginModule required "
    'username="alice" password="alice-secret" user_alice="alice-secret" user_bob="bob-secret";'
)
TIMEOUT_S = 30.0
JS = Path(__file__).parent / "js"
NODE = shutil.which("node")
Op = AclOperation


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredBroker]:
    settings = {
        "authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
        "allow.everyone.if.no.acl.found": "true",
        "sasl.enabled.mechanisms": "PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS,
        "offsets.topic.replication.factor": "1",
    }
    listeners = {"PLAINTEXT": "PLAINTEXT", "SASL_PLAINTEXT": "SASL_PLAINTEXT"}
    with SecuredBroker(tmp_path_factory.mktemp("open-fixture"), listeners, settings) as process:
        yield process
        assert "Traceback" not in process.output


def make_topic(admin: AdminClient, name: str) -> None:
    for future in admin.create_topics([NewTopic(name, 1, 1)]).values():
        future.result(timeout=TIMEOUT_S)


def anonymous_allowed(rtype: ResourceType, name: str, op: AclOperation) -> AclBinding:
    return AclBinding(rtype, name, ResourcePatternType.LITERAL, "User:ANONYMOUS", "*", op, AclPermissionType.ALLOW)


def test_authorized_operations_follow_the_acls(broker: SecuredBroker) -> None:
    config: dict[str, Any] = {"bootstrap.servers": broker.bootstrap_of("PLAINTEXT")}
    admin = AdminClient(config)
    make_topic(admin, "ops")
    group = "ops-group"
    consumer = Consumer({**config, "group.id": group, "enable.auto.commit": False})
    consumer.commit(offsets=[TopicPartition("ops", 0, 0)], asynchronous=False)  # the group now exists
    consumer.close()

    def topic_ops(requested: bool = True) -> set[AclOperation] | None:
        found = admin.describe_topics(TopicCollection(["ops"]), include_authorized_operations=requested)
        ops = found["ops"].result(timeout=TIMEOUT_S).authorized_operations
        return None if ops is None else set(ops)

    def cluster_ops() -> set[AclOperation]:
        return set(
            admin.describe_cluster(include_authorized_operations=True).result(timeout=TIMEOUT_S).authorized_operations
        )

    def group_ops() -> set[AclOperation]:
        found = admin.describe_consumer_groups([group], include_authorized_operations=True)
        return set(found[group].result(timeout=TIMEOUT_S).authorized_operations)

    assert topic_ops(requested=False) is None
    assert {Op.READ, Op.DELETE, Op.ALTER_CONFIGS} <= (topic_ops() or set())
    assert {Op.ALTER, Op.ALTER_CONFIGS, Op.CLUSTER_ACTION} <= cluster_ops()
    assert {Op.READ, Op.DELETE, Op.DESCRIBE} <= group_ops()

    bindings = [
        anonymous_allowed(ResourceType.TOPIC, "ops", Op.READ),
        anonymous_allowed(ResourceType.BROKER, "kafka-cluster", Op.ALTER),
        anonymous_allowed(ResourceType.GROUP, group, Op.READ),
    ]
    for future in admin.create_acls(bindings).values():
        future.result(timeout=TIMEOUT_S)
    assert topic_ops() == {Op.READ, Op.DESCRIBE}  # READ implies DESCRIBE
    assert cluster_ops() == {Op.ALTER, Op.DESCRIBE}  # ALTER implies DESCRIBE
    assert group_ops() == {Op.READ, Op.DESCRIBE}

    anything = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,  # type: ignore[arg-type]
                                Op.ANY, AclPermissionType.ANY)  # fmt: skip
    assert sorted(admin.delete_acls([anything])[anything].result(timeout=TIMEOUT_S)) == sorted(bindings)
    assert Op.DELETE in (topic_ops() or set())


@pytest.mark.skipif(
    not os.environ.get("CI") and (NODE is None or not (JS / "node_modules" / "kafkajs").is_dir()),
    reason="needs node and kafkajs: `npm ci --prefix tests/clients/js` (make unit does it)",
)
def test_kafkajs_acl_admin_and_access(broker: SecuredBroker) -> None:
    make_topic(AdminClient({"bootstrap.servers": broker.bootstrap_of("PLAINTEXT")}), "js-acls")
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(JS / "acls.js"), broker.bootstrap_of("SASL_PLAINTEXT"), "js-acls"],
        capture_output=True, text=True, timeout=90, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["created"] is True

    def entry(principal: str, permission: int) -> dict[str, Any]:
        return {"principal": principal, "host": "*", "operation": 2, "permissionType": permission}

    bob, alice = entry("User:bob", 2), entry("User:alice", 3)  # ALL; DENY 2, ALLOW 3
    ((resource,),) = [result["described"]["resources"]]
    assert (resource["resourceType"], resource["resourceName"], resource["resourcePatternType"]) == (2, "js-acls", 3)
    assert sorted(resource["acls"], key=lambda a: a["principal"]) == [alice, bob]

    metadata, produced = result["bob"]
    assert metadata == "Not authorized to access topics: [Topic authorization failed]"
    assert "Topic authorization failed" in produced
    assert result["alice"] == ["ok", "ok"]

    ((response,),) = [result["deleted"]["filterResponses"]]
    assert (response["errorCode"], response["errorMessage"]) == (0, None)
    ((matched,),) = [response["matchingAcls"]]
    assert matched == {"errorCode": 0, "errorMessage": None, "resourceType": 2, "resourceName": "js-acls",
                       "resourcePatternType": 3, **bob}  # fmt: skip
    assert [a["principal"] for r in result["after"]["resources"] for a in r["acls"]] == ["User:alice"]
