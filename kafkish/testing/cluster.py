"""A real kafkish cluster for tests: a ZooKeeper and ``size`` brokers in cluster mode (``zookeeper.connect``),
each a process on a free port of 127.0.0.1, with Kafka's faults of whole brokers on demand.

    with Cluster(3) as cluster:
        producer = Producer({"bootstrap.servers": cluster.bootstrap_servers})
        cluster.kill(1)                       # SIGKILL: no shutdown, its ZooKeeper session just lapses
        cluster.wait_for_brokers([0, 2])      # until Metadata lists exactly these brokers
        cluster.restart(1)                    # same id, data and port
        cluster.pause(2); cluster.resume(2)   # SIGSTOP / SIGCONT
        cluster.stop_broker(0)                # SIGTERM: a controlled shutdown

Brokers have ids 0..size-1 (``cluster.brokers[i]`` is a ``kafkish.testing.Broker``). Their ZooKeeper
session timeout is ``session_timeout_ms`` (6 s by default, Kafka's is 18 s), so a killed or paused broker
leaves the cluster's metadata that long after. ``start()`` returns once every broker's Metadata lists
every broker. ZooKeeper is ``kafkish.testing.zookeeper.ZooKeeper`` unless ``zookeeper_connect`` names one.
Topics' replication factor is up to the caller (``default.replication.factor`` in ``config``); the
internal topics keep Kafka's defaults (3 replicas of ``__consumer_offsets`` and ``__transaction_state``),
so consumer groups and transactions work without overrides.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from kafkish.testing.broker import Broker, BrokerError
from kafkish.testing.zookeeper import ZooKeeper

SESSION_TIMEOUT_MS = 6000


class Cluster:
    def __init__(
        self,
        size: int = 3,
        config: Mapping[str, str | int | bool] | None = None,
        *,
        data_dir: str | Path | None = None,
        zookeeper_connect: str | None = None,
        session_timeout_ms: int = SESSION_TIMEOUT_MS,
        start_timeout: float = 90.0,
    ) -> None:
        self._own_dir = data_dir is None
        self.data_dir = Path(tempfile.mkdtemp(prefix="kafkish-cluster-")) if data_dir is None else Path(data_dir)
        self.zookeeper: ZooKeeper | None = None if zookeeper_connect else ZooKeeper(self.data_dir / "zookeeper")
        self._zk_connect = zookeeper_connect
        self.size = size
        self.config = dict(config or {})
        self.session_timeout_ms = session_timeout_ms
        self.start_timeout = start_timeout
        self.brokers: list[Broker] = []

    @property
    def zookeeper_connect(self) -> str:
        if self._zk_connect:
            return self._zk_connect
        assert self.zookeeper is not None
        return self.zookeeper.connect

    @property
    def bootstrap_servers(self) -> str:
        """Every broker's ``host:port``, running or not, as a client's ``bootstrap.servers``."""
        return ",".join(f"{b.host}:{b.port}" for b in self.brokers)

    def start(self) -> Cluster:
        try:
            if self.zookeeper is not None:
                self.zookeeper.start()
            for broker_id in range(self.size):
                broker = Broker(
                    {
                        "zookeeper.connect": self.zookeeper_connect,
                        "broker.id": broker_id,
                        "zookeeper.session.timeout.ms": self.session_timeout_ms,
                        **self.config,
                    },
                    data_dir=self.data_dir / f"broker-{broker_id}",
                    start_timeout=self.start_timeout,
                )
                self.brokers.append(broker)
                broker.start()
            self.wait_for_brokers(range(self.size))
        except BaseException:
            self.stop()  # a cluster that never formed leaves no process behind
            raise
        return self

    def broker(self, broker_id: int) -> Broker:
        return self.brokers[broker_id]

    def kill(self, broker_id: int) -> None:
        """SIGKILL the broker: no shutdown, no flush; it leaves when its ZooKeeper session expires."""
        self.brokers[broker_id].kill()

    def pause(self, broker_id: int) -> None:
        """SIGSTOP the broker (resume with ``resume``)."""
        self.brokers[broker_id].pause()

    def resume(self, broker_id: int) -> None:
        self.brokers[broker_id].resume()

    def stop_broker(self, broker_id: int) -> None:
        """SIGTERM the broker: a clean shutdown (its data stays for ``restart``)."""
        self.brokers[broker_id].terminate()

    def restart(self, broker_id: int, wait: bool = True) -> Broker:
        """Start the broker again (stopping it first if it runs) with its id, data and port; with ``wait``,
        return once every running broker's Metadata lists it."""
        broker = self.brokers[broker_id].restart()
        if wait:
            self.wait_for_brokers(self.running_ids())
        return broker

    def running_ids(self) -> list[int]:
        """The brokers whose process runs and is not paused."""
        return [i for i, b in enumerate(self.brokers) if b.running() and not b.paused]

    def metadata_broker_ids(self, via: int | None = None, timeout: float = 10.0) -> set[int]:
        """The broker ids the Metadata of broker ``via`` (default: the first running one) lists."""
        from confluent_kafka.admin import AdminClient

        ids = self.running_ids() if via is None else [via]
        if not ids:
            raise BrokerError("no broker of the cluster is running")
        broker = self.brokers[ids[0]]
        admin = AdminClient({"bootstrap.servers": f"{broker.host}:{broker.port}", "log_level": 0})
        return set(admin.list_topics(timeout=timeout).brokers)

    def wait_for_brokers(self, ids: Iterable[int], timeout: float | None = None) -> None:
        """Wait until every running broker's Metadata lists exactly ``ids`` (allow the ZooKeeper session
        timeout for a broker that was killed or paused to drop out)."""
        wanted = set(ids)
        limit = timeout if timeout is not None else self.start_timeout + self.session_timeout_ms / 1000
        _wait(
            lambda: all(self.metadata_broker_ids(via=i) == wanted for i in self.running_ids()),
            limit, f"the cluster's Metadata to list brokers {sorted(wanted)}",
        )  # fmt: skip

    def heal(self) -> None:
        """Resume paused brokers and restart stopped ones, then wait for the whole cluster: what a test
        fixture does between tests."""
        for broker in self.brokers:
            broker.resume()
        for broker_id, broker in enumerate(self.brokers):
            if not broker.running():  # killed or stopped
                self.restart(broker_id, wait=False)
        self.wait_for_brokers(range(self.size))

    def log_text(self) -> str:
        return "".join(f"--- broker {i} ---\n{b.log_text()}" for i, b in enumerate(self.brokers))

    def stop(self) -> None:
        for broker in self.brokers:
            try:
                broker.terminate()
            except Exception:
                broker.kill()
        if self.zookeeper is not None:
            self.zookeeper.stop()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


def _wait(condition: Callable[[], Any], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except Exception as exc:  # a broker still starting, or one just killed, fails a request
            last = exc
        time.sleep(0.2)
    raise BrokerError(f"timed out after {timeout:.0f}s waiting for {what}" + (f" (last error: {last})" if last else ""))
