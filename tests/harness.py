"""Start a real kafkish broker process for a test: ephemeral port, its own log dir, logs captured.

    with BrokerProcess(tmp_path) as broker:
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap)

Listeners given with port 0 (the default ``PLAINTEXT://127.0.0.1:0``) are bound by the broker itself, which
names the ports it got in its ready line; ``port`` (the first listener's) and ``ports`` (by listener name)
are read from there. So tests running in parallel (pytest-xdist) never race for a port. Once started, the
ports are pinned: ``kill()`` is SIGKILL (an unclean stop), ``stop()`` SIGTERM (a clean one), and
``restart()``/``start()`` start a new process on the same ports and log dir.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parent.parent
_STARTED: list[BrokerProcess] = []
READY = "listening on"  # in the broker's ready line (and in the fault endpoint's, which has no "(advertised ")
# One listener in the ready line: "NAME://bind_host:port (advertised host:port)".
_LISTENING = re.compile(r"(\w+)://\S+:(\d+) \(advertised ")


def _ready(line: str) -> bool:
    return READY in line and "(advertised " in line


def free_port() -> int:
    """A port free right now, for an address nothing will listen on (or a server that cannot bind port 0
    and retries on address-in-use): another process may take it before anyone binds it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port_free(port: int, timeout_s: float = 10.0) -> None:
    """Until ``port`` can be bound again (a listener's port lingers briefly after its process exits)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", port))
            return
        except OSError:
            time.sleep(0.1)


def started_brokers() -> list[BrokerProcess]:
    """Every broker this process has started and not seen stopped at a test's start (tests/conftest.py
    attaches their logs to a failing test's report)."""
    return _STARTED


class BrokerProcess:
    def __init__(self, tmp: Path, overrides: dict[str, str] | None = None, start_timeout_s: float = 30.0) -> None:
        self.ports: dict[str, int] = {}  # listener name -> bound port, known once started
        self.log_dir = tmp / "kafka-logs"
        self.output_path = tmp / "broker.log"
        self.overrides = {
            "listeners": "PLAINTEXT://127.0.0.1:0",
            "log.dirs": str(self.log_dir),
            **(overrides or {}),
        }
        self.start_timeout_s = start_timeout_s
        self.preexec: Callable[[], None] | None = None  # run in the child before it execs (e.g. setrlimit)
        self.process: subprocess.Popen[str] | None = None
        self._lines: list[str] = []
        self._reader: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The first listener's port (the one ``bootstrap`` names)."""
        if not self.ports:
            raise RuntimeError("the broker has not started yet: its ports are known once it listens")
        return next(iter(self.ports.values()))

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def output(self) -> str:
        return "".join(self._lines)

    def start(self) -> BrokerProcess:
        args = [sys.executable, "-m", "broker"]
        for key, value in self.overrides.items():
            args += ["--override", f"{key}={value}"]
        self._lines = []
        if self not in _STARTED:
            _STARTED.append(self)
        self.process = subprocess.Popen(
            args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"}, preexec_fn=self.preexec,
        )  # fmt: skip
        ready = threading.Event()
        self._reader = threading.Thread(target=self._read, args=(self.process, ready), daemon=True)
        self._reader.start()
        if not ready.wait(self.start_timeout_s):
            self.kill()
            raise RuntimeError(f"broker did not start in {self.start_timeout_s}s:\n{self.output}")
        self._read_ports()  # none when the process ended without ever listening
        return self

    def _read_ports(self) -> None:
        """The bound ports from the ready line; pins them in ``listeners`` for the next start."""
        line = next((line for line in self._lines if _ready(line)), None)
        if line is None:
            return
        self.ports = {name: int(port) for name, port in _LISTENING.findall(line.split(READY, 1)[1])}
        listeners = self.overrides["listeners"].split(",")
        pinned = []
        for listener in listeners:
            name, _, address = listener.strip().partition("://")
            host, _, port = address.rpartition(":")
            if port == "0" and name.upper() in self.ports:
                listener = f"{name}://{host}:{self.ports[name.upper()]}"
            pinned.append(listener)
        self.overrides["listeners"] = ",".join(pinned)

    def _read(self, process: subprocess.Popen[str], ready: threading.Event) -> None:
        assert process.stderr is not None
        with open(self.output_path, "a", encoding="utf-8") as copy:
            for line in process.stderr:
                self._lines.append(line)
                copy.write(line)
                copy.flush()  # a failing test's report reads it (tests/conftest.py)
                if _ready(line):
                    ready.set()
        ready.set()

    def stop(self, timeout_s: float = 15.0) -> int:
        """SIGTERM and wait: a clean shutdown. Returns the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout_s)
        if self._reader is not None:
            self._reader.join(5)
        return code

    def kill(self) -> None:
        """SIGKILL: the broker gets no chance to flush or checkpoint."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        if self._reader is not None:
            self._reader.join(5)

    def restart(self, clean: bool = True) -> BrokerProcess:
        if clean:
            self.stop()
        else:
            self.kill()
        for port in self.ports.values():
            wait_port_free(port)
        return self.start()

    def __enter__(self) -> BrokerProcess:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                self.stop()
            except subprocess.TimeoutExpired:
                self.kill()
