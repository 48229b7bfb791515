"""``kafkish doctor`` on brokers with deliberately wrong advertised listeners: the mistakes that fill
Kafka images' issue trackers, each named in plain words with what to change."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator, Mapping

from kafkish.testing import Broker, BrokerError
from tests.testkit.cli import kafkish


def closed_port() -> int:
    """A free port (nothing listens on it unless another process takes it meanwhile)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def on_fixed_port(config: Mapping[str, str | int]) -> Iterator[Broker]:
    """A broker listening on a fixed free port. The brokers with an advertised listener need one:
    with ``listeners`` on port 0 kafkish advertises the port it got, even over an explicit advertised port
    (Kafka keeps that). Another process (a parallel test) may take the port first: then try another."""
    for attempt in range(5):
        broker = Broker(config, port=closed_port())
        try:
            broker.start()
        except BrokerError as e:
            broker.stop()
            if "Address already in use" not in str(e) or attempt == 4:
                raise
            continue
        try:
            yield broker
        finally:
            broker.stop()
        return


def test_a_well_configured_broker_has_no_problems() -> None:
    with Broker() as broker:
        done = kafkish("doctor", "--bootstrap-server", broker.bootstrap_servers)
    assert done.code == 0, done.stdout
    assert "PROBLEM" not in done.stdout
    assert f"broker 0 advertises {broker.bootstrap_servers}" in done.stdout
    assert "no problems: clients can bootstrap and reach every broker" in done.stdout


def test_an_advertised_container_name_that_does_not_resolve() -> None:
    config = {"advertised.listeners": "PLAINTEXT://kafka.invalid:9092"}
    with on_fixed_port(config) as broker:
        done = kafkish("doctor", "--bootstrap-server", broker.bootstrap_servers)
    assert done.code == 1
    assert "ok       bootstrap: Kafka answers" in done.stdout
    assert "broker 0 advertises kafka.invalid:9092" in done.stdout
    assert "PROBLEM  broker 0: its advertised host 'kafka.invalid' does not resolve from this machine" in done.stdout
    assert "advertised.listeners" in done.stdout


def test_an_advertised_port_nobody_listens_on() -> None:
    port = closed_port()
    with on_fixed_port({"advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}"}) as broker:
        done = kafkish("doctor", "--bootstrap-server", broker.bootstrap_servers)
    assert done.code == 1
    assert f"PROBLEM  broker 0: nothing listens on 127.0.0.1 port {port} (connection refused)" in done.stdout


def test_a_broker_advertising_another_brokers_address() -> None:
    with (
        Broker() as other,
        on_fixed_port({"node.id": 7, "advertised.listeners": f"PLAINTEXT://{other.bootstrap_servers}"}) as b,
    ):
        done = kafkish("doctor", "--bootstrap-server", b.bootstrap_servers)
    assert done.code == 1
    assert f"PROBLEM  broker 7: {other.bootstrap_servers} is a broker of another cluster" in done.stdout


def test_a_bootstrap_server_that_is_not_running() -> None:
    port = closed_port()
    done = kafkish("doctor", "--bootstrap-server", f"127.0.0.1:{port}", "--timeout", "2")
    assert done.code == 1
    assert f"PROBLEM  bootstrap: nothing listens on 127.0.0.1 port {port} (connection refused)" in done.stdout
    assert "no bootstrap server gave metadata, so clients cannot start" in done.stdout


def test_a_bootstrap_port_that_is_not_kafka() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        port = server.getsockname()[1]
        done = kafkish("doctor", "--bootstrap-server", f"127.0.0.1:{port}", "--timeout", "2")
    assert done.code == 1
    assert "PROBLEM  bootstrap: connected, but no Kafka metadata within 2s" in done.stdout
