"""``python -m broker.local_cluster``: ZooKeeper and N brokers on this machine, for development (`make cluster`).

One foreground process supervises the others: a ZooKeeper server (Debian's ``zookeeper`` package, or
``ZOOKEEPER_HOME`` / ``ZOOKEEPER_CLASSPATH``, found by ``kafkish.zookeeper_install``) on
``--zookeeper-port`` and brokers 0..N-1 on ``--ports`` (default 9092, 9093, 9094), each started as
``python -m broker`` in cluster mode. Everything lives under ``--dir`` (default ./data/cluster):
``zookeeper/`` (its data), ``broker-<id>/`` (log dirs) and ``logs/`` (one file per process:
``zookeeper.log``, ``broker-<id>.log``). A second run reuses the same data, so topics survive.

Invariants: the children run in their own process groups, so a terminal's Ctrl-C reaches this process
only, and stopping is ordered: SIGTERM to every broker (each shuts down cleanly while ZooKeeper still
runs), then SIGTERM to ZooKeeper; a child that outlives its grace period gets SIGKILL. A launcher
killed outright takes its children with it (Linux's parent-death signal). If any child dies
on its own, the rest are stopped the same way and the exit code is 1.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import IO

from kafkish.zookeeper_install import MAIN, ZooKeeperUnavailable, classpath, java

STOP_GRACE_S = 30.0
PR_SET_PDEATHSIG = 1


class LaunchError(RuntimeError):
    pass


def zookeeper_command(config: Path) -> list[str]:
    """The command line of a ZooKeeper server, Java and ZooKeeper found as the test kit finds them, or
    LaunchError saying what to install."""
    try:
        return [java(), "-Xmx256m", "-XX:+UseSerialGC", "-cp", classpath(), MAIN, str(config)]
    except ZooKeeperUnavailable as exc:
        raise LaunchError(str(exc)) from None


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m broker.local_cluster", description="ZooKeeper and a few kafkish brokers on this machine."
    )
    parser.add_argument("--dir", default="data/cluster", help="data and logs (default ./data/cluster)")
    parser.add_argument("--host", default="localhost", help="host the brokers listen on and advertise")
    parser.add_argument(
        "--ports", default="9092,9093,9094", help="one client port per broker, comma-separated (broker ids 0..N-1)"
    )
    parser.add_argument("--zookeeper-port", type=int, default=2181)
    parser.add_argument(
        "--override", action="append", default=[], metavar="KEY=VALUE", help="a property for every broker"
    )
    parser.add_argument("--start-timeout", type=float, default=60.0, help="seconds to wait for each process")
    return parser.parse_args(argv)


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def zookeeper_serving(host: str, port: int) -> bool:
    """ZooKeeper's ``srvr`` answers with a Mode line only once the server serves requests."""
    try:
        with socket.create_connection((host, port), timeout=1.0) as sock:
            sock.sendall(b"srvr")
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
        return b"Mode: " in answer
    except OSError:
        return False


