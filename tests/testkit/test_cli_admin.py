"""``kafkish acls``, ``leader-election`` and ``transactions`` against a real broker (an ACL authorizer that
lets everyone in where a resource has no ACLs), their output compared with what Kafka 3.x's
kafka-acls.sh, kafka-leader-election.sh and kafka-transactions.sh print.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from kafkish.testing import Broker, Cluster
from kafkish.testing.zookeeper import ZooKeeperUnavailable, classpath, java
from tests.security_broker import SecuredBroker
from tests.testkit.cli import kafkish

AUTHORIZER = {
    "authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
    "allow.everyone.if.no.acl.found": "true",
}


@pytest.fixture(scope="module")
def bootstrap() -> Iterator[str]:
    with Broker(AUTHORIZER) as broker:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers})
        for future in admin.create_topics([NewTopic("elect", 2), NewTopic("txn", 1)]).values():
            future.result(30)
        yield broker.bootstrap_servers


def current_acls(stdout: str) -> dict[str, set[str]]:
    """The ``Current ACLs for resource`` blocks of kafka-acls.sh's output: resource -> entries; every line
    checked against the Java tool's layout on the way."""
    blocks: dict[str, set[str]] = {}
    for block in stdout.split("Current ACLs for resource `")[1:]:
        head, _, body = block.partition("`: \n ")
        lines = body.split("\n")
        end = next(i for i, line in enumerate(lines) if line.endswith(" "))
        assert lines[end + 1] == "" and all(line.startswith("\t") for line in lines[: end + 1]), block
        entries = {line.strip() for line in lines[: end + 1]}
        assert all(re.fullmatch(r"\(principal=\S+, host=\S+, operation=[A-Z_]+, permissionType=(ALLOW|DENY)\)", e)
                   for e in entries), entries  # fmt: skip
        blocks[head] = entries
    return blocks


def acl(principal: str, operation: str, permission: str = "ALLOW", host: str = "*") -> str:
    return f"(principal={principal}, host={host}, operation={operation}, permissionType={permission})"


TOPIC = "ResourcePattern(resourceType=TOPIC, name=acl-t, patternType=LITERAL)"


def test_acls_add_list_remove(bootstrap: str) -> None:
    b = ("--bootstrap-server", bootstrap)
    added = kafkish("acls", *b, "--add", "--allow-principal", "User:alice", "--operation", "Read", "--topic", "acl-t")
    assert added.code == 0, added.stderr
    assert added.stdout == (
        f"Adding ACLs for resource `{TOPIC}`: \n \t{acl('User:alice', 'READ')} \n\n"
        f"Current ACLs for resource `{TOPIC}`: \n \t{acl('User:alice', 'READ')} \n\n"
    )
    more = kafkish("acls", *b, "--add", "--deny-principal", "User:eve", "--deny-host", "10.0.0.1", "--operation",
                   "describe", "--operation", "Write", "--topic", "acl-t")  # fmt: skip
    assert more.code == 0, more.stderr
    assert current_acls(more.stdout) == {
        TOPIC: {acl("User:alice", "READ"), acl("User:eve", "DESCRIBE", "DENY", "10.0.0.1"),
                acl("User:eve", "WRITE", "DENY", "10.0.0.1")},
    }  # fmt: skip

    # --producer / --consumer: Kafka's sets of operations, on a prefixed pattern and a group
    roles = kafkish("acls", *b, "--add", "--producer", "--consumer", "--allow-principal", "User:bob",
                    "--topic", "acl-p", "--group", "acl-g", "--resource-pattern-type", "prefixed")  # fmt: skip
    assert roles.code == 0, roles.stderr
    prefixed = "ResourcePattern(resourceType=TOPIC, name=acl-p, patternType=PREFIXED)"
    group = "ResourcePattern(resourceType=GROUP, name=acl-g, patternType=PREFIXED)"
    assert current_acls(roles.stdout) == {
        prefixed: {acl("User:bob", op) for op in ("WRITE", "DESCRIBE", "CREATE", "READ")},
        group: {acl("User:bob", "READ")},
    }
    # --list: everything, or what matches a resource (match: the prefixed ACLs that apply to acl-p1 too)
    assert set(current_acls(kafkish("acls", *b, "--list").stdout)) == {TOPIC, prefixed, group}
    matching = kafkish("acls", *b, "--list", "--topic", "acl-p1", "--resource-pattern-type", "match")
    assert set(current_acls(matching.stdout)) == {prefixed}
    mine = kafkish("acls", *b, "--list", "--principal", "User:alice")
    assert (
        mine.stdout == "ACLs for principal `User:alice`\n"
        f"Current ACLs for resource `{TOPIC}`: \n \t{acl('User:alice', 'READ')} \n\n"
    )

    # --remove: one entry with --force; all of a resource's after a "y" (a "n" keeps them)
    removed = kafkish("acls", *b, "--remove", "--force", "--deny-principal", "User:eve", "--deny-host", "10.0.0.1",
                      "--operation", "Write", "--topic", "acl-t")  # fmt: skip
    assert current_acls(removed.stdout) == {
        TOPIC: {acl("User:alice", "READ"), acl("User:eve", "DESCRIBE", "DENY", "10.0.0.1")}
    }
    kept = kafkish("acls", *b, "--remove", "--topic", "acl-t", stdin="n\n")
    question = "Are you sure you want to delete all ACLs for resource filter " \
               "`ResourcePattern(resourceType=TOPIC, name=acl-t, patternType=LITERAL)`? (y/n)\n"  # fmt: skip
    assert kept.stdout.startswith(question) and TOPIC in current_acls(kept.stdout)
    gone = kafkish("acls", *b, "--remove", "--topic", "acl-t", "--topic", "acl-p", "--group", "acl-g",
                   "--resource-pattern-type", "any", stdin="y\ny\ny\n")  # fmt: skip
    assert gone.code == 0 and current_acls(gone.stdout) == {}
    assert kafkish("acls", *b, "--list").stdout == ""


