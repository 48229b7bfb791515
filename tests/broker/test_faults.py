"""The fault-injection state machine (broker.faults) and the endpoint's rule parsing, in process."""

from __future__ import annotations

import json

import pytest

from broker.fault_endpoint import FaultEndpoint, rule_arguments
from broker.fault_injection import FaultInjector
from broker.faults import FaultRuleError, FaultState

PRODUCE, FETCH = 0, 1


def test_an_error_rule_holds_for_its_count_then_is_gone() -> None:
    state = FaultState()
    state.add(0.0, api_key=PRODUCE, kind="error", error_code=6, count=2)
    assert [state.decide(PRODUCE, 1.0, [("t", 0)]).error_code for _ in range(3)] == [6, 6, 0]
    assert state.active(1.0) == []


def test_a_rule_only_acts_on_its_api() -> None:
    state = FaultState()
    state.add(0.0, api_key=PRODUCE, kind="error", error_code=6, count=1)
    assert not state.decide(FETCH, 0.0, [("t", 0)]).acts
    assert state.decide(PRODUCE, 0.0, [("t", 0)]).error_code == 6


def test_a_topic_rule_matches_only_requests_naming_its_topic_and_partition() -> None:
    state = FaultState()
    rule = state.add(0.0, api_key=PRODUCE, kind="error", error_code=6, topic="a", partition=1, count=1)
    assert not state.decide(PRODUCE, 0.0, [("a", 0), ("b", 1)]).acts
    assert not state.decide(PRODUCE, 0.0, None).acts  # a request naming no partitions
    decision = state.decide(PRODUCE, 0.0, [("a", 0), ("a", 1)])
    assert decision.error_rule is rule
    assert rule.matches_partition("a", 1) and not rule.matches_partition("a", 0)


def test_a_timed_rule_ends_at_its_deadline() -> None:
    state = FaultState()
    state.add(10.0, api_key=FETCH, kind="delay", delay_ms=300, duration_ms=2000)
    assert state.decide(FETCH, 11.9, []).delay_ms == 300
    assert state.decide(FETCH, 11.9, []).delay_ms == 300  # no count: every request until the deadline
    assert not state.decide(FETCH, 12.0, []).acts


def test_delays_add_up_the_oldest_error_wins_and_a_drop_uses_only_itself() -> None:
    state = FaultState()
    state.add(0.0, api_key=PRODUCE, kind="delay", delay_ms=100, count=5)
    state.add(0.0, api_key=PRODUCE, kind="delay", delay_ms=50, count=5)
    first = state.add(0.0, api_key=PRODUCE, kind="error", error_code=6, count=1)
    second = state.add(0.0, api_key=PRODUCE, kind="error", error_code=7, count=1)
    decision = state.decide(PRODUCE, 0.0, [])
    assert (decision.delay_ms, decision.error_code) == (150, 6)
    assert first.remaining == 0 and second.remaining == 1
    drop = state.add(0.0, api_key=PRODUCE, kind="drop", count=1)
    decision = state.decide(PRODUCE, 0.0, [])
    assert decision.drop and decision.delay_ms == 0 and decision.error_rule is None
    assert drop.remaining == 0 and second.remaining == 1  # the dropped request was never answered


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "error", "error_code": 0},
        {"kind": "delay", "delay_ms": 0},
        {"kind": "explode"},
        {"kind": "drop", "partition": 1},
        {"kind": "drop", "count": 0},
        {"kind": "drop", "duration_ms": -5},
    ],
)
def test_rules_that_make_no_sense_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(FaultRuleError):
        FaultState().add(0.0, api_key=PRODUCE, **kwargs)  # type: ignore[arg-type]


def test_clear_and_remove() -> None:
    state = FaultState()
    one = state.add(0.0, api_key=PRODUCE, kind="drop")
    state.add(0.0, api_key=FETCH, kind="drop")
    assert state.remove(one.id) and not state.remove(one.id)
    assert state.clear() == 1 and state.active(0.0) == []


def test_posted_rules_take_kafka_names_or_numbers() -> None:
    args = rule_arguments({"api": "ListOffsets", "error": "not_leader_or_follower", "count": 2, "topic": "t"})
    assert (args["api_key"], args["kind"], args["error_code"], args["count"]) == (2, "error", 6, 2)
    assert rule_arguments({"api": 1, "delay_ms": 40})["kind"] == "delay"
    assert rule_arguments({"api": "Fetch", "error": 1})["error_code"] == 1
    for bad in (
        {"error": 6},  # no api
        {"api": "Produce"},  # nothing to do
        {"api": "Produce", "error": 6, "drop": True},  # two things
        {"api": "Nope", "drop": True},
        {"api": "Produce", "error": "NOT_AN_ERROR"},
        {"api": "Produce", "drop": True, "colour": "red"},
    ):
        with pytest.raises(ValueError):
            rule_arguments(bad)


