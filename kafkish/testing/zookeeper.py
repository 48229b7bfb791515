"""A real ZooKeeper server for tests: one process on a free port of 127.0.0.1, its data in a folder.

    with ZooKeeper() as zk:
        Broker({"zookeeper.connect": zk.connect, ...})

Where ZooKeeper and Java are: ``kafkish.zookeeper_install`` (``KAFKISH_ZOOKEEPER_CLASSPATH`` or
``ZOOKEEPER_CLASSPATH``, ``ZOOKEEPER_HOME``, Debian's ``zookeeper`` package; ``JAVA_HOME`` or the PATH).
When either is missing, ``ZooKeeperUnavailable`` says what to install; the pytest plugin turns it into
a skip with that reason.

Readiness is ZooKeeper's own ``srvr`` answer (the config allows the four-letter words it needs). The
tick is short (200 ms) so test sessions may be short, and expire quickly after a kill.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from kafkish.zookeeper_install import MAIN, ZooKeeperUnavailable, classpath, java

__all__ = ["ZooKeeper", "ZooKeeperUnavailable", "classpath", "free_port", "java"]

TICK_MS = 200


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _srvr(host: str, port: int) -> bytes:
    with socket.create_connection((host, port), timeout=1.0) as sock:
        sock.sendall(b"srvr")
        chunks = []
        while chunk := sock.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks)


class ZooKeeper:
    def __init__(self, data_dir: str | Path | None = None, *, start_timeout: float = 60.0) -> None:
        self._own_dir = data_dir is None
        self.dir = Path(tempfile.mkdtemp(prefix="kafkish-zk-")) if data_dir is None else Path(data_dir)
        self.host = "127.0.0.1"
        self.port = 0
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.dir / "zookeeper.log"

    @property
    def connect(self) -> str:
        """The ``zookeeper.connect`` string of this server."""
        return f"{self.host}:{self.port}"

    def start(self) -> ZooKeeper:
        path, binary = classpath(), java()
        self.dir.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port(self.host)
        config = self.dir / "zoo.cfg"
        config.write_text(
            f"tickTime={TICK_MS}\ndataDir={self.dir / 'data'}\nclientPort={self.port}\nclientPortAddress={self.host}\n"
            f"minSessionTimeout={2 * TICK_MS}\nmaxSessionTimeout=60000\nmaxClientCnxns=0\n"
            "admin.enableServer=false\n4lw.commands.whitelist=ruok,srvr,stat\n"
        )
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(
                [binary, "-Xmx128m", "-XX:+UseSerialGC", "-cp", path, MAIN, str(config)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=self.dir,
            )  # fmt: skip
        deadline = time.monotonic() + self.start_timeout
        while not self.serving():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"ZooKeeper did not start on {self.connect}; its log:\n{self.log_text()}")
            time.sleep(0.05)
        return self

    def serving(self) -> bool:
        try:
            return b"Mode: " in _srvr(self.host, self.port)
        except OSError:
            return False

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def close(self) -> None:
        """Stop, and remove a data folder of our own."""
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> ZooKeeper:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
