"""Fault injection on the request path (``kafkish.fault.injection.enable=true``; off by default): the
connection runs a request through ``FaultInjector.run`` instead of its handler, and the rules of
``broker.faults`` decide whether it is dropped, delayed, or answered with an injected error.

Where the error goes:
- Produce, ListOffsets, OffsetCommit: in each matching partition's ``error_code``. Matching partitions
  are taken out of the request before the handler runs (so an injected Produce error appends nothing,
  as with a real NOT_LEADER_OR_FOLLOWER); the handler answers the rest; both are merged. A Produce with
  acks=0 that gets an error has its other partitions appended, then its connection closed, as Kafka
  does for a failed acks=0 produce.
- Fetch: the handler does not run; the answer lists only the matching partitions, with the error (a
  valid full-fetch answer: the others simply have no data this time).
- Any other API whose response carries a top-level ``error_code`` in the request's version (JoinGroup,
  Heartbeat, InitProducerId, FindCoordinator v0-3, ...), for a rule that names no topic: the handler does
  not run; the answer is the response's defaults with that error.
- Any other case: the handler runs, then its response's top-level ``error_code`` and every nested
  ``error_code`` (of the rule's topic only, when it names one) carry the error (Metadata's topics,
  CreateTopics' results, FindCoordinator v4+'s coordinators). The handler's side effects (a topic
  created) therefore happen: inject on such APIs knowing that.

A drop closes the connection after the answers before it are sent; a delay holds the answer (and, as
answers leave in request order, those after it on the same connection).
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from broker.dispatcher import CloseConnection, Handler, RequestContext
from broker.faults import Decision, FaultRule, FaultState
from protocol.messages.fetch import FETCH, FetchableTopicResponse, FetchResponse, PartitionData
from protocol.messages.list_offsets import LIST_OFFSETS, ListOffsetsPartitionResponse, ListOffsetsTopicResponse
from protocol.messages.offset_commit import OFFSET_COMMIT, OffsetCommitResponsePartition, OffsetCommitResponseTopic
from protocol.messages.produce import PRODUCE, PartitionProduceResponse, TopicProduceResponse
from protocol.schema import Struct

if TYPE_CHECKING:
    from broker.metadata_cache import MetadataCache

_NAME_FIELDS = ("name", "topic", "topic_name")


@dataclass(frozen=True, slots=True)
class _PerPartition:
    """Where an API's request and response list topics and partitions."""

    request_topics: str
    request_partitions: str
    request_index: str
    response_topics: str
    topic: Callable[[str, list[Any]], Struct]
    partition: Callable[[int, int], Struct]


_PER_PARTITION: dict[int, _PerPartition] = {
    PRODUCE.key: _PerPartition(
        "topic_data", "partition_data", "index", "responses",
        lambda name, parts: TopicProduceResponse(name=name, partition_responses=parts),
        lambda index, code: PartitionProduceResponse(index=index, error_code=code, base_offset=-1),
    ),
    LIST_OFFSETS.key: _PerPartition(
        "topics", "partitions", "partition_index", "topics",
        lambda name, parts: ListOffsetsTopicResponse(name=name, partitions=parts),
        lambda index, code: ListOffsetsPartitionResponse(partition_index=index, error_code=code),
    ),
    OFFSET_COMMIT.key: _PerPartition(
        "topics", "partitions", "partition_index", "topics",
        lambda name, parts: OffsetCommitResponseTopic(name=name, partitions=parts),
        lambda index, code: OffsetCommitResponsePartition(partition_index=index, error_code=code),
    ),
}  # fmt: skip


