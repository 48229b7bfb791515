"""One client must not take the broker down: what a connection may hold, and how many there may be.

Each test starts a real broker process and talks to it over raw sockets; the broker's memory and
descriptors are read from ``/proc/<pid>/``. The cases: a client that pipelines Fetch requests without
reading and then disconnects (down-converted answers held in memory, sendfile answers holding
descriptors), a client that leaves with a long-poll Fetch pending, ``connections.max.idle.ms``,
``max.connections``, ``max.connections.per.ip`` (and its overrides), and running out of descriptors.
"""

from __future__ import annotations

import os
import resource
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from protocol.headers import RequestHeader, encode_request
from protocol.messages.api_versions import ApiVersionsRequest
from protocol.messages.fetch import FetchPartition, FetchRequest, FetchTopic
from tests.harness import ROOT, BrokerProcess
from tests.raw_client import RawClient, batch, values_in

FETCH, API_VERSIONS = 1, 18
PARTITIONS = 16
VALUE = b"v" * (16 << 10)
PER_PARTITION = 16  # records of 16 KiB: 256 KiB a partition, 4 MiB an answer over all partitions
PIPELINED = 64
IDLE_MS = 6000
WAIT_S = 60.0


def wait_for(condition: Callable[[], bool], timeout_s: float = WAIT_S) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def pid_of(broker: BrokerProcess) -> int:
    assert broker.process is not None
    return broker.process.pid


def descriptors(broker: BrokerProcess) -> int:
    return len(os.listdir(f"/proc/{pid_of(broker)}/fd"))


