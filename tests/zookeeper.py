"""Start a real ZooKeeper server process for a test: free port (another on address-in-use), generated
config, data dir in tmp.

    with ZooKeeperServer(tmp_path) as zk:
        client = KazooClient(hosts=zk.connect)

It runs Debian's ZooKeeper (package ``zookeeper``, 3.8: ``/usr/share/java/zookeeper.jar``, whose manifest
names every jar it needs) in the foreground as ``java -cp ... ZooKeeperServerMain zoo.cfg``. Elsewhere set
``ZOOKEEPER_HOME`` to an Apache ZooKeeper binary release (its ``lib/*.jar``) or ``ZOOKEEPER_CLASSPATH``
(the lookup is ``kafkish.zookeeper_install``'s, shared with the test kit and ``make cluster``).
Readiness is ZooKeeper's own answer to ``srvr`` (the config whitelists the four-letter words it needs).

``stop()`` is SIGTERM, ``kill()`` SIGKILL, ``restart()`` a new process on the same port and data dir
(sessions survive a restart that is shorter than their timeout, as with a real ensemble).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from kafkish.zookeeper_install import MAIN
from kafkish.zookeeper_install import ZooKeeperUnavailable as ZooKeeperMissing
from kafkish.zookeeper_install import classpath as zookeeper_classpath
from kafkish.zookeeper_install import java as java_binary
from tests.harness import free_port

__all__ = ["ZooKeeperMissing", "ZooKeeperServer", "four_letter_word", "java_binary", "zookeeper_classpath"]

TICK_MS = 200  # sessions may be as short as 2 ticks; tests use short ones to see expiry quickly


def four_letter_word(host: str, port: int, word: bytes, timeout_s: float = 2.0) -> bytes:
    """ZooKeeper's admin words (ruok, srvr): send four bytes, read until the server closes."""
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.sendall(word)
        chunks = []
        while chunk := sock.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks)


class ZooKeeperServer:
    def __init__(self, tmp: Path, start_timeout_s: float = 30.0) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.dir = tmp / "zookeeper"
        self.data_dir = self.dir / "data"
        self.config_path = self.dir / "zoo.cfg"
        self.output_path = self.dir / "zookeeper.log"
        self.start_timeout_s = start_timeout_s
        self.process: subprocess.Popen[bytes] | None = None
        self.started_in_s = 0.0  # how long the last start took until ZooKeeper answered
        self._pinned = False  # started once: the port is ours, restarts keep it

    @property
    def connect(self) -> str:
        """A ``zookeeper.connect`` string for this server."""
        return f"{self.host}:{self.port}"

    def _write_config(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(
            f"tickTime={TICK_MS}\n"
            f"dataDir={self.data_dir}\n"
            f"clientPort={self.port}\n"
            f"clientPortAddress={self.host}\n"
            f"minSessionTimeout={2 * TICK_MS}\n"
            "maxSessionTimeout=60000\n"
            "maxClientCnxns=0\n"
            "admin.enableServer=false\n"
            "4lw.commands.whitelist=ruok,srvr,stat,cons\n"
        )

    def start(self) -> ZooKeeperServer:
        """Start and wait until it serves. ZooKeeper cannot listen on port 0, so the first start takes a free
        port, and another one if a parallel process took it meanwhile; later starts keep the port."""
        for attempt in range(1 if self._pinned else 5):
            if attempt:
                self.port = free_port()
            if self._start_once(last=self._pinned or attempt == 4):
                break
        self._pinned = True
        return self

    def _start_once(self, last: bool) -> bool:
        """False if the port was taken (and ``last`` is false); raises if ZooKeeper fails otherwise."""
        classpath = zookeeper_classpath()
        java = java_binary()
        self._write_config()
        started = time.monotonic()
        logged = self.output_path.stat().st_size if self.output_path.exists() else 0
        with open(self.output_path, "ab") as out:
            self.process = subprocess.Popen(
                [java, "-Xmx128m", "-XX:+UseSerialGC", "-cp", classpath, MAIN, str(self.config_path)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=self.dir,
            )  # fmt: skip
        deadline = started + self.start_timeout_s
        while True:
            if self.process.poll() is not None:
                if not last and "java.net.BindException" in self._output_since(logged):
                    return False
                raise RuntimeError(f"ZooKeeper exited with {self.process.returncode}:\n{self.output}")
            if self.is_ok():
                break
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"ZooKeeper did not answer in {self.start_timeout_s}s:\n{self.output}")
            time.sleep(0.05)
        self.started_in_s = time.monotonic() - started
        return True

    def _output_since(self, offset: int) -> str:
        with open(self.output_path, "rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def is_ok(self) -> bool:
        """Serving requests: ``ruok`` says imok as soon as the port is open, ``srvr`` only once it serves."""
        try:
            return b"Mode: " in four_letter_word(self.host, self.port, b"srvr", timeout_s=1.0)
        except OSError:
            return False

    def srvr(self) -> str:
        return four_letter_word(self.host, self.port, b"srvr").decode()

    @property
    def output(self) -> str:
        try:
            return self.output_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM and wait."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def restart(self, down_s: float = 0.0) -> ZooKeeperServer:
        """Stop, stay down ``down_s`` seconds, start again with the same port and data."""
        self.stop()
        time.sleep(down_s)
        return self.start()

    def __enter__(self) -> ZooKeeperServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