class FaultInjector:
    """The broker's fault rules and how they act on requests. Not thread-safe (the event loop owns it)."""

    def __init__(self, metadata_cache: MetadataCache | None = None, clock: Callable[[], float] = time.monotonic):
        self.state = FaultState()
        self.metadata_cache = metadata_cache
        self.clock = clock

    async def run(self, ctx: RequestContext, handler: Handler, body: Struct) -> Struct | None:
        key = ctx.api.key
        if not self.state.wants(key):
            return await handler(ctx, body)
        decision = self.state.decide(key, self.clock(), self._partitions(key, body))
        if not decision.acts:
            return await handler(ctx, body)
        if decision.drop:
            raise CloseConnection(f"fault injection: dropped at a {ctx.api.name} request")
        if decision.delay_ms:
            await asyncio.sleep(decision.delay_ms / 1000)
        if decision.error_rule is None:
            return await handler(ctx, body)
        return await self._answer_with_error(ctx, handler, body, decision)

    # -- which partitions a request names ----------------------------------------------------------
    def _partitions(self, key: int, body: Struct) -> list[tuple[str, int]]:
        if key == FETCH.key:
            return [(self._fetch_topic(t), p.partition) for t in body.topics for p in t.partitions]  # type: ignore[attr-defined]
        spec = _PER_PARTITION.get(key)
        if spec is not None:
            return [
                (t.name, getattr(p, spec.request_index))
                for t in getattr(body, spec.request_topics)
                for p in getattr(t, spec.request_partitions)
            ]
        return [(name, -1) for name in _topic_names(body)]

    def _fetch_topic(self, topic: Any) -> str:
        if topic.topic or self.metadata_cache is None:
            return str(topic.topic)
        image = self.metadata_cache.topic_by_id(bytes(topic.topic_id))
        return image.name if image is not None else ""

    # -- the error ---------------------------------------------------------------------------------
    async def _answer_with_error(
        self, ctx: RequestContext, handler: Handler, body: Struct, decision: Decision
    ) -> Struct | None:
        rule = decision.error_rule
        assert rule is not None
        key = ctx.api.key
        if key == FETCH.key:
            return self._fetch_error(body, rule)
        spec = _PER_PARTITION.get(key)
        if spec is None:
            if rule.topic is None and _has_top_level_error(ctx.api.response, ctx.version):
                return ctx.api.response(error_code=rule.error_code)  # type: ignore[call-arg]
            response = await handler(ctx, body)
            if response is not None:
                _set_errors(response, rule)
            return response
        rest, failed = self._split(body, spec, rule)
        response = await handler(ctx, rest) if _has_partitions(rest, spec) else ctx.api.response()
        if key == PRODUCE.key and getattr(body, "acks", 1) == 0:  # the rest is appended, then the close
            raise CloseConnection(f"fault injection: error {rule.error_code} for an acks=0 produce")
        if response is None:
            return None
        topics = getattr(response, spec.response_topics)
        for name, indexes in failed.items():
            parts = [spec.partition(i, rule.error_code) for i in indexes]
            existing = next((t for t in topics if t.name == name), None)
            if existing is None:
                topics.append(spec.topic(name, parts))
            else:
                getattr(existing, _partitions_field(existing)).extend(parts)
        return response

    def _split(self, body: Struct, spec: _PerPartition, rule: FaultRule) -> tuple[Struct, dict[str, list[int]]]:
        """The request without the partitions the rule matches, and those partitions by topic."""
        rest = copy.copy(body)
        kept_topics = []
        failed: dict[str, list[int]] = {}
        for topic in getattr(body, spec.request_topics):
            kept = []
            for part in getattr(topic, spec.request_partitions):
                index = getattr(part, spec.request_index)
                if rule.matches_partition(topic.name, index):
                    failed.setdefault(topic.name, []).append(index)
                else:
                    kept.append(part)
            if kept:
                kept_topics.append(dataclasses.replace(topic, **{spec.request_partitions: kept}))
        setattr(rest, spec.request_topics, kept_topics)
        return rest, failed

    def _fetch_error(self, body: Any, rule: FaultRule) -> FetchResponse:
        topics = []
        for topic in body.topics:
            name = self._fetch_topic(topic)
            parts = [
                PartitionData(partition_index=p.partition, error_code=rule.error_code, high_watermark=-1, records=None)
                for p in topic.partitions
                if rule.matches_partition(name, p.partition)
            ]
            if parts:
                topics.append(FetchableTopicResponse(topic=topic.topic, topic_id=topic.topic_id, partitions=parts))
        return FetchResponse(session_id=0, responses=topics)


def _has_top_level_error(message: type[Struct], version: int) -> bool:
    return any(f.name == "error_code" and f.present_in(version) for f in message.fields())


def _has_partitions(body: Struct, spec: _PerPartition) -> bool:
    return any(getattr(t, spec.request_partitions) for t in getattr(body, spec.request_topics))


def _partitions_field(topic: Struct) -> str:
    return "partition_responses" if hasattr(topic, "partition_responses") else "partitions"


def _children(value: Any) -> Iterator[Struct]:
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, Struct):
            yield item


def _topic_names(body: Struct) -> Iterator[str]:
    """Every topic name a request carries, at any depth."""
    for spec in type(body).fields():
        value = getattr(body, spec.name)
        if spec.name in _NAME_FIELDS and isinstance(value, str) and value:
            yield value
        for child in _children(value):
            yield from _topic_names(child)


def _set_errors(message: Struct, rule: FaultRule) -> None:
    """Put the rule's error in ``message``'s ``error_code`` and in its children's, of the rule's topic."""
    names = [getattr(message, f) for f in _NAME_FIELDS if isinstance(getattr(message, f, None), str)]
    mine = rule.topic is None or rule.topic in names
    if hasattr(message, "error_code") and (mine if names else rule.topic is None):
        message.error_code = rule.error_code
    for spec in type(message).fields():
        for child in _children(getattr(message, spec.name)):
            _set_errors(child, rule)
