"""The pytest plugin (entry point ``pytest11``): real kafkish brokers as fixtures.

Fixtures:
- ``kafka_broker``: a ``kafkish.testing.Broker`` shared by the whole session (under pytest-xdist, by one
  worker: each worker starts its own). A test marked ``@pytest.mark.kafka_broker({"key": "value"})`` gets
  a broker with those properties instead, shared by every test with the same marker. Properties for all
  brokers come from the ini option ``kafka_broker_config`` (lines of ``key=value``); the marker's win.
- ``kafka_bootstrap``: its ``host:port``.
- ``kafka_cluster``: a ``kafkish.testing.Cluster``, ZooKeeper and 3 brokers in cluster mode, shared by the
  session (each xdist worker its own), with ``kill``/``pause``/``resume``/``stop_broker``/``restart`` of a
  broker; after each test, brokers it paused or stopped are brought back (``heal()``). Skipped, with the
  reason, where ZooKeeper or Java is not installed. Properties from the ini option ``kafka_cluster_config``.
- ``kafka_faults``: the ``kafkish.testing.Faults`` of the test's ``kafka_broker``, which for such a test is
  a broker started with fault injection on (shared by the tests that use it); rules cleared after each test.
- ``kafka_topic``: a factory, ``kafka_topic(partitions=1, config=None) -> name``, creating a fresh topic
  with a name unique to the test; ``@pytest.mark.kafka_topic(partitions=3, config={...})`` sets the
  defaults.

A broker is started only when a test first asks for it, and stopped at the end of the session. When a test
that used a broker fails, the broker's log lines written during that test are attached to its report.
With the ini option ``kafka_reset = true``, every topic and group is deleted after each such test.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable, Generator, Mapping
from typing import Any

import pytest

from kafkish.testing import Broker, Faults
from kafkish.testing.broker import FAULTS_ENABLE
from kafkish.testing.cluster import Cluster
from kafkish.testing.zookeeper import ZooKeeperUnavailable

_BROKER_KEY = pytest.StashKey[tuple[Broker, int]]()
_CLUSTER_KEY = pytest.StashKey[list[tuple[Broker, int]]]()
_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9._-]+")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("kafka_broker_config", "kafkish broker properties for tests, one key=value a line", "linelist", [])
    parser.addini("kafka_cluster_config", "broker properties for kafka_cluster, key=value a line", "linelist", [])
    parser.addini("kafka_reset", "delete all topics and groups after each test that used a broker", "bool", False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "kafka_broker(config): run the test on a broker with these properties")
    config.addinivalue_line("markers", "kafka_topic(partitions=1, config=None): defaults of the kafka_topic factory")


class _Brokers:
    """The session's brokers, one per distinct configuration, started on first use."""

    def __init__(self, factory: pytest.TempPathFactory, base: Mapping[str, str]) -> None:
        self.factory = factory
        self.base = dict(base)
        self.started: dict[frozenset[tuple[str, str]], Broker] = {}

    def get(self, overrides: Mapping[str, Any]) -> Broker:
        config = {**self.base, **{key: _prop(value) for key, value in overrides.items()}}
        key = frozenset(config.items())
        broker = self.started.get(key)
        if broker is None:
            broker = Broker(config, data_dir=self.factory.mktemp("kafkish")).start()
            self.started[key] = broker
        return broker

    def stop(self) -> None:
        for broker in self.started.values():
            broker.stop()


