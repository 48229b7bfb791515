"""Start a real kafkish broker process for a test: free port, its own log dir, logs captured.

    with BrokerProcess(tmp_path) as broker:
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap)

``kill()`` is SIGKILL (an unclean stop), ``stop()`` SIGTERM (a clean one), ``restart()`` starts a new
process on the same port and log dir.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parent.parent
READY = "listening on"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BrokerProcess:
    def __init__(self, tmp: Path, overrides: dict[str, str] | None = None, start_timeout_s: float = 30.0) -> None:
        self.port = free_port()
        self.log_dir = tmp / "kafka-logs"
        self.output_path = tmp / "broker.log"
        self.overrides = {
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "log.dirs": str(self.log_dir),
            **(overrides or {}),
        }
        self.start_timeout_s = start_timeout_s
        self.process: subprocess.Popen[str] | None = None
        self._lines: list[str] = []
        self._reader: threading.Thread | None = None

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
        self.process = subprocess.Popen(
            args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        ready = threading.Event()
        self._reader = threading.Thread(target=self._read, args=(self.process, ready), daemon=True)
        self._reader.start()
        if not ready.wait(self.start_timeout_s):
            self.kill()
            raise RuntimeError(f"broker did not start in {self.start_timeout_s}s:\n{self.output}")
        return self

    def _read(self, process: subprocess.Popen[str], ready: threading.Event) -> None:
        assert process.stderr is not None
        with open(self.output_path, "a", encoding="utf-8") as copy:
            for line in process.stderr:
                self._lines.append(line)
                copy.write(line)
                if READY in line:
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
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the port may linger briefly after the old process exits
            try:
                with socket.socket() as s:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind(("127.0.0.1", self.port))
                break
            except OSError:
                time.sleep(0.1)
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
