"""A kafkish broker for a test, as a context manager: ``with Broker() as broker: broker.bootstrap_servers``.

The broker is a real process (``kafkish._launch``) listening on an ephemeral port of 127.0.0.1 (port 0,
so parallel test runs never race for a port), with its data in a temporary folder removed on exit unless
the caller gave one. Its log (stderr) is kept in ``broker.log`` beside the data and in ``log_text()``.

Test defaults differ from Kafka's only where Kafka's slow a test down and no test can tell otherwise:
``group.initial.rebalance.delay.ms=0`` (as Kafka's own test harness) and one partition for the internal
``__consumer_offsets`` and ``__transaction_state`` topics. Any of them may be overridden via ``config``.

``Broker(faults=True)`` turns fault injection on (``kafkish.fault.injection.enable``) and ``broker.faults``
(``kafkish.testing.faults.Faults``) drives it.

``reset()`` drops every topic and consumer group through the public admin APIs (DeleteTopics,
DeleteGroups), so it behaves exactly as any client's deletion would.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from kafkish._launch import broker_command
from kafkish.testing.faults import Faults

TEST_DEFAULTS: dict[str, str] = {
    "group.initial.rebalance.delay.ms": "0",
    "offsets.topic.num.partitions": "1",
    "transaction.state.log.num.partitions": "1",
}

_READY = re.compile(r"listening on \S+?://(\S+):(\d+) \(advertised ")
_FAULTS = re.compile(r"fault injection endpoint listening on (http://\S+):(\d+)/faults")
FAULTS_ENABLE = "kafkish.fault.injection.enable"


class BrokerError(RuntimeError):
    """The broker could not start, or stopped when it should not have. Carries its log."""


class Broker:
    """A real kafkish broker process for tests.

    ``config`` holds broker properties (Kafka's names, e.g. ``{"num.partitions": "3"}``); ``data_dir``
    is where its log dirs go (a fresh temporary folder by default, deleted on ``stop()``).
    """

    def __init__(
        self,
        config: Mapping[str, str | int | bool] | None = None,
        *,
        data_dir: str | Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        start_timeout: float = 30.0,
        faults: bool = False,
    ) -> None:
        self._own_dir = data_dir is None
        self.data_dir = Path(tempfile.mkdtemp(prefix="kafkish-")) if data_dir is None else Path(data_dir)
        self.log_path = self.data_dir / "broker.log"
        self.config: dict[str, str] = {
            **TEST_DEFAULTS,
            "listeners": f"PLAINTEXT://{host}:{port}",
            "log.dirs": str(self.data_dir / "kafka-logs"),
            **({FAULTS_ENABLE: "true"} if faults else {}),
            **{key: _prop(value) for key, value in (config or {}).items()},
        }
        self.start_timeout = start_timeout
        self.host = host
        self.port = port
        self.process: subprocess.Popen[str] | None = None
        self._lines: list[str] = []
        self._reader: threading.Thread | None = None
        self._faults: Faults | None = None
        self.paused = False

    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` of the broker, as a client's ``bootstrap.servers``."""
        if self.process is None:
            raise BrokerError("the broker is not started")
        return f"{self.host}:{self.port}"

    @property
    def faults(self) -> Faults:
        """The broker's fault injection (``faults=True``, or ``kafkish.fault.injection.enable=true``)."""
        if self._faults is None:
            if self.config.get(FAULTS_ENABLE, "false").lower() != "true":
                raise BrokerError(f"fault injection is off: start the broker with faults=True ({FAULTS_ENABLE})")
            match = next((m for m in map(_FAULTS.search, self._lines) if m), None)
            if match is None:
                raise BrokerError("the broker has not logged its fault-injection endpoint (is it started?)")
            self._faults = Faults(f"{match.group(1)}:{match.group(2)}")
        return self._faults

    def log_text(self) -> str:
        """Everything the broker has logged so far."""
        return "".join(self._lines)

    def start(self) -> Broker:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args: list[str] = []
        for key, value in self.config.items():
            args += ["--override", f"{key}={value}"]
        self._lines = []
        self._faults = None
        self.process = subprocess.Popen(
            broker_command(args), cwd=self.data_dir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True, env=_env(),
        )  # fmt: skip
        ready = threading.Event()
        self._reader = threading.Thread(target=self._read, args=(self.process, ready), daemon=True)
        self._reader.start()
        ready.wait(self.start_timeout)
        if self.process.poll() is not None or not self._port_known():
            self.kill()
            raise BrokerError(f"the kafkish broker did not start in {self.start_timeout}s; its log:\n{self.log_text()}")
        return self

    def _port_known(self) -> bool:
        for line in self._lines:
            match = _READY.search(line)
            if match:
                self.port = int(match.group(2))
                return True
        return False

    def _read(self, process: subprocess.Popen[str], ready: threading.Event) -> None:
        assert process.stderr is not None
        with open(self.log_path, "a", encoding="utf-8") as copy:
            for line in process.stderr:
                self._lines.append(line)
                copy.write(line)
                copy.flush()
                if _READY.search(line):
                    ready.set()
        ready.set()

    def reset(self, timeout: float = 30.0) -> None:
        """Delete every topic (internal ones aside) and every consumer group, and wait until they are gone."""
        from kafkish.testing._admin import delete_all

        delete_all(self.bootstrap_servers, timeout)

    def stop(self, timeout: float = 15.0) -> None:
        """A clean shutdown (SIGTERM), then SIGKILL if it takes longer than ``timeout``; removes a temp data dir."""
        self.terminate(timeout)
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def terminate(self, timeout: float = 15.0) -> None:
        """A clean shutdown (SIGTERM; SIGKILL after ``timeout``), keeping the data dir for a ``restart()``."""
        self.resume()  # a paused process cannot shut down
        if self.process is not None and self.process.poll() is None:
            from kafkish.testing._admin import forget

            forget(self.bootstrap_servers)
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._join()

    def kill(self) -> None:
        """SIGKILL: no flush, no checkpoint (keeps the data dir)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._join()

    def pause(self) -> None:
        """SIGSTOP: the process freezes (its sockets stay open, nothing answers, its ZooKeeper session
        lapses after ``zookeeper.session.timeout.ms``), as in a long GC pause or a hung host."""
        if self.running():
            assert self.process is not None
            self.process.send_signal(signal.SIGSTOP)
            self.paused = True

    def resume(self) -> None:
        """SIGCONT after ``pause()``."""
        if self.running():
            assert self.process is not None
            self.process.send_signal(signal.SIGCONT)
        self.paused = False

    def restart(self, timeout: float = 15.0) -> Broker:
        """Stop (SIGTERM) if still running, then start again with the same data, on the same port."""
        self.terminate(timeout)
        listener = self.config["listeners"]
        self.config["listeners"] = re.sub(r":\d+$", f":{self.port}", listener) if self.port else listener
        return self.start()

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _join(self) -> None:
        if self._reader is not None:
            self._reader.join(5)

    def __enter__(self) -> Broker:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


def _prop(value: str | int | bool) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    return env
