"""kcat (Debian's package: librdkafka 2.0.2 built in) against the broker, as a shell user runs it.

``make system-deps`` installs kcat; these tests fail, not skip, when it is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.harness import BrokerProcess

TIMEOUT_S = 60.0
KCAT = shutil.which("kcat") or "kcat"


def kcat(broker: BrokerProcess, *args: str, stdin: bytes = b"") -> bytes:
    """Run kcat against the broker; fail with its stderr when it fails."""
    command = [KCAT, "-b", broker.bootstrap, "-X", "api.version.request=true", *args]
    result = subprocess.run(command, input=stdin, capture_output=True, timeout=TIMEOUT_S)
    assert result.returncode == 0, f"{' '.join(command)} exited {result.returncode}:\n{result.stderr.decode()}"
    assert b"ERROR" not in result.stderr, result.stderr.decode()
    return result.stdout


def consume_json(broker: BrokerProcess, topic: str, *args: str) -> list[dict[str, Any]]:
    out = kcat(broker, "-C", "-t", topic, "-o", "beginning", "-e", "-J", *args)
    return [json.loads(line) for line in out.decode().splitlines() if line.strip()]


def test_kcat_is_installed() -> None:
    assert shutil.which("kcat"), "kcat is missing: run `make system-deps` (apt-get install kcat)"


def test_metadata_lists_broker_and_topics(module_broker: BrokerProcess, topic: str) -> None:
    kcat(module_broker, "-P", "-t", topic, stdin=b"hello\n")
    listing = json.loads(kcat(module_broker, "-L", "-J"))
    assert listing["brokers"] == [{"id": 0, "name": f"127.0.0.1:{module_broker.port}"}]
    mine = [t for t in listing["topics"] if t["topic"] == topic]
    assert len(mine) == 1
    [partition] = mine[0]["partitions"]
    assert (partition["partition"], partition["leader"], partition["replicas"], partition["isrs"]) == (
        0, 0, [{"id": 0}], [{"id": 0}],
    )  # fmt: skip
    assert "error" not in mine[0]


def test_keys_values_and_headers(module_broker: BrokerProcess, topic: str) -> None:
    lines = b"k1:one\nk2:two\nk3:three with spaces\n"
    kcat(module_broker, "-P", "-t", topic, "-p", "0", "-K", ":", "-H", "source=kcat", "-H", "n=1", stdin=lines)
    records = consume_json(module_broker, topic)
    assert [(r["offset"], r["key"], r["payload"]) for r in records] == [
        (0, "k1", "one"), (1, "k2", "two"), (2, "k3", "three with spaces"),
    ]  # fmt: skip
    assert all(r["headers"] == ["source", "kcat", "n", "1"] for r in records)
    assert all(r["partition"] == 0 and r["tstype"] == "create" for r in records)


def test_null_keys_and_tombstones(module_broker: BrokerProcess, topic: str) -> None:
    kcat(module_broker, "-P", "-t", topic, "-p", "0", stdin=b"no key here\n")
    kcat(module_broker, "-P", "-t", topic, "-p", "0", "-Z", "-K", ":", stdin=b"gone:\n")  # -Z: empty is NULL
    records = consume_json(module_broker, topic)
    assert [(r["key"], r["payload"]) for r in records] == [(None, "no key here"), ("gone", None)]
    out = kcat(module_broker, "-C", "-t", topic, "-o", "beginning", "-e", "-Z", "-f", "%k|%s|%K|%S\n")
    assert out.decode().splitlines() == ["NULL|no key here|-1|11", "gone|NULL|4|-1"]


def test_format_string(module_broker: BrokerProcess, topic: str) -> None:
    kcat(module_broker, "-P", "-t", topic, "-p", "0", "-K", "=", "-H", "h=v", stdin=b"a=alpha\nb=beta\n")
    out = kcat(module_broker, "-C", "-t", topic, "-o", "beginning", "-e", "-f", "%t %p %o %k %s %h %S\n")
    assert out.decode().splitlines() == [f"{topic} 0 0 a alpha h=v 5", f"{topic} 0 1 b beta h=v 4"]


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_every_codec(module_broker: BrokerProcess, topic: str, codec: str) -> None:
    lines = [f"{codec} line {i} " * (i % 4 + 1) for i in range(300)]
    stdin = "".join(line + "\n" for line in lines).encode()
    kcat(module_broker, "-P", "-t", topic, "-p", "0", "-z", codec, "-X", "linger.ms=50", stdin=stdin)
    out = kcat(module_broker, "-C", "-t", topic, "-o", "beginning", "-e", "-f", "%o %s\n")
    assert out.decode().splitlines() == [f"{i} {line}" for i, line in enumerate(lines)]


def test_one_mib_message_from_a_file(module_broker: BrokerProcess, topic: str, tmp_path: Path) -> None:
    value = os.urandom(1024 * 1024 - 1024)
    path = tmp_path / "big.bin"
    path.write_bytes(value)
    kcat(module_broker, "-P", "-t", topic, "-p", "0", "-X", "message.max.bytes=2097152", str(path))
    out = kcat(module_broker, "-C", "-t", topic, "-o", "beginning", "-e", "-f", "%s", "-X", "fetch.max.bytes=4194304")
    assert out == value


def test_offsets_from_the_end_and_by_timestamp(module_broker: BrokerProcess, topic: str) -> None:
    kcat(module_broker, "-P", "-t", topic, "-p", "0", stdin=b"".join(b"m%d\n" % i for i in range(10)))
    out = kcat(module_broker, "-C", "-t", topic, "-o", "-3", "-e", "-f", "%o:%s\n")
    assert out.decode().splitlines() == ["7:m7", "8:m8", "9:m9"]
    out = kcat(module_broker, "-C", "-t", topic, "-o", "4", "-c", "2", "-f", "%o:%s\n")
    assert out.decode().splitlines() == ["4:m4", "5:m5"]

    stamps = [r["ts"] for r in consume_json(module_broker, topic)]
    assert stamps == sorted(stamps)
    out = kcat(module_broker, "-C", "-t", topic, "-o", f"s@{stamps[6]}", "-e", "-f", "%o\n")
    assert out.decode().splitlines()[0] == str(stamps.index(stamps[6]))
    answer = kcat(module_broker, "-Q", "-t", f"{topic}:0:{stamps[0]}").decode()
    assert "offset 0" in answer


def test_consumer_waits_at_the_end_until_a_record_arrives(module_broker: BrokerProcess, topic: str) -> None:
    kcat(module_broker, "-P", "-t", topic, "-p", "0", stdin=b"first\n")
    command = [KCAT, "-b", module_broker.bootstrap, "-C", "-t", topic, "-o", "beginning", "-c", "2", "-f", "%s\n"]
    waiting = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(1.0)
        assert waiting.poll() is None  # it has the first record and waits for the second
        kcat(module_broker, "-P", "-t", topic, "-p", "0", stdin=b"second\n")
        out, err = waiting.communicate(timeout=TIMEOUT_S)
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait()
    assert waiting.returncode == 0, err.decode()
    assert out.decode().splitlines() == ["first", "second"]


def test_without_api_version_request_falls_back(module_broker: BrokerProcess, topic: str) -> None:
    """librdkafka without ApiVersions assumes an old broker (broker.version.fallback) and uses v0 requests."""
    command = [KCAT, "-b", module_broker.bootstrap, "-X", "api.version.request=false",
               "-X", "broker.version.fallback=0.10.0", "-P", "-t", topic, "-p", "0"]  # fmt: skip
    result = subprocess.run(command, input=b"legacy\n", capture_output=True, timeout=TIMEOUT_S)
    assert result.returncode == 0, result.stderr.decode()
    out = kcat(module_broker, "-C", "-t", topic, "-o", "beginning", "-e", "-f", "%o %s\n")
    assert out.decode().splitlines() == ["0 legacy"]