def test_acls_usage_errors(bootstrap: str) -> None:
    b = ("--bootstrap-server", bootstrap)
    for args, message in [
        (("--add", "--topic", "x"),
         "You must specify one of: --allow-principal, --deny-principal when trying to add ACLs."),
        (("--add", "--group", "x", "--operation", "Write", "--allow-principal", "User:a"),
         "ResourceType GROUP only supports operations Read, Describe, Delete, All"),
        (("--add", "--topic", "x", "--allow-principal", "User:a", "--resource-pattern-type", "match"),
         "A '--resource-pattern-type' value of 'MATCH' is not valid when adding acls."),
        (("--add", "--producer", "--allow-principal", "User:a", "--group", "g"),
         "With --producer you must specify a --topic"),
        (("--add", "--topic", "x", "--allow-principal", "alice"),
         "expected a string in format principalType:principalName"),
    ]:  # fmt: skip
        run = kafkish("acls", *b, *args)
        assert run.code == 1 and run.stderr.startswith(message) and run.stdout == "", (args, run)


def test_leader_election_on_one_broker(bootstrap: str, tmp_path: Path) -> None:
    b = ("--bootstrap-server", bootstrap)
    one = kafkish("leader-election", *b, "--election-type", "preferred", "--topic", "elect", "--partition", "0")
    assert (one.code, one.stdout) == (0, "Valid replica already elected for partitions elect-0\n")
    # every partition: the one replica already leads each, so the broker leaves them all out, as Kafka does
    everything = kafkish("leader-election", *b, "--election-type", "PREFERRED", "--all-topic-partitions")
    assert (everything.code, everything.stdout) == (0, "")
    plan = tmp_path / "election.json"
    plan.write_text(json.dumps({"partitions": [{"topic": "elect", "partition": 1}, {"topic": "elect", "partition": 0},
                                               {"topic": "nope", "partition": 0}]}))  # fmt: skip
    mixed = kafkish("leader-election", *b, "--election-type", "unclean", "--path-to-json-file", str(plan))
    assert mixed.code == 1
    assert mixed.stdout == (
        "Valid replica already elected for partitions elect-0, elect-1\n"
        "Error completing leader election (UNCLEAN) for partition: nope-0: "
        "org.apache.kafka.common.errors.UnknownTopicOrPartitionException: No such topic as nope\n"
    )
    assert mixed.stderr == "1 replica(s) could not be elected\n"
    plan.write_text('{"partitions": [{"topic": "a", "partition": 0}, {"topic": "a", "partition": 0}]}')
    for args, message in [
        (("--election-type", "preferred", "--path-to-json-file", str(plan)),
         "Replica election data contains duplicate partitions: [a-0]"),
        (("--election-type", "preferred", "--topic", "elect"), "Missing required option(s): partition"),
        (("--election-type", "preferred", "--topic", "elect", "--partition", "0", "--all-topic-partitions"),
         "One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file"),
        (("--topic", "elect", "--partition", "0"), "Missing required option(s): election-type"),
    ]:  # fmt: skip
        run = kafkish("leader-election", *b, *args)
        assert (run.code, run.stderr) == (1, message + "\n"), (args, run)