def _end_with_parent() -> None:
    """In the child, before exec (Linux): SIGTERM when the launcher dies, even by SIGKILL, so a
    killed launcher leaves no cluster behind. Elsewhere nothing."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


class Child:
    """One supervised process with its output in a file."""

    def __init__(self, name: str, args: list[str], log_path: Path, cwd: Path | None = None) -> None:
        self.name = name
        self.log_path = log_path
        self._out: IO[bytes] = open(log_path, "ab")  # noqa: SIM115 - closed in wait()
        self.process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=self._out, stderr=subprocess.STDOUT, cwd=cwd,
            start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}, preexec_fn=_end_with_parent,
        )  # fmt: skip

    def alive(self) -> bool:
        return self.process.poll() is None

    def terminate(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)

    def wait(self, deadline: float) -> int:
        try:
            code = self.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"{self.name} did not stop in time: SIGKILL", file=sys.stderr)
            self.process.kill()
            code = self.process.wait()
        self._out.close()
        return code


class LocalCluster:
    def __init__(self, args: argparse.Namespace) -> None:
        self.root = Path(args.dir).resolve()
        self.host: str = args.host
        self.ports = [int(p) for p in str(args.ports).split(",") if p.strip()]
        self.zookeeper_port: int = args.zookeeper_port
        self.overrides: list[str] = args.override
        self.start_timeout_s: float = args.start_timeout
        self.zookeeper: Child | None = None
        self.brokers: list[Child] = []

    def start_zookeeper(self) -> None:
        zk_dir = self.root / "zookeeper"
        config = zk_dir / "zoo.cfg"
        command = zookeeper_command(config)  # before any folder is made: ZooKeeper or Java may be missing
        (zk_dir / "data").mkdir(parents=True, exist_ok=True)
        config.write_text(
            "tickTime=2000\n"
            f"dataDir={zk_dir / 'data'}\n"
            f"clientPort={self.zookeeper_port}\n"
            "maxClientCnxns=0\n"
            "admin.enableServer=false\n"
            "4lw.commands.whitelist=ruok,srvr,stat,cons\n"
        )
        self.zookeeper = Child(
            "zookeeper",
            command,
            self.root / "logs" / "zookeeper.log",
            cwd=zk_dir,
        )
        self._wait(self.zookeeper, lambda: zookeeper_serving("127.0.0.1", self.zookeeper_port))

    def start_broker(self, broker_id: int, port: int) -> Child:
        settings = {
            "broker.id": str(broker_id),
            "listeners": f"PLAINTEXT://{self.host}:{port}",
            "log.dirs": str(self.root / f"broker-{broker_id}"),
            "zookeeper.connect": f"localhost:{self.zookeeper_port}",
            "group.initial.rebalance.delay.ms": "0",
            # Ctrl-C stops every broker at once: the last ones have nobody to hand leadership to, so
            # their controlled shutdown retries (3 attempts) wait 1 s instead of Kafka's 5 s.
            "controlled.shutdown.retry.backoff.ms": "1000",
        }
        args = [sys.executable, "-m", "broker"]
        for key, value in settings.items():
            args += ["--override", f"{key}={value}"]
        for item in self.overrides:
            args += ["--override", item]
        return Child(f"broker {broker_id}", args, self.root / "logs" / f"broker-{broker_id}.log")

    def _wait(self, child: Child, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while not ready():
            if not child.alive():
                raise LaunchError(f"{child.name} exited with {child.process.returncode}; see {child.log_path}")
            if time.monotonic() > deadline:
                raise LaunchError(f"{child.name} not ready in {self.start_timeout_s:.0f}s; see {child.log_path}")
            time.sleep(0.1)

    def start(self) -> None:
        (self.root / "logs").mkdir(parents=True, exist_ok=True)
        self.start_zookeeper()
        zookeeper = self.zookeeper
        assert zookeeper is not None
        print(f"zookeeper on localhost:{self.zookeeper_port} (pid {zookeeper.process.pid}, log {zookeeper.log_path})")
        self.brokers = [self.start_broker(broker_id, port) for broker_id, port in enumerate(self.ports)]
        for broker, port in zip(self.brokers, self.ports, strict=True):
            self._wait(broker, lambda port=port: port_open(self.host, port))  # type: ignore[misc]
            print(f"{broker.name} on {self.host}:{port} (pid {broker.process.pid}, log {broker.log_path})")
        bootstrap = ",".join(f"{self.host}:{port}" for port in self.ports)
        print(f"cluster ready: bootstrap.servers={bootstrap}; Ctrl-C stops it", flush=True)

    def first_exited(self) -> Child | None:
        for child in [*self.brokers, *([self.zookeeper] if self.zookeeper else [])]:
            if not child.alive():
                return child
        return None

    def stop(self) -> None:
        """Brokers first (they deregister and flush while ZooKeeper runs), then ZooKeeper."""
        for broker in self.brokers:
            broker.terminate()
        deadline = time.monotonic() + STOP_GRACE_S
        for broker in self.brokers:
            code = broker.wait(deadline)
            print(f"{broker.name} stopped (exit code {code})", flush=True)
        if self.zookeeper is not None:
            self.zookeeper.terminate()
            self.zookeeper.wait(time.monotonic() + STOP_GRACE_S)
            print("zookeeper stopped", flush=True)


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    cluster = LocalCluster(args)
    code = 0
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _raise_stop)
    try:
        try:
            cluster.start()
            while (exited := cluster.first_exited()) is None:
                time.sleep(0.5)
            print(f"{exited.name} exited with {exited.process.returncode}; see {exited.log_path}", file=sys.stderr)
            code = 1
        except LaunchError as exc:
            print(f"local cluster: {exc}", file=sys.stderr)
            code = 1
        except _Stop:
            print("stopping the cluster", flush=True)
        # Once stopping, further signals are ignored: a second Ctrl-C must not leave children behind.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
    finally:
        cluster.stop()
    return code


if __name__ == "__main__":
    sys.exit(main())
