"""Client quota rules in-process: Kafka's precedence of entities, names as Kafka sanitizes them in
ZooKeeper paths, and the rate and throttle time arithmetic (Kafka's ``Rate`` and ``throttleTime``)."""

from __future__ import annotations

import asyncio

import pytest

from broker.config import BrokerConfig
from broker.quotas.entities import (
    ABSENT,
    Entity,
    entity_path,
    path_entity,
    quota_for,
    sanitize,
)
from broker.quotas.manager import FETCH, PRODUCE, ClientQuotaManager, HandlerTimer, Rate, client_throttles
from broker.quotas.store import ClientQuotaStore

LEVELS = [
    ("users/alice/clients/app", ("alice", "app")),
    ("users/alice/clients/<default>", ("alice", "app")),
    ("users/alice", ("alice", "")),
    ("users/<default>/clients/app", ("alice", "app")),
    ("users/<default>/clients/<default>", ("alice", "app")),
    ("users/<default>", ("alice", "")),
    ("clients/app", ("", "app")),
    ("clients/<default>", ("", "app")),
]


def test_the_most_specific_of_kafkas_eight_levels_wins() -> None:
    configs = {path: {"producer_byte_rate": str(100 + i)} for i, (path, _) in enumerate(LEVELS)}
    for i, (path, metric_key) in enumerate(LEVELS):
        quota = quota_for(configs, "producer_byte_rate", "alice", "app", None)
        assert quota is not None and (quota.bound, quota.metric_key) == (100 + i, metric_key), path
        del configs[path]
    assert quota_for(configs, "producer_byte_rate", "alice", "app", None) is None
    static = quota_for(configs, "producer_byte_rate", "alice", "app", 5.0)
    assert static is not None and (static.bound, static.metric_key) == (5.0, ("", "app"))


def test_each_key_is_looked_up_on_its_own() -> None:
    configs = {"users/alice": {"consumer_byte_rate": "10"}, "clients/<default>": {"producer_byte_rate": "20"}}
    produce = quota_for(configs, "producer_byte_rate", "alice", "app", None)
    fetch = quota_for(configs, "consumer_byte_rate", "alice", "app", None)
    assert produce is not None and produce.bound == 20
    assert fetch is not None and fetch.bound == 10


def test_names_are_sanitized_as_kafka_does() -> None:
    assert sanitize("User:CN=a b*~") == "User%3ACN%3Da%20b%2A%7E"
    entity = Entity("CN=a b", "my app/1")
    assert entity_path(entity) == "users/CN%3Da%20b/clients/my%20app%2F1"
    assert path_entity(entity_path(entity)) == entity
    assert path_entity("clients/<default>") == Entity(ABSENT, None)
    assert path_entity("users/a/clients") is None


def test_rate_is_measured_over_at_least_the_full_windows() -> None:
    rate = Rate(11, 1000)
    rate.record(10_000, now_ms=0)
    assert rate.window_size_ms(0) == 10_000  # (11 - 1) windows of 1 s
    assert rate.measure(0) == pytest.approx(1000.0)
    assert rate.window_size_ms(12_500) == 10_000  # the old sample is gone after 11 s idle
    rate.record(100, now_ms=12_500)
    assert rate.measure(12_500) == pytest.approx(10.0)


def test_throttle_time_is_kafkas() -> None:
    now = [0.0]
    config = BrokerConfig.from_properties({"quota.window.num": "11", "quota.window.size.seconds": "1"})
    store = ClientQuotaStore()
    manager = ClientQuotaManager(config, store, clock=lambda: now[0])
    assert manager.record(PRODUCE, "ANONYMOUS", "app", 1_000_000) == 0  # no quota: nothing recorded
    store.alter({"clients/app": {"producer_byte_rate": "1000"}})
    assert manager.record(PRODUCE, "ANONYMOUS", "app", 10_000) == 0  # 1000 B/s over 10 s: at the bound
    # 15000 B over 10 s is 1500 B/s: (1500 - 1000) / 1000 * 10 s
    assert manager.record(PRODUCE, "ANONYMOUS", "app", 5_000) == 5_000
    assert manager.record(PRODUCE, "ANONYMOUS", "other", 5_000) == 0  # its own rate
    assert manager.max_value_in_window(FETCH, "ANONYMOUS", "app") is None
    store.alter({"clients/app": {"consumer_byte_rate": "100"}})
    assert manager.max_value_in_window(FETCH, "ANONYMOUS", "app") == 1000.0


def test_kip_219_versions() -> None:
    assert not client_throttles(0, 5) and client_throttles(0, 6)  # Produce
    assert not client_throttles(1, 7) and client_throttles(1, 8)  # Fetch
    assert client_throttles(49, 0)  # born after KIP-219


def test_handler_time_counts_its_own_steps_only() -> None:
    async def handler() -> int:
        await asyncio.sleep(0.2)
        return 7

    async def main() -> tuple[int, int]:
        timer = HandlerTimer()
        result = await timer.run(handler())
        return result, timer.elapsed_ns

    result, elapsed_ns = asyncio.run(main())
    assert result == 7 and elapsed_ns < 100_000_000


def test_a_changed_bound_applies_to_what_was_measured() -> None:
    config = BrokerConfig.from_properties({"quota.window.num": "11", "quota.window.size.seconds": "1"})
    store = ClientQuotaStore()
    manager = ClientQuotaManager(config, store, clock=lambda: 0.0)
    store.alter({"clients/app": {"producer_byte_rate": "1000000"}})
    assert manager.record(PRODUCE, "ANONYMOUS", "app", 20_000) == 0
    store.alter({"clients/app": {"producer_byte_rate": "1000"}})  # 20 kB over 10 s is twice that
    assert manager.record(PRODUCE, "ANONYMOUS", "app", 0) == 10_000
