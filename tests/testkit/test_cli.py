"""Every ``kafkish`` subcommand against a running broker, its output compared with what Kafka's Java
tools print (captured from kafka-topics.sh, kafka-consumer-groups.sh, ... of Kafka 4.0 against the
same broker; test_cli_vs_java.py compares the two live when the Java tools are installed).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer

from kafkish.testing import Broker
from tests.testkit.cli import kafkish


@pytest.fixture(scope="module")
def bootstrap() -> Iterator[str]:
    with Broker() as broker:
        yield broker.bootstrap_servers


def test_topics_create_list_describe_alter_delete(bootstrap: str) -> None:
    b = ("--bootstrap-server", bootstrap)
    created = kafkish(
        "topics", *b, "--create", "--topic", "orders", "--partitions", "2", "--config", "retention.ms=100000"
    )
    assert (created.code, created.stdout) == (0, "Created topic orders.\n")
    again = kafkish("topics", *b, "--create", "--topic", "orders", "--partitions", "2")
    assert again.code == 1 and "already exists" in again.stderr
    assert kafkish("topics", *b, "--create", "--topic", "orders", "--if-not-exists").code == 0

    assert "orders\n" in kafkish("topics", *b, "--list").stdout
    described = kafkish("topics", *b, "--describe", "--topic", "orders")
    assert described.code == 0
    assert re.fullmatch(
        r"Topic: orders\tTopicId: [A-Za-z0-9_-]{22}\tPartitionCount: 2\tReplicationFactor: 1"
        r"\tConfigs: retention.ms=100000\n"
        r"\tTopic: orders\tPartition: 0\tLeader: 0\tReplicas: 0\tIsr: 0\tElr: \tLastKnownElr: \n"
        r"\tTopic: orders\tPartition: 1\tLeader: 0\tReplicas: 0\tIsr: 0\tElr: \tLastKnownElr: \n",
        described.stdout,
    ), described.stdout

    assert kafkish("topics", *b, "--alter", "--topic", "orders", "--partitions", "3").code == 0
    assert "PartitionCount: 3" in kafkish("topics", *b, "--describe", "--topic", "orders").stdout
    assert kafkish("topics", *b, "--delete", "--topic", "orders").code == 0
    assert "orders" not in kafkish("topics", *b, "--list").stdout.split()
    missing = kafkish("topics", *b, "--describe", "--topic", "orders")
    assert missing.code == 1 and "Topic 'orders' does not exist as expected" in missing.stderr


def test_console_producer_and_consumer_keys_partitions_offsets(bootstrap: str) -> None:
    b = ("--bootstrap-server", bootstrap)
    kafkish("topics", *b, "--create", "--topic", "lines", "--partitions", "1")
    produced = kafkish(
        "console-producer", *b, "--topic", "lines", "--property", "parse.key=true", "--property", "key.separator=:",
        stdin="k1:v1\nk2:v2\nk3:v3\n",
    )  # fmt: skip
    assert produced.code == 0, produced.stderr
    consumed = kafkish(
        "console-consumer", *b, "--topic", "lines", "--from-beginning", "--max-messages", "3",
        "--property", "print.key=true", "--property", "print.partition=true", "--property", "print.offset=true",
    )  # fmt: skip
    assert (
        consumed.stdout
        == "Partition:0\tOffset:0\tk1\tv1\nPartition:0\tOffset:1\tk2\tv2\nPartition:0\tOffset:2\tk3\tv3\n"
    )
    assert "Processed a total of 3 messages" in consumed.stderr

    plain = kafkish("console-consumer", *b, "--topic", "lines", "--from-beginning", "--max-messages", "3")
    assert plain.stdout == "v1\nv2\nv3\n"
    separated = kafkish(
        "console-consumer", *b, "--topic", "lines", "--partition", "0", "--offset", "1", "--max-messages", "1",
        "--property", "print.key=true", "--property", "key.separator= => ", "--property", "print.headers=true",
    )  # fmt: skip
    assert separated.stdout == "NO_HEADERS => k2 => v2\n"


def test_console_consumer_timeout_and_null_keys_and_headers(bootstrap: str) -> None:
    b = ("--bootstrap-server", bootstrap)
    kafkish("topics", *b, "--create", "--topic", "headed", "--partitions", "1")
    kafkish(
        "console-producer", *b, "--topic", "headed", "--property", "parse.headers=true",
        stdin="h1:a,h2:b\tfirst\n\tsecond\n",
    )  # fmt: skip
    read = kafkish(
        "console-consumer", *b, "--topic", "headed", "--from-beginning", "--timeout-ms", "3000",
        "--property", "print.headers=true", "--property", "print.key=true", "--property", "null.literal=<null>",
    )  # fmt: skip
    assert read.code == 0
    assert read.stdout == "h1:a,h2:b\t<null>\tfirst\nNO_HEADERS\t<null>\tsecond\n"
    assert "Processed a total of 2 messages" in read.stderr


GROUP_TABLE_HEADER = (
    "GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     "
    "HOST            CLIENT-ID"
)


def test_consumer_groups_list_describe_members_state_delete(bootstrap: str) -> None:
    b = ("--bootstrap-server", bootstrap)
    kafkish("topics", *b, "--create", "--topic", "grouped", "--partitions", "2")
    kafkish("console-producer", *b, "--topic", "grouped", stdin="a\nb\nc\n")
    kafkish("console-consumer", *b, "--topic", "grouped", "--from-beginning", "--max-messages", "3", "--group", "cg")

    assert "cg" in kafkish("consumer-groups", *b, "--list").stdout.split()
    empty = kafkish("consumer-groups", *b, "--describe", "--group", "cg")
    assert empty.stderr == "\nConsumer group 'cg' has no active members.\n"
    lines = empty.stdout.split("\n")
    assert lines[:2] == ["", GROUP_TABLE_HEADER]
    rows = [line.split() for line in lines[2:] if line]
    ends = {int(r[2]): int(r[4]) for r in rows}
    assert sum(ends.values()) == 3
    assert all(r[0] == "cg" and r[1] == "grouped" and r[3] == r[4] and r[5:] == ["0", "-", "-", "-"] for r in rows)
    assert all(re.match(r"cg {14}grouped {9}[01] {10}\d {15}\d {15}0 {15}- {15}- {15}-$", line) for line in lines[2:-1])

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "live", "client.id": "my-app"})
    try:
        consumer.subscribe(["grouped"])
        deadline = time.monotonic() + 30
        while not consumer.assignment() and time.monotonic() < deadline:
            consumer.poll(0.2)
        active = kafkish("consumer-groups", *b, "--describe", "--group", "live")
        assert "has no active members" not in active.stdout
        table = [line.split() for line in active.stdout.split("\n")[2:] if line]
        assert len(table) == 2 and all(
            r[6].startswith("my-app-") and r[7] == "/127.0.0.1" and r[8] == "my-app" for r in table
        )
        members = kafkish("consumer-groups", *b, "--describe", "--group", "live", "--members").stdout.split("\n")
        assert members[1].split() == ["GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS"]
        assert members[2].split()[2:] == ["/127.0.0.1", "my-app", "2"]
        state = kafkish("consumer-groups", *b, "--describe", "--group", "live", "--state").stdout.split("\n")
        assert state[1].split() == ["GROUP", "COORDINATOR", "(ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS"]
        assert re.fullmatch(r"live {22}127\.0\.0\.1:\d+  \(0\) +\w* +Stable {10}1", state[2]), state[2]
    finally:
        consumer.close()

    deleted = kafkish("consumer-groups", *b, "--delete", "--group", "cg")
    assert deleted.stdout == "Deletion of requested consumer groups ('cg') was successful.\n"
    gone = kafkish("consumer-groups", *b, "--describe", "--group", "cg")
    assert gone.code == 1 and "Consumer group 'cg' does not exist." in gone.stderr


def test_get_offsets_and_delete_records(bootstrap: str, tmp_path: Path) -> None:
    b = ("--bootstrap-server", bootstrap)
    kafkish("topics", *b, "--create", "--topic", "trimmed", "--partitions", "2")
    kafkish("console-producer", *b, "--topic", "trimmed", "--property", "parse.key=true",
            stdin="a\t1\na\t2\na\t3\nb\t4\n")  # fmt: skip
    latest = kafkish("get-offsets", *b, "--topic", "trimmed").stdout.splitlines()
    assert sorted(int(line.rsplit(":", 1)[1]) for line in latest) in ([0, 4], [1, 3], [4, 0])
    assert [line.rsplit(":", 1)[0] for line in latest] == ["trimmed:0", "trimmed:1"]
    fullest = max(latest, key=lambda line: int(line.rsplit(":", 1)[1]))
    partition = int(fullest.split(":")[1])

    spec = tmp_path / "delete.json"
    spec.write_text(
        json.dumps({"partitions": [{"topic": "trimmed", "partition": partition, "offset": 2}], "version": 1})
    )
    deleted = kafkish("delete-records", *b, "--offset-json-file", str(spec))
    assert deleted.stdout == (
        "Executing records delete operation\nRecords delete operation completed:\n"
        f"partition: trimmed-{partition}\tlow_watermark: 2\n"
    )
    earliest = kafkish("get-offsets", *b, "--topic", "trimmed", "--partitions", str(partition), "--time", "-2")
    assert earliest.stdout == f"trimmed:{partition}:2\n"


def test_configs_describe_and_alter(bootstrap: str) -> None:
    b = ("--bootstrap-server", bootstrap)
    kafkish("topics", *b, "--create", "--topic", "configured", "--config", "retention.ms=100000")
    described = kafkish("configs", *b, "--describe", "--entity-type", "topics", "--entity-name", "configured")
    # Kafka's synonym rule: broker synonyms from the first one set (log.retention.ms) on, so the
    # default log.retention.hours alone is not listed.
    assert described.stdout == (
        "Dynamic configs for topic configured are:\n"
        "  retention.ms=100000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=100000}\n"
    )
    altered = kafkish(
        "configs", *b, "--alter", "--entity-type", "topics", "--entity-name", "configured",
        "--add-config", "cleanup.policy=[compact,delete],max.message.bytes=2000", "--delete-config", "retention.ms",
    )  # fmt: skip
    assert altered.stdout == "Completed updating config for topic configured.\n"
    after = kafkish("configs", *b, "--describe", "--entity-type", "topics", "--entity-name", "configured").stdout
    assert "  cleanup.policy=compact,delete sensitive=false" in after
    assert "  max.message.bytes=2000 sensitive=false" in after
    assert "retention.ms" not in after
    broker = kafkish("configs", *b, "--describe", "--entity-type", "brokers", "--entity-name", "0", "--all").stdout
    assert broker.startswith("All configs for broker 0 are:\n")
    assert re.search(
        r"^  num\.partitions=1 sensitive=false synonyms=\{.*DEFAULT_CONFIG:num\.partitions=1\}$", broker, re.M
    )


def test_a_broker_that_is_not_there_is_one_error_line(tmp_path: Path) -> None:
    """As Kafka's tools: the admin client's default.api.timeout.ms (from --command-config) bounds the wait,
    then Kafka's message for a call that found no broker."""
    config = tmp_path / "admin.properties"
    config.write_text("default.api.timeout.ms=1500\n")
    for command, prefix in (
        (["topics", "--list"], "Error while executing topic command : "),
        (["topics", "--create", "--topic", "t"], "Error while executing topic command : "),
        (["get-offsets"], "Error: "),
    ):
        done = kafkish(*command, "--bootstrap-server", "127.0.0.1:1", "--command-config", str(config), timeout=30)
        assert done.code == 1 and len(done.stderr.splitlines()) == 1, done
        assert done.stderr.startswith(prefix + "Timed out waiting for a node assignment. Call: "), done
    done = kafkish("broker-api-versions", "--bootstrap-server", "127.0.0.1:1")
    assert done.code == 1 and done.stderr.startswith("Error: ") and len(done.stderr.splitlines()) == 1, done
    done = kafkish(
        "get-offsets", "--bootstrap-server", "127.0.0.1:1", "--topic", "x", "--command-config", "/nonexistent"
    )
    assert done.code == 1 and done.stderr.startswith("Error: cannot read /nonexistent")


