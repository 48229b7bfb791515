"""The config registry in process: Kafka's synonym rule, and no client value escaping as anything but
ConfigError (which every config handler answers as INVALID_CONFIG)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broker.config import (
    BROKER_CONFIGS,
    TOPIC_CONFIGS,
    AlterOp,
    BrokerConfig,
    ConfigError,
    ConfigSource,
    incremental_configs,
    validate_topic_configs,
)
from broker.dynamic_config import parse_configs

# Values a client might send for any config: numbers at and past every limit, lists, junk.
VALUES = st.one_of(
    st.sampled_from(
        ["", " ", "-1", "-2", "0", "1", "nan", "inf", "-inf", "1e999", "9" * 5000, "2147483648", "true", "*", ","]
    ),
    st.text(max_size=30),
    st.integers().map(str),
)


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(TOPIC_CONFIGS)), value=VALUES, op=st.sampled_from(list(AlterOp)))
def test_a_topic_config_value_is_accepted_or_a_config_error(name: str, value: str, op: AlterOp) -> None:
    config = BrokerConfig()
    try:
        overrides = incremental_configs({}, [(name, op, value)], TOPIC_CONFIGS, "topic")
        config.check_topic_configs(overrides)
        validate_topic_configs([(name, value)])
    except ConfigError:
        pass


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(BROKER_CONFIGS)), value=VALUES, per_broker=st.booleans())
def test_a_broker_config_value_is_accepted_or_a_config_error(name: str, value: str, per_broker: bool) -> None:
    config = BrokerConfig()
    try:
        config.dynamic_broker = parse_configs([(name, value)], per_broker)
        config.check_topic_configs({})
        config.describe_broker(with_synonyms=True)
        config.describe_topic({}, with_synonyms=True)
    except ConfigError:
        pass


def synonyms_of(config: BrokerConfig, name: str) -> list[tuple[str, str | None, ConfigSource]]:
    (entry,) = [e for e in config.describe_topic({}, with_synonyms=True) if e.name == name]
    return list(entry.synonyms)


def test_synonyms_start_at_the_first_broker_synonym() -> None:
    """ConfigHelper.configSynonyms' dropWhile: retention.ms's server name is log.retention.ms."""
    hours_only = BrokerConfig.from_properties({"log.retention.hours": "48"})
    assert synonyms_of(hours_only, "retention.ms") == []
    assert synonyms_of(BrokerConfig(), "retention.ms") == []
    with_ms = BrokerConfig.from_properties({"log.retention.ms": "1000", "log.retention.hours": "48"})
    assert synonyms_of(with_ms, "retention.ms") == [
        ("log.retention.ms", "1000", ConfigSource.STATIC_BROKER_CONFIG),
        ("log.retention.hours", "48", ConfigSource.STATIC_BROKER_CONFIG),
        ("log.retention.hours", "168", ConfigSource.DEFAULT_CONFIG),
    ]
    with_ms.dynamic_default = {"log.retention.ms": 5}
    assert synonyms_of(with_ms, "retention.ms")[0] == (
        "log.retention.ms",
        "5",
        ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
    )


def test_a_stored_override_that_cannot_apply_falls_back_to_the_default(caplog: pytest.LogCaptureFixture) -> None:
    config = BrokerConfig()
    stored = {"retention.ms": "soon", "segment.ms": 3600000, "nope": 1, "min.compaction.lag.ms": 10**12}
    stored["max.compaction.lag.ms"] = 1000
    usable = config.usable_topic_overrides("t", stored)
    assert usable == {"segment.ms": 3600000, "min.compaction.lag.ms": 10**12}
    assert "ignoring its stored config retention.ms" in caplog.text
    assert "ignoring its stored config max.compaction.lag.ms" in caplog.text