def test_reassign_partitions_on_one_broker(bootstrap: str, tmp_path: Path) -> None:
    b = ("--bootstrap-server", bootstrap)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"version": 1, "partitions": [{"topic": "elect", "partition": p, "replicas": [0]}
                                                             for p in (1, 0)]}))  # fmt: skip
    file = ("--reassignment-json-file", str(plan))
    assert kafkish("reassign-partitions", *b, "--list").stdout == "No partition reassignments found.\n"
    executed = kafkish("reassign-partitions", *b, "--execute", *file)
    current = (
        '{"version":1,"partitions":[{"topic":"elect","partition":0,"replicas":[0],"log_dirs":["any"]},'
        '{"topic":"elect","partition":1,"replicas":[0],"log_dirs":["any"]}]}'
    )
    assert (executed.code, executed.stdout) == (0, (
        f"Current partition replica assignment\n\n{current}\n\n"
        "Save this to use as the --reassignment-json-file option during rollback\n"
        "Successfully started partition reassignments for elect-0,elect-1\n"
    )), executed.stderr  # fmt: skip
    verified = kafkish("reassign-partitions", *b, "--verify", *file)
    assert (verified.code, verified.stdout) == (0, (
        "Status of partition reassignment:\nReassignment of partition elect-0 is completed.\n"
        "Reassignment of partition elect-1 is completed.\n\n"
        "Clearing broker-level throttles on broker 0\nClearing topic-level throttles on topic elect\n"
    )), verified.stderr  # fmt: skip
    cancelled = kafkish("reassign-partitions", *b, "--cancel", *file)
    assert cancelled.stdout.startswith(
        "None of the specified partition reassignments are active.\n"
        "None of the specified partition moves are active.Clearing broker-level throttles on broker 0\n"
    )
    plan.write_text(json.dumps({"version": 1, "partitions": [{"topic": "elect", "partition": 0, "replicas": [3]}]}))
    unknown = kafkish("reassign-partitions", *b, "--execute", *file)
    assert (unknown.code, unknown.stderr) == (1, "Error: Unknown broker id 3\n")
    topics = tmp_path / "topics.json"
    topics.write_text('{"version": 1, "topics": [{"topic": "elect"}]}')
    generated = kafkish("reassign-partitions", *b, "--generate", "--topics-to-move-json-file", str(topics),
                        "--broker-list", "0")  # fmt: skip
    assert (generated.code, generated.stdout) == (0, (
        f"Current partition replica assignment\n{current}\n\nProposed partition reassignment configuration\n{current}\n"
    )), generated.stderr  # fmt: skip
    differs = kafkish("reassign-partitions", *b, "--verify", "--preserve-throttles", *file)
    assert differs.stdout == (
        "Status of partition reassignment:\n"
        "There is no active reassignment of partition elect-0, but replica set is 0 rather than 3.\n\n"
    )


def table(stdout: str) -> list[list[str]]:
    """kafka-transactions.sh's table: every cell padded to its column's width and followed by a tab."""
    lines = stdout.split("\n")
    assert lines[-1] == "" and all(line.endswith("\t") for line in lines[:-1]), stdout
    rows = [line[:-1].split("\t") for line in lines[:-1]]
    for column in range(len(rows[0])):
        assert len({len(row[column]) for row in rows}) == 1, stdout  # padded to one width
    return [[cell.rstrip() for cell in row] for row in rows]