def test_the_endpoint_routes() -> None:
    import protocol.messages  # noqa: F401  (registers every API by name)
    from broker import handlers

    handlers.load()
    endpoint = FaultEndpoint(FaultInjector(clock=lambda: 0.0), "127.0.0.1", 0)
    status, body = endpoint.route("POST", "/faults", json.dumps({"api": "Produce", "drop": True}).encode())
    assert status == 201 and body["fault"]["kind"] == "drop"
    assert endpoint.route("GET", "/faults", b"")[1]["faults"][0]["id"] == body["fault"]["id"]
    assert endpoint.route("POST", "/faults", b"[1]")[0] == 400
    assert endpoint.route("PUT", "/faults", b"")[0] == 405
    assert endpoint.route("GET", "/nope", b"")[0] == 404
    assert endpoint.route("DELETE", f"/faults/{body['fault']['id']}", b"")[1] == {"removed": 1}
    assert endpoint.route("DELETE", "/faults", b"")[1] == {"removed": 0}


def _ctx(api: object, version: int) -> object:
    from broker.dispatcher import RequestContext
    from protocol.headers import RequestHeader

    header = RequestHeader(request_api_key=api.key, request_api_version=version)  # type: ignore[attr-defined]
    return RequestContext(components=None, api=api, header=header, client_host="127.0.0.1", client_port=1)  # type: ignore[arg-type]


def test_a_partition_error_skips_those_partitions_and_merges_with_the_handlers_answer() -> None:
    import asyncio

    from protocol.messages.produce import (
        PRODUCE as API,
    )  # fmt: skip
    from protocol.messages.produce import (
        PartitionProduceData,
        PartitionProduceResponse,
        ProduceRequest,
        ProduceResponse,
        TopicProduceData,
        TopicProduceResponse,
    )

    seen: list[ProduceRequest] = []

    async def handler(ctx: object, request: ProduceRequest) -> ProduceResponse:
        seen.append(request)
        topics = [
            TopicProduceResponse(name=t.name, partition_responses=[PartitionProduceResponse(index=p.index)
                                                                    for p in t.partition_data])
            for t in request.topic_data
        ]  # fmt: skip
        return ProduceResponse(responses=topics)

    injector = FaultInjector(clock=lambda: 0.0)
    injector.state.add(0.0, api_key=API.key, kind="error", error_code=6, topic="a", partition=1, count=1)
    request = ProduceRequest(acks=1, topic_data=[
        TopicProduceData(name="a", partition_data=[PartitionProduceData(index=0), PartitionProduceData(index=1)]),
        TopicProduceData(name="b", partition_data=[PartitionProduceData(index=1)]),
    ])  # fmt: skip
    response = asyncio.run(injector.run(_ctx(API, 9), handler, request))  # type: ignore[arg-type]
    assert [(t.name, [p.index for p in t.partition_data]) for t in seen[0].topic_data] == [("a", [0]), ("b", [1])]
    answered = {(t.name, p.index): p.error_code for t in response.responses for p in t.partition_responses}  # type: ignore[union-attr]
    assert answered == {("a", 0): 0, ("a", 1): 6, ("b", 1): 0}
    assert [p.index for p in request.topic_data[0].partition_data] == [0, 1]  # the request itself is untouched


def test_a_whole_request_error_answers_without_the_handler_where_the_response_has_one() -> None:
    import asyncio

    from protocol.messages.join_group import JOIN_GROUP, JoinGroupRequest

    async def handler(ctx: object, request: object) -> None:
        raise AssertionError("the handler ran")

    injector = FaultInjector(clock=lambda: 0.0)
    injector.state.add(0.0, api_key=JOIN_GROUP.key, kind="error", error_code=15, count=1)
    response = asyncio.run(injector.run(_ctx(JOIN_GROUP, 5), handler, JoinGroupRequest(group_id="g")))  # type: ignore[arg-type]
    assert response is not None and response.error_code == 15  # type: ignore[attr-defined]


def test_an_acks_0_produce_error_appends_the_rest_then_closes_the_connection() -> None:
    import asyncio

    from broker.dispatcher import CloseConnection
    from protocol.messages.produce import PRODUCE as API
    from protocol.messages.produce import PartitionProduceData, ProduceRequest, TopicProduceData

    seen: list[ProduceRequest] = []

    async def handler(ctx: object, request: ProduceRequest) -> None:
        seen.append(request)

    injector = FaultInjector(clock=lambda: 0.0)
    injector.state.add(0.0, api_key=API.key, kind="error", error_code=6, topic="a", partition=0)
    request = ProduceRequest(acks=0, topic_data=[
        TopicProduceData(name="a", partition_data=[PartitionProduceData(index=0), PartitionProduceData(index=1)]),
    ])  # fmt: skip
    with pytest.raises(CloseConnection):
        asyncio.run(injector.run(_ctx(API, 9), handler, request))  # type: ignore[arg-type]
    assert [p.index for p in seen[0].topic_data[0].partition_data] == [1]