def rss_mib(broker: BrokerProcess) -> float:
    with open(f"/proc/{pid_of(broker)}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def answers(broker: BrokerProcess, timeout_s: float = 20.0) -> bool:
    """A new client's ApiVersions is answered."""
    client = RawClient(broker, timeout_s=timeout_s)
    try:
        return bool(client.request(API_VERSIONS, 2, ApiVersionsRequest()).error_code == 0)
    except ConnectionError:  # closed at accept: not (yet) let in
        return False
    finally:
        client.close()


def fetch_bytes(topic: str, version: int, correlation_id: int, max_wait_ms: int = 0) -> bytes:
    partitions = [FetchPartition(partition=p, fetch_offset=0, partition_max_bytes=8 << 20) for p in range(PARTITIONS)]
    body = FetchRequest(
        max_wait_ms=max_wait_ms,
        min_bytes=1,
        max_bytes=50 << 20,
        topics=[FetchTopic(topic=topic, partitions=partitions)],
    )
    header = RequestHeader(
        request_api_key=FETCH, request_api_version=version, correlation_id=correlation_id, client_id="non-reader"
    )
    return encode_request(header, body)


def slow_socket(broker: BrokerProcess) -> socket.socket:
    """A client socket with a small receive buffer, so the broker's writes to it stall at once."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", broker.port))
    return sock


def reset(sock: socket.socket) -> None:
    """Leave abruptly: an RST, as a killed client's kernel sends when its unread bytes are dropped."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


@pytest.fixture
def loaded(tmp_path: Path) -> Iterator[BrokerProcess]:
    overrides = {"num.partitions": str(PARTITIONS), "connections.max.idle.ms": str(IDLE_MS)}
    with BrokerProcess(tmp_path, overrides) as broker:
        client = RawClient(broker)
        client.create_topic("big")
        for p in range(PARTITIONS):
            for _ in range(PER_PARTITION // 4):
                response = client.produce("big", batch(VALUE, VALUE, VALUE, VALUE), partition=p)
                assert response.responses[0].partition_responses[0].error_code == 0
        client.close()
        yield broker
        assert broker.process is not None and broker.process.poll() is None, broker.output


@pytest.mark.parametrize("leave", ["reset", "fin", "stay"])
@pytest.mark.parametrize("version", [3, 11], ids=["down-converted", "sendfile"])
def test_pipelining_non_reader(loaded: BrokerProcess, version: int, leave: str) -> None:
    """64 pipelined Fetches of 4 MiB answers, none read; then the client resets, closes its side, or
    stays until connections.max.idle.ms: the broker holds a bounded amount, then lets go of it all."""
    assert answers(loaded)
    fds_before, rss_before = descriptors(loaded), rss_mib(loaded)
    sock = slow_socket(loaded)
    sock.sendall(b"".join(fetch_bytes("big", version, i) for i in range(PIPELINED)))
    time.sleep(3)  # the broker handles what it is willing to hold
    held_fds, held_rss = descriptors(loaded), rss_mib(loaded)
    assert answers(loaded)  # other clients are served meanwhile
    if leave == "reset":
        reset(sock)
    elif leave == "fin":
        sock.shutdown(socket.SHUT_WR)  # and still reads nothing
    # Its socket and everything its answers held are released (for "stay": once it has been idle).
    assert wait_for(lambda: descriptors(loaded) <= fds_before), (fds_before, held_fds, descriptors(loaded))
    assert wait_for(lambda: rss_mib(loaded) < rss_before + 120), (rss_before, held_rss, rss_mib(loaded))
    # While the client was there, the broker held a bounded amount for it.
    assert held_fds - fds_before < 100, (fds_before, held_fds)
    assert held_rss - rss_before < 200, (rss_before, held_rss)
    assert answers(loaded)
    assert "Traceback" not in loaded.output
    sock.close()


def test_closed_long_poll_client_releases_its_socket(broker: BrokerProcess) -> None:
    client = RawClient(broker)
    client.create_topic("quiet")
    before = descriptors(broker)
    leavers = []
    for _ in range(20):
        sock = socket.create_connection(("127.0.0.1", broker.port), timeout=10)
        body = FetchRequest(
            max_wait_ms=600_000,
            min_bytes=1,
            topics=[FetchTopic(topic="quiet", partitions=[FetchPartition(partition=0, partition_max_bytes=1 << 20)])],
        )
        sock.sendall(
            encode_request(RequestHeader(request_api_key=FETCH, request_api_version=11, correlation_id=1), body)
        )
        leavers.append(sock)
    assert wait_for(lambda: descriptors(broker) >= before + 20)
    for sock in leavers:
        sock.close()  # a FIN: the client is gone, its long poll has nobody to answer
    assert wait_for(lambda: descriptors(broker) <= before, timeout_s=20), (before, descriptors(broker))
    assert client.latest_offset("quiet") == 0
    client.close()
    assert "Traceback" not in broker.output


def test_idle_connection_is_closed(tmp_path: Path) -> None:
    with BrokerProcess(tmp_path, {"connections.max.idle.ms": "1000"}) as broker:
        idle, busy = RawClient(broker), RawClient(broker)
        assert idle.request(API_VERSIONS, 2, ApiVersionsRequest()).error_code == 0
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:  # the busy one keeps talking and stays open
            assert busy.request(API_VERSIONS, 2, ApiVersionsRequest()).error_code == 0
            time.sleep(0.2)
        assert idle.reads_eof()
        assert busy.request(API_VERSIONS, 2, ApiVersionsRequest()).error_code == 0


def test_max_connections_per_ip_rejects_the_extra_one(tmp_path: Path) -> None:
    with BrokerProcess(tmp_path, {"max.connections.per.ip": "2"}) as broker:
        first, second = RawClient(broker), RawClient(broker)
        third = RawClient(broker)
        assert third.reads_eof()  # accepted and closed at once
        for client in (first, second):
            assert client.request(API_VERSIONS, 2, ApiVersionsRequest()).error_code == 0
        assert wait_for(lambda: "Rejected connection from 127.0.0.1" in broker.output)
        first.close()
        assert wait_for(lambda: answers(broker))  # a slot is free again
        second.close()


def test_max_connections_per_ip_overrides(tmp_path: Path) -> None:
    overrides = {"max.connections.per.ip": "1", "max.connections.per.ip.overrides": "127.0.0.1:3"}
    with BrokerProcess(tmp_path, overrides) as broker:
        clients = [RawClient(broker) for _ in range(3)]
        for client in clients:
            assert client.request(API_VERSIONS, 2, ApiVersionsRequest()).error_code == 0
        extra = RawClient(broker)
        assert extra.reads_eof()
        for client in clients:
            client.close()


def test_max_connections_blocks_new_ones_until_a_slot_frees(tmp_path: Path) -> None:
    """Kafka's broker-wide limit: new connections wait in the accept backlog, unanswered."""
    with BrokerProcess(tmp_path, {"max.connections": "2"}) as broker:
        first, second = RawClient(broker), RawClient(broker)
        for client in (first, second):
            assert client.request(API_VERSIONS, 2, ApiVersionsRequest()).error_code == 0
        waiting = RawClient(broker, timeout_s=2)
        waiting.send(API_VERSIONS, 2, ApiVersionsRequest())
        with pytest.raises(TimeoutError):
            waiting.read_frame()
        assert second.request(API_VERSIONS, 2, ApiVersionsRequest()).error_code == 0
        first.close()
        waiting.sock.settimeout(20)
        assert waiting.receive(API_VERSIONS, 2).error_code == 0
        second.close()
        waiting.close()


def test_running_out_of_descriptors(tmp_path: Path) -> None:
    """At a low RLIMIT_NOFILE, a crowd of clients exhausts it: one log line, and service resumes."""
    with BrokerProcess(tmp_path) as broker:
        consumer = RawClient(broker)  # connected before the crowd came
        consumer.create_topic("t")
        assert consumer.produce("t", batch(VALUE, VALUE, VALUE)).responses[0].partition_responses[0].error_code == 0
        limit = descriptors(broker) + 40
        resource.prlimit(pid_of(broker), resource.RLIMIT_NOFILE, (limit, limit))
        crowd = []
        for _ in range(100):
            try:
                crowd.append(socket.create_connection(("127.0.0.1", broker.port), timeout=1))
            except OSError:
                break
        assert wait_for(lambda: descriptors(broker) >= limit - 1, timeout_s=20)
        time.sleep(3)  # the broker keeps failing to accept meanwhile
        # A region too big to read at once would get a descriptor of its own for sendfile: there is
        # none to spare, so it is read instead, and the consumer gets its records.
        fetched = consumer.fetch("t", 0).responses[0].partitions[0]
        assert (fetched.error_code, values_in(fetched.records)) == (0, [VALUE] * 3)
        lines = broker.output.splitlines()
        # Lines about accepting (other work that needs a descriptor meanwhile may fail and say so too).
        complaints = [
            line for line in lines if "accept" in line and ("open files" in line or "out of system resource" in line)
        ]
        for sock in crowd:
            sock.close()
        assert wait_for(lambda: answers(broker, timeout_s=5))
        assert len(complaints) == 1, (len(lines), complaints[:5])
        assert broker.process is not None and broker.process.poll() is None


def test_soft_descriptor_limit_is_raised_to_the_hard_one(tmp_path: Path) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == hard:
        low = max(256, hard // 2)
        resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard))
    try:
        broker = BrokerProcess(tmp_path).start()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    try:
        assert resource.prlimit(pid_of(broker), resource.RLIMIT_NOFILE) == (hard, hard)
    finally:
        broker.stop()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("max.connections.per.ip.overrides", "127.0.0.1"),
        ("max.connections.per.ip", "-1"),
        ("max.connections", "-5"),
    ],
)
def test_invalid_connection_quota_exits_1(tmp_path: Path, key: str, value: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "broker", "--override", f"log.dirs={tmp_path}", "--override", f"{key}={value}"],
        cwd=ROOT, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 1
    assert key in result.stderr
    assert "Traceback" not in result.stderr
