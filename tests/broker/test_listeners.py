"""Kafka's connection quotas as ``broker.listeners`` reads and counts them (in-process, no sockets)."""

from __future__ import annotations

import pytest

from broker.config import BrokerConfig, ConfigError
from broker.listeners import ConnectionQuotas, client_ip, parse_overrides


def quotas(**props: str) -> ConnectionQuotas:
    return ConnectionQuotas(BrokerConfig.from_properties({k.replace("_", "."): v for k, v in props.items()}))


def test_defaults_are_kafkas() -> None:
    q = quotas()
    assert q.max_connections == 2**31 - 1
    assert q.max_per_ip == 2**31 - 1
    assert q.overrides == {}


def test_overrides_resolve_host_names_and_win_over_the_default() -> None:
    assert parse_overrides("localhost:5, 10.0.0.1:7,[::1]:2") == {"127.0.0.1": 5, "10.0.0.1": 7, "::1": 2}
    q = quotas(max_connections_per_ip="1", max_connections_per_ip_overrides="127.0.0.1:2")
    assert q.admit("127.0.0.1") and q.admit("127.0.0.1")
    assert not q.admit("127.0.0.1")
    assert q.admit("10.1.1.1")
    assert not q.admit("10.1.1.1")
    q.release("127.0.0.1")
    assert q.admit("127.0.0.1")
    assert q.total == 3


@pytest.mark.parametrize("text", ["127.0.0.1", "127.0.0.1:x", ":5", "no-such-host.invalid:3"])
def test_bad_overrides_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_overrides(text)


def test_zero_per_ip_needs_overrides() -> None:
    with pytest.raises(ConfigError):
        quotas(max_connections_per_ip="0")
    assert quotas(max_connections_per_ip="0", max_connections_per_ip_overrides="127.0.0.1:1").limit_of("10.0.0.2") == 0


def test_ipv4_mapped_addresses_count_as_ipv4() -> None:
    assert client_ip("::ffff:127.0.0.1") == "127.0.0.1"
    assert client_ip("fe80::1%eth0") == "fe80::1"
    assert client_ip("10.0.0.1") == "10.0.0.1"