def test_broker_api_versions_lists_kafkas_apis_with_the_brokers_ranges(bootstrap: str) -> None:
    done = kafkish("broker-api-versions", "--bootstrap-server", bootstrap)
    lines = done.stdout.split("\n")
    assert lines[0] == f"{bootstrap} (id: 0 rack: null) -> ("
    assert re.fullmatch(r"\tProduce\(0\): 0 to \d+ \[usable: \d+\],", lines[1])
    assert re.fullmatch(r"\tLeaderAndIsr\(4\): 0 to \d+ \[usable: \d+\],", lines[5])  # a ZooKeeper-mode broker's
    assert "\tShareFetch(78): UNSUPPORTED," in lines
    assert re.fullmatch(r"\tReadShareGroupStateSummary\(87\): UNSUPPORTED", lines[-3])
    assert lines[-2:] == [")", ""]


def test_kafkish_without_a_subcommand_still_starts_a_broker(tmp_path: Path) -> None:
    """``kafkish --override ...`` (the command's meaning before it had subcommands) still starts a broker."""
    import os
    import subprocess
    import sys

    from tests.testkit.cli import ROOT

    broker = subprocess.Popen(
        [sys.executable, "-m", "kafkish", "--override", "listeners=PLAINTEXT://127.0.0.1:0",
         "--override", f"log.dirs={tmp_path}"],
        stderr=subprocess.PIPE, text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert broker.stderr is not None
    try:
        for line in broker.stderr:
            if "listening on" in line:
                break
        else:
            pytest.fail("the broker exited without listening")
    finally:
        broker.terminate()
        assert broker.wait(30) == 0


def test_consumer_groups_reset_offsets(bootstrap: str) -> None:
    b = ("--bootstrap-server", bootstrap)
    kafkish("topics", *b, "--create", "--topic", "replayed", "--partitions", "1")
    kafkish("console-producer", *b, "--topic", "replayed", stdin="a\nb\nc\n")
    kafkish("console-consumer", *b, "--topic", "replayed", "--from-beginning", "--max-messages", "3", "--group", "rg")
    header = f"{'GROUP':<30} {'TOPIC':<30} {'PARTITION':<10} {'NEW-OFFSET':<15}"

    dry = kafkish("consumer-groups", *b, "--group", "rg", "--topic", "replayed", "--reset-offsets", "--to-earliest")
    assert dry.stderr.startswith("WARN: No action will be performed as the --execute option is missing.")
    assert dry.stdout.split("\n") == ["", header, f"{'rg':<30} {'replayed':<30} {'0':<10} {'0':<15}", ""]
    assert "CURRENT-OFFSET" in kafkish("consumer-groups", *b, "--describe", "--group", "rg").stdout

    shifted = kafkish(
        "consumer-groups", *b, "--group", "rg", "--topic", "replayed:0", "--reset-offsets", "--shift-by", "-5",
        "--execute",
    )  # fmt: skip
    assert "WARN New offset (-2) is lower than earliest offset for topic partition replayed-0." in shifted.stderr
    assert shifted.stdout == f"\n{header}\n{'rg':<30} {'replayed':<30} {'0':<10} {'0':<15}\n"
    again = kafkish("console-consumer", *b, "--topic", "replayed", "--group", "rg", "--max-messages", "3")
    assert again.stdout == "a\nb\nc\n"


def test_producer_perf_test_sends_every_record_and_prints_kafkas_summary(bootstrap: str) -> None:
    done = kafkish(
        "producer-perf-test", "--topic", "perf", "--num-records", "500", "--record-size", "100", "--throughput", "-1",
        "--producer-props", f"bootstrap.servers={bootstrap}", "acks=all",
    )  # fmt: skip
    assert done.code == 0, done.stderr
    assert re.fullmatch(
        r"500 records sent, \d+\.\d records/sec \(\d+\.\d\d MB/sec\), \d+\.\d\d ms avg latency, \d+\.\d\d ms max "
        r"latency, \d+ ms 50th, \d+ ms 95th, \d+ ms 99th, \d+ ms 99\.9th\.\n",
        done.stdout,
    ), done.stdout
    offsets = kafkish("get-offsets", "--bootstrap-server", bootstrap, "--topic", "perf").stdout.splitlines()
    assert sum(int(line.rsplit(":", 1)[1]) for line in offsets) == 500

    read = kafkish("consumer-perf-test", "--bootstrap-server", bootstrap, "--topic", "perf", "--messages", "500")
    header, line = read.stdout.splitlines()
    assert header == (
        "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, "
        "fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec"
    )
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d:\d{3}"
    assert re.fullmatch(rf"{stamp}, {stamp}, 0\.0477, [\d.]+, 500, [\d.]+, \d+, \d+, [\d.]+, [\d.]+", line), line
