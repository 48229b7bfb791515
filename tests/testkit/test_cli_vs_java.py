"""``kafkish`` subcommands and Kafka's own Java tools on the same broker print the same bytes.

Runs when ``KAFKA_BIN`` names the ``bin/`` folder of Kafka's tools (shared/kafka-java/README.md shows
how to install them); without them, test_cli.py checks the same formats against captured output.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kafkish.testing import Broker
from tests.testkit.cli import kafkish

KAFKA_BIN = os.environ.get("KAFKA_BIN")
pytestmark = pytest.mark.skipif(not KAFKA_BIN, reason="set KAFKA_BIN to Kafka's tools' bin/ to compare with them")


def java(tool: str, *args: str) -> str:
    assert KAFKA_BIN is not None
    done = subprocess.run(
        [str(Path(KAFKA_BIN) / f"kafka-{tool}.sh"), *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def bootstrap() -> Iterator[str]:
    with Broker() as broker:
        b = ("--bootstrap-server", broker.bootstrap_servers)
        kafkish("topics", *b, "--create", "--topic", "same", "--partitions", "3", "--config", "retention.ms=100000")
        kafkish("console-producer", *b, "--topic", "same", "--property", "parse.key=true",
                stdin="k1\tv1\nk2\tv2\nk3\tv3\nk4\tv4\n")  # fmt: skip
        kafkish("console-consumer", *b, "--topic", "same", "--from-beginning", "--max-messages", "4", "--group", "g1")
        yield broker.bootstrap_servers


@pytest.mark.parametrize(
    "tool,args",
    [
        ("topics", ["--describe", "--topic", "same"]),
        ("topics", ["--list"]),
        ("broker-api-versions", []),
        ("consumer-groups", ["--describe", "--group", "g1"]),
        ("consumer-groups", ["--describe", "--group", "g1", "--members"]),
        ("consumer-groups", ["--describe", "--group", "g1", "--state"]),
        ("consumer-groups", ["--list"]),
        ("consumer-groups", ["--group", "g1", "--topic", "same", "--reset-offsets", "--to-earliest", "--dry-run"]),
        ("consumer-groups", ["--group", "g1", "--all-topics", "--reset-offsets", "--shift-by", "-1"]),
        ("get-offsets", ["--topic", "same"]),
        ("get-offsets", ["--topic", "same", "--time", "-2"]),
        ("configs", ["--describe", "--entity-type", "topics", "--entity-name", "same"]),
        ("leader-election", ["--election-type", "preferred", "--topic", "same", "--partition", "0"]),
        ("leader-election", ["--election-type", "preferred", "--all-topic-partitions"]),
        ("transactions", ["list"]),
        ("transactions", ["describe-producers", "--topic", "same", "--partition", "0"]),
        ("transactions", ["find-hanging", "--topic", "same"]),
        ("reassign-partitions", ["--list"]),
        (
            "console-consumer",
            [
                "--topic",
                "same",
                "--partition",
                "0",
                "--offset",
                "earliest",
                "--timeout-ms",
                "3000",
                "--property",
                "print.key=true",
                "--property",
                "print.offset=true",
                "--property",
                "print.headers=true",
            ],
        ),
    ],
)
def test_same_output_as_kafkas_tool(bootstrap: str, tool: str, args: list[str]) -> None:
    ours = kafkish(tool, "--bootstrap-server", bootstrap, *args)
    assert ours.code == 0, ours.stderr
    theirs = java(tool, "--bootstrap-server", bootstrap, *args)
    if tool == "consumer-groups":  # Java prints a group's partitions in hash-map order, ours sorted
        assert sorted(ours.stdout.split("\n")) == sorted(theirs.split("\n"))
    else:
        assert ours.stdout == theirs
