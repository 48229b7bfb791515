"""Restart time of a broker with many partitions: a clean stop, then how long until it listens again.

    python -m bench.restart --topics 1000                # 1,000 topics of 1 partition
    python -m bench.restart --partitions 10000           # one topic of 10,000 partitions
    python -m bench.restart --partitions 10000 --keep DIR --code /path/to/other/checkout

The log dir is filled once through a real broker (CreateTopics with confluent-kafka, one record per
partition so every log has data, indexes and a producer snapshot), stopped cleanly (SIGTERM), then
started ``--runs`` times; each start is timed from process launch to the broker's "listening on" line,
and each stop is clean. ``--code`` starts the timed brokers from another checkout (to compare the
start-up of an older version on the same data); ``--keep`` keeps the data in DIR (reused if present).
``--recovery-threads`` sets num.recovery.threads.per.data.dir for the timed starts; ``--cold`` drops the
log dir's files from the page cache before each start (``posix_fadvise(DONTNEED)``, these files only),
as after a reboot: then the start waits for the disk. ``--unclean`` times starts after SIGKILL instead
(every log is recovered from its recovery point). Not part of
``make test``: it takes minutes at these sizes.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

ROOT = Path(__file__).resolve().parent.parent
READY = "listening on"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _raise_nofile() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Broker:
    def __init__(self, code: Path, log_dir: Path, port: int, overrides: dict[str, str]) -> None:
        self.code, self.log_dir, self.port, self.overrides = code, log_dir, port, overrides
        self.process: subprocess.Popen[str] | None = None

    def cpu_s(self) -> float:
        """CPU seconds (user + system) the broker process has used so far: less noisy than wall time
        on a shared machine."""
        assert self.process is not None
        with open(f"/proc/{self.process.pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def start(self, timeout_s: float = 600.0) -> float:
        """Start and wait for the ready line; returns the seconds it took."""
        args = [sys.executable, "-m", "broker", "--override", f"listeners=PLAINTEXT://127.0.0.1:{self.port}"]
        args += ["--override", f"log.dirs={self.log_dir}"]
        for key, value in self.overrides.items():
            args += ["--override", f"{key}={value}"]
        started = time.monotonic()
        self.process = subprocess.Popen(
            args, cwd=self.code, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(self.code)}, preexec_fn=_raise_nofile,
        )  # fmt: skip
        assert self.process.stderr is not None
        for line in self.process.stderr:
            if READY in line:
                elapsed = time.monotonic() - started
                self._drain()
                return elapsed
            if time.monotonic() - started > timeout_s:
                break
        self.process.kill()
        raise RuntimeError(f"broker did not start (exit {self.process.wait()})")

    def _drain(self) -> None:
        import threading

        assert self.process is not None and self.process.stderr is not None
        stream = self.process.stderr
        threading.Thread(target=lambda: [None for _ in stream], daemon=True).start()

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(60)

    def stop(self) -> float:
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(600)
        if code != 0:
            raise RuntimeError(f"broker exited with {code}")
        return time.monotonic() - started


def evict_from_page_cache(directory: Path) -> None:
    """Drop the files under ``directory`` from the page cache (they were fsynced at the clean stop)."""
    for root, _, files in os.walk(directory):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fdatasync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def fill(broker: Broker, topics: int, partitions: int) -> None:
    bootstrap = f"127.0.0.1:{broker.port}"
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 3})
    names = [f"t{i:05d}" for i in range(topics)]
    for i in range(0, len(names), 200):
        chunk = [NewTopic(n, partitions, 1) for n in names[i : i + 200]]
        for future in admin.create_topics(chunk, operation_timeout=600, request_timeout=600).values():
            future.result(600)
    producer = Producer({"bootstrap.servers": bootstrap, "log_level": 3, "linger.ms": 50, "acks": "1"})
    for name in names:
        for p in range(partitions):
            producer.produce(name, b"x" * 100, partition=p)
            producer.poll(0)
    if producer.flush(600):
        raise RuntimeError("records left unsent")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topics", type=int, default=1)
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout whose broker is timed")
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the data in this directory")
    parser.add_argument("--recovery-threads", type=int, help="num.recovery.threads.per.data.dir")
    parser.add_argument("--cold", action="store_true", help="start with the log dir out of the page cache")
    parser.add_argument("--unclean", action="store_true", help="time starts after SIGKILL (recovery)")
    args = parser.parse_args(argv)
    base = args.keep or Path(tempfile.mkdtemp(prefix="kafkish-restart-"))
    log_dir = base / "kafka-logs"
    overrides: dict[str, str] = {}
    if args.recovery_threads is not None:
        overrides["num.recovery.threads.per.data.dir"] = str(args.recovery_threads)
    try:
        if not log_dir.exists():
            filler = Broker(ROOT, log_dir, _free_port(), overrides)
            filler.start()
            started = time.monotonic()
            fill(filler, args.topics, args.partitions)
            took = time.monotonic() - started
            print(f"filled {args.topics} topic(s) x {args.partitions} partition(s) in {took:.1f}s")
            print(f"clean stop: {filler.stop():.1f}s")
        if args.unclean:  # leave the log dir as a crash does
            crashed = Broker(args.code, log_dir, _free_port(), overrides)
            crashed.start()
            crashed.kill()
        for run in range(args.runs):
            if args.cold:
                evict_from_page_cache(log_dir)
            broker = Broker(args.code, log_dir, _free_port(), overrides)
            start_s = broker.start()
            cpu_s = broker.cpu_s()
            if args.unclean:
                broker.kill()
                print(f"run {run + 1}: restart after SIGKILL {start_s:.2f}s, {cpu_s:.2f} CPU s", flush=True)
                continue
            stop_s = broker.stop()
            print(f"run {run + 1}: clean restart {start_s:.2f}s, {cpu_s:.2f} CPU s (stop {stop_s:.2f}s)", flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
