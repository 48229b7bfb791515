"""Instructions the broker executes per request, counted by callgrind, beside a baseline revision.

Wall-clock benchmarks on a shared two-core machine move by 10-20% from one run to the next; the
instructions a fixed workload costs do not (callgrind counts them, repeatably, whatever else runs).
This runs the broker of the working tree and, with ``--baseline REV``, the broker of an earlier
revision (checked out into a temporary git worktree) under ``valgrind --tool=callgrind``, sends both
the same raw requests from this process (pre-built batches, one connection, one request at a time, so
nothing depends on timing), and prints the instructions per request of each phase:

- produce: ``--requests`` Produce v9 requests (acks=1) of ``--records`` 1 KiB records each;
- consume: Fetch v11 requests of 1 MiB reading all of it back from offset 0.

Counters are dumped between phases with ``callgrind_control``. ``make bench-instructions``
(``BASELINE=<rev>``) runs it; it takes a few minutes per broker (callgrind slows Python ~50x).
"""

from __future__ import annotations

import argparse
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from protocol.api import lookup
from protocol.headers import RequestHeader, decode_response, encode_request
from protocol.messages.fetch import FetchPartition, FetchRequest, FetchTopic
from protocol.messages.metadata import MetadataRequest, MetadataRequestTopic
from protocol.messages.produce import PartitionProduceData, ProduceRequest, TopicProduceData
from protocol.records import Record, build_batch, iter_batches

ROOT = Path(__file__).resolve().parent.parent
TOPIC = "instructions"
TIMESTAMP = 1_700_000_000_000
_SIZE = struct.Struct(">i")


class _Client:
    def __init__(self, port: int, deadline_s: float) -> None:
        end = time.monotonic() + deadline_s
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=deadline_s)
                break
            except OSError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.5)
        self.correlation_id = 0

    def request(self, key: int, version: int, body: Any) -> Any:
        self.correlation_id += 1
        header = RequestHeader(
            request_api_key=key, request_api_version=version, correlation_id=self.correlation_id, client_id="ir"
        )
        self.sock.sendall(encode_request(header, body))
        (size,) = _SIZE.unpack(self._read(4))
        return decode_response(lookup(key), version, self._read(size))[1]

    def _read(self, n: int) -> bytes:
        data = bytearray()
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("the broker closed the connection")
            data += chunk
        return bytes(data)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _totals(out: Path, pid: int) -> dict[str, int]:
    """Instructions per callgrind dump of ``pid``, by the dump's trigger."""
    found: dict[str, int] = {}
    for path in sorted(out.glob(f"cg.{pid}*")):
        text = path.read_text(encoding="utf-8", errors="replace")
        trigger = re.search(r"^desc: Trigger: (.*)$", text, re.M)
        total = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
        if trigger and total:
            found[trigger.group(1).split()[-1]] = int(total.group(1))  # "dump <name>"
    return found


def measure(tree: Path, requests: int, records: int, work: Path) -> dict[str, float]:
    """Instructions per produce and per fetch request of the broker in ``tree``."""
    port = _free_port()
    args = [
        "valgrind", "--tool=callgrind", f"--callgrind-out-file={work}/cg.%p", sys.executable, "-m", "broker",
        "--override", f"listeners=PLAINTEXT://127.0.0.1:{port}", "--override", f"log.dirs={work / 'data'}",
    ]  # fmt: skip
    with open(work / "broker.log", "w", encoding="utf-8") as log:
        process = subprocess.Popen(args, cwd=tree, stdout=subprocess.DEVNULL, stderr=log)
    try:
        client = _Client(port, deadline_s=600)
        metadata = MetadataRequest(topics=[MetadataRequestTopic(name=TOPIC)], allow_auto_topic_creation=True)
        client.request(3, 9, metadata)
        time.sleep(1)
        client.request(3, 9, metadata)

        def dump(name: str) -> None:
            subprocess.run(["callgrind_control", f"--dump={name}", str(process.pid)], stdout=subprocess.DEVNULL)

        value = b"x" * 1024
        batch = build_batch([Record(i, TIMESTAMP, b"k", value, []) for i in range(records)], base_offset=0)
        dump("ready")
        for _ in range(requests):
            body = ProduceRequest(acks=1, timeout_ms=30000, topic_data=[
                TopicProduceData(name=TOPIC, partition_data=[PartitionProduceData(index=0, records=batch)])
            ])  # fmt: skip
            response = client.request(0, 9, body)
            assert response.responses[0].partition_responses[0].error_code == 0, response
        dump("produced")
        offset, fetches = 0, 0
        while offset < requests * records:
            fetch = FetchRequest(max_wait_ms=0, min_bytes=1, max_bytes=1 << 20, topics=[
                FetchTopic(topic=TOPIC, partitions=[FetchPartition(partition=0, fetch_offset=offset,
                                                                   partition_max_bytes=1 << 20)])
            ])  # fmt: skip
            partition = client.request(1, 11, fetch).responses[0].partitions[0]
            for header, _ in iter_batches(bytes(partition.records or b"")):
                offset = header.base_offset + header.last_offset_delta + 1
            fetches += 1
        dump("consumed")
        client.sock.close()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(600)
    totals = _totals(work, process.pid)
    return {
        "produce_per_request": totals["produced"] / requests,
        "fetch_per_request": totals["consumed"] / fetches,
        "fetches": fetches,
        "startup": totals["ready"],
    }


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("--baseline", help="a git revision to measure beside the working tree")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--records", type=int, default=10, help="1 KiB records per produce request")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("valgrind is not installed (apt-get install valgrind)")
        return {}
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="kafkish-instructions-") as tmp:
        trees = {"working tree": ROOT}
        if args.baseline:
            baseline = Path(tmp) / "baseline"
            subprocess.run(["git", "worktree", "add", "--detach", str(baseline), args.baseline], cwd=ROOT, check=True)
            trees[args.baseline] = baseline
        try:
            for name, tree in trees.items():
                work = Path(tmp) / f"run-{len(results)}"
                work.mkdir()
                results[name] = measure(tree, args.requests, args.records, work)
        finally:
            if args.baseline:
                subprocess.run(["git", "worktree", "remove", "--force", str(Path(tmp) / "baseline")], cwd=ROOT)
    print(f"{'broker':<16} {'produce instr/request':>22} {'fetch instr/request':>20} {'startup instr':>15}")
    for name, figures in results.items():
        print(f"{name[:16]:<16} {figures['produce_per_request']:>22,.0f} {figures['fetch_per_request']:>20,.0f} "
              f"{figures['startup']:>15,.0f}")  # fmt: skip
    return results


if __name__ == "__main__":
    main()