def test_transactions_of_an_open_transaction(bootstrap: str) -> None:
    b = ("--bootstrap-server", bootstrap)
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": "open-tx"})
    producer.init_transactions(30)
    producer.begin_transaction()
    producer.produce("txn", b"pending", partition=0)
    assert producer.flush(30) == 0

    listed = kafkish("transactions", *b, "list")
    assert listed.code == 0, listed.stderr
    assert table(listed.stdout) == [["TransactionalId", "Coordinator", "ProducerId", "TransactionState"],
                                    ["open-tx", "0", "0", "Ongoing"]]  # fmt: skip
    described = table(kafkish("transactions", "describe", "--transactional-id", "open-tx", *b).stdout)
    assert described[0] == ["CoordinatorId", "TransactionalId", "ProducerId", "ProducerEpoch", "TransactionState",
                            "TransactionTimeoutMs", "CurrentTransactionStartTimeMs", "TransactionDurationMs",
                            "TopicPartitions"]  # fmt: skip
    row = described[1]
    assert row[:6] == ["0", "open-tx", "0", "0", "Ongoing", "60000"] and row[8] == "txn-0"
    assert int(row[6]) > 0 and int(row[7]) >= 0
    producers = table(kafkish("transactions", *b, "describe-producers", "--topic", "txn", "--partition", "0").stdout)
    assert producers[0] == ["ProducerId", "ProducerEpoch", "LatestCoordinatorEpoch", "LastSequence", "LastTimestamp",
                            "CurrentTransactionStartOffset"]  # fmt: skip
    assert [producers[1][i] for i in (0, 1, 2, 3, 5)] == ["0", "0", "-1", "0", "0"]
    # its coordinator still counts txn-0 in the transaction, so it is not hanging, however old
    hanging = kafkish("transactions", *b, "find-hanging", "--topic", "txn", "--max-transaction-timeout", "0")
    assert table(hanging.stdout) == [["Topic", "Partition", "ProducerId", "ProducerEpoch", "CoordinatorEpoch",
                                      "StartOffset", "LastTimestamp", "Duration(min)"]]  # fmt: skip

    wrong = kafkish("transactions", *b, "abort", "--topic", "txn", "--partition", "0", "--start-offset", "7")
    assert (wrong.code, wrong.stderr) == (
        1,
        "Could not find any open transactions starting at offset 7 on partition txn-0\n",
    )
    aborted = kafkish("transactions", *b, "abort", "--topic", "txn", "--partition", "0", "--start-offset", "0")
    assert (aborted.code, aborted.stdout, aborted.stderr) == (0, "", "")
    after = table(kafkish("transactions", *b, "describe-producers", "--topic", "txn", "--partition", "0").stdout)
    assert after[1][5] == "None"  # the abort marker closed the partition's transaction


def test_transactions_errors(bootstrap: str) -> None:
    b = ("--bootstrap-server", bootstrap)
    unknown = kafkish("transactions", *b, "describe", "--transactional-id", "nope")
    assert (unknown.code, unknown.stderr) == (
        1, "Failed to describe transaction state of transactional-id `nope`: DescribeTransactions request for "
        "transactionalId `nope` failed because the ID could not be found. "
        "Enable debug logging for additional detail.\n",
    )  # fmt: skip
    scope = kafkish("transactions", *b, "find-hanging")
    assert scope.code == 1 and scope.stderr.startswith(
        "The `find-hanging` command requires either --topic or --broker-id"
    )
    which = kafkish("transactions", *b, "abort", "--topic", "txn", "--partition", "0")
    assert which.code == 1 and which.stderr.startswith("The transaction to abort must be identified either with")


def _zookeeper_missing() -> str | None:
    try:
        classpath()
        java()
    except ZooKeeperUnavailable as exc:
        return str(exc)
    return None


def _partition(admin: AdminClient, topic: str) -> tuple[int, list[int]]:
    """Partition 0's leader and ISR as Metadata tells (-1 and [] while the topic is unknown)."""
    metadata = admin.list_topics(topic, timeout=10).topics.get(topic)
    if metadata is None or metadata.error is not None or 0 not in metadata.partitions:
        return -1, []
    partition = metadata.partitions[0]
    return partition.leader, sorted(partition.isrs)


