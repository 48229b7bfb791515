"""The replication quota's arithmetic (Kafka's SimpleRate over a WindowedSum) and its reading of the
throttled replica lists, with the time given: fast, in-process."""

from __future__ import annotations

import pytest

from broker.config import LONG_MAX, BrokerConfig
from broker.config_defs import TOPIC_CONFIGS, ConfigError
from broker.replication.quota import FOLLOWER, LEADER, ReplicationQuota, SampledRate, throttled_partitions
from storage.config import LogConfig


def test_rate_is_never_taken_over_less_than_one_window() -> None:
    rate = SampledRate(samples=11, window_ms=1000)
    rate.record(1000, now_ms=0)
    assert rate.measure(now_ms=100) == 1000.0  # 1000 bytes over at least one whole second
    assert rate.measure(now_ms=4000) == 250.0  # the same bytes over the 4 s since the sample began


def test_rate_forgets_samples_idle_for_the_whole_window() -> None:
    rate = SampledRate(samples=3, window_ms=1000)
    for second in range(3):
        rate.record(3000, now_ms=second * 1000)
    assert rate.measure(now_ms=2999) == pytest.approx(9000 / 2.999)
    # 3 s after its last event a sample no longer counts: only the one recorded at 2 s is left
    assert rate.measure(now_ms=4500) == pytest.approx(3000 / 2.5)
    assert rate.measure(now_ms=6000) == 0.0


def test_rate_recycles_samples_so_a_steady_flow_measures_its_rate() -> None:
    rate = SampledRate(samples=11, window_ms=1000)
    for tick in range(600):  # 60 s at 100 bytes every 100 ms: 1000 bytes a second
        rate.record(100, now_ms=tick * 100)
    assert rate.measure(now_ms=60_000) == pytest.approx(1000, rel=0.1)


def test_throttled_partitions_keeps_the_items_naming_this_broker() -> None:
    listed = ("0:1", "1:2", "2:1")
    assert 0 in throttled_partitions(listed, 1) and 2 in throttled_partitions(listed, 1)
    assert 1 not in throttled_partitions(listed, 1)
    assert 1 in throttled_partitions(listed, 2) and 0 not in throttled_partitions(listed, 2)
    assert 7 in throttled_partitions(("*",), 3)
    assert 0 not in throttled_partitions((), 0)


def _quota(kind: str, now: list[float], **dynamic: int) -> ReplicationQuota:
    config = BrokerConfig.from_properties({"replication.quota.window.num": "2"})
    config.dynamic_broker = dict(dynamic)
    return ReplicationQuota(kind, config, broker_id=1, clock=lambda: now[0])


def test_quota_is_exceeded_above_the_configured_rate_and_follows_its_changes() -> None:
    now = [100.0]
    quota = _quota(LEADER, now)
    assert quota.bound == LONG_MAX
    quota.record(10_000_000)
    assert not quota.is_quota_exceeded()  # no rate set: never exceeded
    quota._config.dynamic_broker["leader.replication.throttled.rate"] = 1_000_000
    assert quota.is_quota_exceeded()  # 10 MB over one second
    now[0] += 1.5
    assert quota.is_quota_exceeded()  # 10 MB over 1.5 s
    quota._config.dynamic_default["leader.replication.throttled.rate"] = 1  # the broker's own value wins
    quota._config.dynamic_broker.clear()
    assert quota.is_quota_exceeded()
    now[0] += 2.0  # the samples (2 of 1 s) are older than the window: forgotten
    assert not quota.is_quota_exceeded()


def test_quota_reads_the_throttled_replicas_of_its_side() -> None:
    values = {
        "leader.replication.throttled.replicas": TOPIC_CONFIGS["leader.replication.throttled.replicas"].parse("0:1"),
        "follower.replication.throttled.replicas": TOPIC_CONFIGS["follower.replication.throttled.replicas"].parse(
            "1:1,0:2"
        ),
    }
    config = LogConfig.from_props(values)
    leader, follower = _quota(LEADER, [0.0]), _quota(FOLLOWER, [0.0])
    assert leader.is_throttled(config, 0) and not leader.is_throttled(config, 1)
    assert follower.is_throttled(config, 1) and not follower.is_throttled(config, 0)


@pytest.mark.parametrize("value", ["0-0", "*,0:1", "a:1", "0:1:2"])
def test_bad_throttled_replica_lists_get_kafkas_message(value: str) -> None:
    with pytest.raises(ConfigError) as failure:
        TOPIC_CONFIGS["follower.replication.throttled.replicas"].parse(value)
    shown = ", ".join(item.strip() for item in value.split(","))
    assert str(failure.value) == (
        f"Invalid value [{shown}] for configuration follower.replication.throttled.replicas: "
        "follower.replication.throttled.replicas must be the literal '*' or a list of replicas in the following "
        "format: [partitionId]:[brokerId],[partitionId]:[brokerId],..."
    )


def test_only_the_dynamic_rates_count_as_in_kafka() -> None:
    config = BrokerConfig.from_properties({"follower.replication.throttled.rate": "10"})
    quota = ReplicationQuota(FOLLOWER, config, broker_id=0, clock=lambda: 0.0)
    assert quota.bound == LONG_MAX  # accepted in server.properties, described, not used
    config.dynamic_default = {"follower.replication.throttled.rate": 20}
    assert quota.bound == 20
    config.dynamic_broker = {"follower.replication.throttled.rate": 30}
    assert quota.bound == 30
