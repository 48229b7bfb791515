"""Client quotas against a real broker: AlterClientQuotas / DescribeClientQuotas as Kafka answers
them (raw requests: neither kafka-python nor confluent-kafka has these admin calls), and enforcement
seen by confluent-kafka producers and consumers (throttle callbacks, bytes acknowledged bounded).

One broker for the module, with one-second quota windows (``quota.window.num=2``) so that a rate is
measured over about a second and throttles stay short."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer

from protocol.errors import ErrorCode
from protocol.messages.alter_client_quotas import (
    AlterClientQuotasRequest,
    AlterClientQuotasRequestEntryData,
    EntityData,
    OpData,
)
from protocol.messages.describe_client_quotas import ComponentData, DescribeClientQuotasRequest
from tests.harness import BrokerProcess
from tests.raw_client import RawClient

ALTER, DESCRIBE = 49, 48
WINDOW_S = 1.0  # (quota.window.num - 1) * quota.window.size.seconds


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    tmp: Path = tmp_path_factory.mktemp("quotas")
    with BrokerProcess(tmp, {"quota.window.num": "2", "quota.window.size.seconds": "1"}) as process:
        yield process


def entity(**names: str | None) -> list[EntityData]:
    return [EntityData(entity_type=t.replace("_", "-"), entity_name=n) for t, n in names.items()]


def alter(
    raw: RawClient, entries: list[tuple[list[EntityData], list[OpData]]], validate_only: bool = False, version: int = 1
) -> Any:
    body = AlterClientQuotasRequest(
        entries=[AlterClientQuotasRequestEntryData(entity=e, ops=ops) for e, ops in entries],
        validate_only=validate_only,
    )
    return raw.request(ALTER, version, body)


def describe(
    raw: RawClient, components: list[tuple[str, int, str | None]], strict: bool = False, version: int = 1
) -> Any:
    body = DescribeClientQuotasRequest(
        components=[ComponentData(entity_type=t, match_type=m, match=n) for t, m, n in components], strict=strict
    )
    return raw.request(DESCRIBE, version, body)


def described(response: Any) -> dict[tuple[tuple[str, str | None], ...], dict[str, float]]:
    assert response.error_code == ErrorCode.NONE, response.error_message
    return {
        tuple((e.entity_type, e.entity_name) for e in entry.entity): {v.key: v.value for v in entry.values}
        for entry in response.entries
    }


def test_alter_and_describe_with_every_match_type(broker: BrokerProcess) -> None:
    raw = RawClient(broker)
    try:
        set_ = lambda key, value: OpData(key=key, value=value)  # noqa: E731
        answer = alter(
            raw,
            [
                (entity(user="alice"), [set_("producer_byte_rate", 1024), set_("request_percentage", 50.5)]),
                (entity(user="alice", client_id="app 1"), [set_("consumer_byte_rate", 2048)]),
                (entity(client_id=None), [set_("producer_byte_rate", 4096)]),
                (entity(user=None, client_id=None), [set_("consumer_byte_rate", 8192)]),
            ],
            version=0,
        )
        assert [e.error_code for e in answer.entries] == [0, 0, 0, 0]
        every = described(describe(raw, [], version=0))
        assert every == {
            (("user", "alice"),): {"producer_byte_rate": 1024.0, "request_percentage": 50.5},
            (("user", "alice"), ("client-id", "app 1")): {"consumer_byte_rate": 2048.0},
            (("client-id", None),): {"producer_byte_rate": 4096.0},
            (("user", None), ("client-id", None)): {"consumer_byte_rate": 8192.0},
        }
        assert set(described(describe(raw, [("user", 0, "alice")]))) == {
            (("user", "alice"),),
            (("user", "alice"), ("client-id", "app 1")),
        }
        assert set(described(describe(raw, [("user", 0, "alice")], strict=True))) == {(("user", "alice"),)}
        assert set(described(describe(raw, [("client-id", 1, None)]))) == {
            (("client-id", None),),
            (("user", None), ("client-id", None)),
        }
        assert set(described(describe(raw, [("user", 2, None), ("client-id", 2, None)], strict=True))) == {
            (("user", "alice"), ("client-id", "app 1")),
            (("user", None), ("client-id", None)),
        }
        # removing the last key removes the entity; validate_only changes nothing
        answer = alter(raw, [(entity(client_id=None), [OpData(key="producer_byte_rate", remove=True)])])
        assert answer.entries[0].error_code == 0
        answer = alter(raw, [(entity(user="bob"), [set_("producer_byte_rate", 1)])], validate_only=True)
        assert answer.entries[0].error_code == 0
        assert set(described(describe(raw, [("client-id", 1, None)], strict=True))) == set()
        assert described(describe(raw, [("user", 0, "bob")])) == {}
    finally:
        raw.close()
    # kept in the log dir: a restarted broker describes the same
    broker.restart()
    raw = RawClient(broker)
    try:
        assert (("user", "alice"),) in described(describe(raw, []))
        answer = alter(
            raw,
            [
                (
                    entity(user="alice"),
                    [OpData(key="producer_byte_rate", remove=True), OpData(key="request_percentage", remove=True)],
                ),
                (entity(user="alice", client_id="app 1"), [OpData(key="consumer_byte_rate", remove=True)]),
                (entity(user=None, client_id=None), [OpData(key="consumer_byte_rate", remove=True)]),
            ],
        )
        assert [e.error_code for e in answer.entries] == [0, 0, 0]
        assert described(describe(raw, [])) == {}
    finally:
        raw.close()


def test_bad_entities_keys_values_and_filters(broker: BrokerProcess) -> None:
    raw = RawClient(broker)
    try:
        ok = [OpData(key="producer_byte_rate", value=10)]
        answer = alter(
            raw,
            [
                ([], ok),
                (entity(user=""), ok),
                ([EntityData(entity_type="group", entity_name="g")], ok),
                (entity(user="u") + entity(user="v"), ok),
                (entity(user="u"), [OpData(key="fetch_byte_rate", value=10)]),
                (entity(user="u"), [OpData(key="producer_byte_rate", value=10.5)]),
                (entity(user="u"), [OpData(key="request_percentage", value=12.5)]),
            ],
        )
        codes = [e.error_code for e in answer.entries]
        assert codes == [ErrorCode.INVALID_REQUEST] * 6 + [ErrorCode.NONE]
        messages = [e.error_message for e in answer.entries]
        assert messages[0] == "Invalid empty client quota entity"
        assert messages[1] == "Empty user not supported"
        assert messages[4] == "Invalid configuration key fetch_byte_rate"
        assert messages[5] == "Configuration producer_byte_rate must be a Long value"
        assert [(e.entity_type, e.entity_name) for e in answer.entries[2].entity] == [("group", "g")]
        for components, code in [
            ([("", 0, "x")], ErrorCode.INVALID_REQUEST),
            ([("user", 0, "a"), ("user", 1, None)], ErrorCode.INVALID_REQUEST),
            ([("user", 0, None)], ErrorCode.INVALID_REQUEST),
            ([("user", 7, None)], ErrorCode.INVALID_REQUEST),
            ([("group", 2, None)], ErrorCode.UNSUPPORTED_VERSION),
        ]:
            response = describe(raw, components)
            assert (response.error_code, response.entries) == (code, None), components
        assert described(describe(raw, [("user", 0, "u")])) == {(("user", "u"),): {"request_percentage": 12.5}}
        alter(raw, [(entity(user="u"), [OpData(key="request_percentage", remove=True)])])
    finally:
        raw.close()