def _prop(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _ini_config(config: pytest.Config, option: str = "kafka_broker_config") -> dict[str, str]:
    props: dict[str, str] = {}
    for line in config.getini(option):
        key, sep, value = str(line).partition("=")
        if not sep or not key.strip():
            raise pytest.UsageError(f"{option} lines are key=value, got {line!r}")
        props[key.strip()] = value.strip()
    return props


@pytest.fixture(scope="session")
def _kafkish_brokers(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Generator[_Brokers]:
    brokers = _Brokers(tmp_path_factory, _ini_config(pytestconfig))
    yield brokers
    brokers.stop()


@pytest.fixture
def kafka_broker(request: pytest.FixtureRequest, _kafkish_brokers: _Brokers) -> Generator[Broker]:
    """A running kafkish broker (shared by the session, or by the tests with the same marker)."""
    marker = request.node.get_closest_marker("kafka_broker")
    overrides: dict[str, Any] = {}
    if marker is not None:
        for arg in marker.args:
            overrides.update(arg)
        overrides.update(marker.kwargs.get("config", {}))
    if "kafka_faults" in request.fixturenames:  # the test's broker is the one whose faults it injects
        overrides[FAULTS_ENABLE] = "true"
    broker = _kafkish_brokers.get(overrides)
    if broker.process is not None and broker.process.poll() is not None:
        pytest.fail(f"the kafkish broker exited (code {broker.process.returncode}); its log:\n{broker.log_text()}")
    request.node.stash[_BROKER_KEY] = (broker, len(broker.log_text()))
    yield broker
    if request.config.getini("kafka_reset"):
        broker.reset()


@pytest.fixture
def kafka_faults(kafka_broker: Broker) -> Generator[Faults]:
    """The fault injection of the test's ``kafka_broker``, which then is a broker started with it on
    (``kafkish.fault.injection.enable=true``, shared by the tests that use faults); rules cleared after."""
    kafka_broker.faults.clear()
    yield kafka_broker.faults
    kafka_broker.faults.clear()


class _ClusterHolder:
    def __init__(self, factory: pytest.TempPathFactory, config: Mapping[str, str]) -> None:
        self.factory = factory
        self.config = dict(config)
        self.cluster: Cluster | None = None
        self.unavailable: str | None = None

    def get(self) -> Cluster:
        if self.unavailable is not None:
            pytest.skip(self.unavailable)
        if self.cluster is None:
            cluster = Cluster(3, self.config, data_dir=self.factory.mktemp("kafkish-cluster"))
            try:
                cluster.start()
            except ZooKeeperUnavailable as exc:
                self.unavailable = f"kafka_cluster needs ZooKeeper: {exc}"
                pytest.skip(self.unavailable)
            self.cluster = cluster
        return self.cluster


@pytest.fixture(scope="session")
def _kafkish_cluster(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Generator[_ClusterHolder]:
    holder = _ClusterHolder(tmp_path_factory, _ini_config(pytestconfig, "kafka_cluster_config"))
    yield holder
    if holder.cluster is not None:
        holder.cluster.stop()


@pytest.fixture
def kafka_cluster(request: pytest.FixtureRequest, _kafkish_cluster: _ClusterHolder) -> Generator[Cluster]:
    """ZooKeeper and 3 brokers in cluster mode; any broker the test killed, paused or stopped is back after it."""
    cluster = _kafkish_cluster.get()
    request.node.stash[_CLUSTER_KEY] = [(broker, len(broker.log_text())) for broker in cluster.brokers]
    yield cluster
    cluster.heal()


@pytest.fixture
def kafka_bootstrap(kafka_broker: Broker) -> str:
    """``host:port`` of the test's broker, for a client's ``bootstrap.servers``."""
    return kafka_broker.bootstrap_servers


_counter = itertools.count()


@pytest.fixture
def kafka_topic(request: pytest.FixtureRequest, kafka_broker: Broker) -> Callable[..., str]:
    """A factory of fresh topics: ``kafka_topic(partitions=None, config=None) -> name``."""
    from kafkish.testing._admin import create_topic

    marker = request.node.get_closest_marker("kafka_topic")
    defaults: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    stem = _NAME_UNSAFE.sub("-", request.node.name).strip("-.")[:150] or "test"

    def make(partitions: int | None = None, config: Mapping[str, Any] | None = None) -> str:
        name = f"{stem}-{next(_counter)}-{uuid.uuid4().hex[:8]}"
        count = partitions if partitions is not None else int(defaults.get("partitions", 1))
        props = {key: _prop(value) for key, value in {**defaults.get("config", {}), **(config or {})}.items()}
        create_topic(kafka_broker.bootstrap_servers, name, count, props)
        return name

    return make


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    used = item.stash.get(_BROKER_KEY, None)
    if used is not None and report.failed:
        broker, start = used
        text = broker.log_text()[start:]
        report.sections.append((f"kafkish broker log ({broker.bootstrap_servers}, {broker.log_path})", text))
    if report.failed:
        members: list[tuple[Broker, int]] = item.stash.get(_CLUSTER_KEY, [])
        for index, (member, start) in enumerate(members):
            text = member.log_text()
            text = text[start:] if start <= len(text) else text  # a restart began a new log
            report.sections.append((f"kafkish cluster broker {index} log ({member.log_path})", text))
    return report
