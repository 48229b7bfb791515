"""Several real broker processes in cluster mode on one real ZooKeeper, for the cluster tests."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient, ClusterMetadata  # type: ignore[attr-defined]
from kazoo.client import KazooClient

from tests.harness import BrokerProcess
from tests.zookeeper import ZooKeeperServer

SESSION_TIMEOUT_MS = 4000  # a killed broker's session (and so its registration) ends this long after


class Cluster:
    def __init__(self, tmp: Path, zk_connect: str, size: int = 3, overrides: dict[str, str] | None = None) -> None:
        self.zk_connect = zk_connect
        self.brokers: list[BrokerProcess] = []
        for broker_id in range(size):
            directory = tmp / f"broker-{broker_id}"
            directory.mkdir(parents=True, exist_ok=True)
            settings = {
                "zookeeper.connect": zk_connect,
                "broker.id": str(broker_id),
                "zookeeper.session.timeout.ms": str(SESSION_TIMEOUT_MS),
                # the last broker of a stopping cluster retries a controlled shutdown nobody can grant
                "controlled.shutdown.retry.backoff.ms": "200",
                "group.initial.rebalance.delay.ms": "0",  # as Kafka's test harness: no 3 s wait per new group
                **(overrides or {}),
            }
            self.brokers.append(BrokerProcess(directory, settings))

    def start(self) -> Cluster:
        """Start every broker; return once each one's metadata lists them all (the controller's
        UpdateMetadata reaches each broker a little after it registers, as in Kafka)."""
        size = len(self.brokers)
        try:
            for broker in self.brokers:
                broker.start()
            wait_for(lambda: all(len(metadata(b).brokers) == size for b in self.brokers), what="the cluster to form")
        except BaseException:
            self.stop()  # a cluster that never formed leaves no broker processes behind
            raise
        return self

    def stop(self) -> None:
        for broker in self.brokers:
            if broker.process is not None and broker.process.poll() is None:
                try:
                    broker.stop()
                except Exception:
                    broker.kill()

    @property
    def bootstrap(self) -> str:
        return ",".join(b.bootstrap for b in self.brokers)

    def alive(self) -> list[BrokerProcess]:
        return [b for b in self.brokers if b.process is not None and b.process.poll() is None]


def admin(broker: BrokerProcess) -> AdminClient:
    return AdminClient({"bootstrap.servers": broker.bootstrap})


def metadata(broker: BrokerProcess) -> ClusterMetadata:
    return admin(broker).list_topics(timeout=15)


def view(broker: BrokerProcess, topics: list[str] | None = None) -> dict[str, Any]:
    """What a broker's Metadata says: brokers, controller, and per partition leader, replicas and ISR."""
    md = metadata(broker)
    return {
        "brokers": sorted((b.id, b.host, b.port) for b in md.brokers.values()),
        "controller": md.controller_id,
        "topics": {
            name: {p: (part.leader, list(part.replicas), list(part.isrs)) for p, part in t.partitions.items()}
            for name, t in md.topics.items()
            if topics is None or name in topics
        },
    }


def wait_for(condition: Callable[[], Any], timeout_s: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = condition()
        except Exception as exc:  # a broker still starting or gone: try again
            last = exc
        else:
            if last:
                return last
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what} (last: {last!r})")


@contextlib.contextmanager
def cluster_on_its_own_zookeeper(
    tmp_path_factory: pytest.TempPathFactory, name: str
) -> Iterator[tuple[Cluster, KazooClient]]:
    """A ZooKeeper of its own, 3 brokers under a fresh chroot, and a client of that chroot (module fixtures)."""
    from tests.cluster.conftest import _require_zookeeper

    _require_zookeeper()
    with ZooKeeperServer(tmp_path_factory.mktemp("zk")) as server:
        chroot = f"/{name}-{uuid.uuid4().hex[:8]}"
        cluster = Cluster(tmp_path_factory.mktemp("brokers"), server.connect + chroot).start()
        zk = KazooClient(hosts=server.connect + chroot)
        zk.start(15)
        try:
            yield cluster, zk
        finally:
            zk.stop()
            cluster.stop()