def _wait(admin: AdminClient, topic: str, leader: int, isr: list[int], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while (seen := _partition(admin, topic)) != (leader, isr):
        assert time.monotonic() < deadline, f"{topic}-0: leader and ISR {seen}, waited for {(leader, isr)}"
        time.sleep(0.2)


@pytest.mark.skipif(_zookeeper_missing() is not None, reason=_zookeeper_missing() or "")
def test_leader_election_moves_leadership_back_to_the_preferred_replica() -> None:
    with Cluster(2, {"auto.leader.rebalance.enable": "false"}) as cluster:
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap_servers, "log_level": 0})
        admin.create_topics([NewTopic("moved", 1, replica_assignment=[[0, 1]])])["moved"].result(30)
        _wait(admin, "moved", 0, [0, 1])
        cluster.stop_broker(0)  # a controlled shutdown hands the partition to broker 1
        _wait(admin, "moved", 1, [1])
        cluster.restart(0)
        _wait(admin, "moved", 1, [0, 1])  # back in sync, not leading: no automatic rebalance
        b = ("--bootstrap-server", cluster.bootstrap_servers)
        elected = kafkish("leader-election", *b, "--election-type", "preferred", "--topic", "moved", "--partition", "0")
        assert (elected.code, elected.stdout) == (
            0, "Successfully completed leader election (PREFERRED) for partitions moved-0\n"
        ), elected.stderr  # fmt: skip
        _wait(admin, "moved", 0, [0, 1])


PLAIN_USERS = (
    "org.apache.kafka.common.security.plain.PlainLoginModule required "
    'username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";'
)


def test_command_config_signs_in_with_sasl(tmp_path: Path) -> None:
    """--command-config's SASL properties reach both client libraries: the admin does what it likes, alice
    (no ACLs, nobody allowed by default) is turned away as Kafka's tools report it."""
    settings = {
        **AUTHORIZER,
        "allow.everyone.if.no.acl.found": "false",
        "super.users": "User:admin",
        "sasl.enabled.mechanisms": "PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": PLAIN_USERS,
    }
    listeners = {"PLAINTEXT": "PLAINTEXT", "SASL_PLAINTEXT": "SASL_PLAINTEXT"}
    (tmp_path / "broker").mkdir()
    with SecuredBroker(tmp_path / "broker", listeners, settings) as broker:
        b = ("--bootstrap-server", broker.bootstrap_of("SASL_PLAINTEXT"))
        signed_in = {}
        for user in ("admin", "alice"):
            signed_in[user] = tmp_path / f"{user}.properties"
            signed_in[user].write_text(
                f"security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.username={user}\n"
                f"sasl.password={user}-secret\n"
            )
        admin = ("--command-config", str(signed_in["admin"]))
        alice = ("--command-config", str(signed_in["alice"]))
        added = kafkish("acls", *b, *admin, "--add", "--allow-principal", "User:alice", "--operation", "Describe",
                        "--transactional-id", "alice-tx")  # fmt: skip
        assert added.code == 0 and "name=alice-tx, patternType=LITERAL" in added.stdout, added.stderr
        listed = kafkish("transactions", *b, *admin, "list")
        assert (listed.code, listed.stdout) == (0, "TransactionalId\tCoordinator\tProducerId\tTransactionState\t\n")

        refused = kafkish("leader-election", *b, *alice, "--election-type", "preferred", "--all-topic-partitions")
        assert (refused.code, refused.stdout) == (1, "Not authorized to perform leader election\n")
        denied = kafkish("acls", *b, *alice, "--list")
        assert denied.code == 1 and denied.stderr.startswith("Error while executing ACL command: ")
        assert denied.stderr.endswith("(CLUSTER_AUTHORIZATION_FAILED)\n"), denied.stderr
        unknown = kafkish("transactions", *b, *alice, "describe", "--transactional-id", "alice-tx")
        assert unknown.code == 1 and "failed because the ID could not be found" in unknown.stderr, unknown.stderr
        forbidden = kafkish("transactions", *b, *alice, "describe", "--transactional-id", "admin-tx")
        assert forbidden.code == 1 and "failed due to authorization failure" in forbidden.stderr, forbidden.stderr


def test_generated_assignment_spreads_leaders_and_replicas_evenly() -> None:
    """--generate's proposal (Kafka's rack-unaware assignment), whatever its random start."""
    from collections import Counter

    from kafkish.assignment import BrokerRack
    from kafkish.cli.reassign import propose

    current = {("t", p): [0, 1] for p in range(6)}
    for _ in range(20):
        plan = list(propose(current, [BrokerRack(0), BrokerRack(1), BrokerRack(2)]).values())
        assert all(len(set(replicas)) == 2 for replicas in plan)
        assert Counter(replicas[0] for replicas in plan) == {0: 2, 1: 2, 2: 2}
        assert Counter(b for replicas in plan for b in replicas) == {0: 4, 1: 4, 2: 4}
