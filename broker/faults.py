"""Fault injection's state machine: which rules hold, and what one request gets from them. Pure: no I/O,
no clock of its own (callers pass ``now``, seconds on a monotonic clock), no asyncio.

A rule names an API (by key) and does one of three things to the requests of that API it matches:

- ``error``: the request, or the partitions of it the rule names, is answered with a Kafka error code
  (``broker.fault_injection`` puts it where the API carries it);
- ``delay``: the response leaves ``delay_ms`` later;
- ``drop``: the connection is closed instead of answering.

A rule may be limited to a topic (and a partition of it): then it matches only requests that name that
topic (partition). It holds for its next ``count`` matching requests, or until ``duration_ms`` has passed
since it was added, or both (whichever ends first), or, with neither, until it is removed.

Invariants: a request consumes one use of every rule it matched and that acted on it (at most one
error rule acts: the oldest; every delay rule adds up; a drop wins over everything); a rule with no
uses left or past its deadline never matches again and is forgotten at the next ``decide``.

This class is not thread-safe: the broker's event loop owns it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field

KINDS = ("error", "delay", "drop")


class FaultRuleError(ValueError):
    """A rule that cannot be added (the caller's fault), with a message that says why."""


@dataclass(slots=True)
class FaultRule:
    id: int
    api_key: int
    kind: str
    error_code: int = 0
    delay_ms: int = 0
    topic: str | None = None
    partition: int | None = None
    remaining: int | None = None  # uses left; None: unlimited
    deadline: float | None = None  # monotonic seconds; None: none
    applied: int = 0

    def live(self, now: float) -> bool:
        return (self.remaining is None or self.remaining > 0) and (self.deadline is None or now < self.deadline)

    def matches_partition(self, topic: str, partition: int) -> bool:
        return (self.topic is None or self.topic == topic) and (self.partition is None or self.partition == partition)

    def describe(self, now: float) -> dict[str, object]:
        return {
            "id": self.id,
            "api_key": self.api_key,
            "kind": self.kind,
            "error_code": self.error_code,
            "delay_ms": self.delay_ms,
            "topic": self.topic,
            "partition": self.partition,
            "remaining": self.remaining,
            "remaining_ms": None if self.deadline is None else max(0, round((self.deadline - now) * 1000)),
            "applied": self.applied,
        }


@dataclass(slots=True)
class Decision:
    """What one request gets: dropped, delayed, and/or answered with ``error_code`` (for the partitions
    ``error_rule`` matches, or the whole request when the rule names no topic)."""

    drop: bool = False
    delay_ms: int = 0
    error_code: int = 0
    error_rule: FaultRule | None = None

    @property
    def acts(self) -> bool:
        return self.drop or self.delay_ms > 0 or self.error_rule is not None


@dataclass
class FaultState:
    rules: list[FaultRule] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add(
        self,
        now: float,
        *,
        api_key: int,
        kind: str,
        error_code: int = 0,
        delay_ms: int = 0,
        topic: str | None = None,
        partition: int | None = None,
        count: int | None = None,
        duration_ms: int | None = None,
    ) -> FaultRule:
        if kind not in KINDS:
            raise FaultRuleError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        if kind == "error" and error_code == 0:
            raise FaultRuleError("an error rule needs an error code other than NONE (0)")
        if kind == "delay" and delay_ms <= 0:
            raise FaultRuleError("a delay rule needs delay_ms > 0")
        if partition is not None and topic is None:
            raise FaultRuleError("a partition needs its topic")
        if count is not None and count <= 0:
            raise FaultRuleError("count must be positive")
        if duration_ms is not None and duration_ms <= 0:
            raise FaultRuleError("duration_ms must be positive")
        rule = FaultRule(
            id=next(self._ids), api_key=api_key, kind=kind, error_code=error_code, delay_ms=delay_ms,
            topic=topic, partition=partition, remaining=count,
            deadline=None if duration_ms is None else now + duration_ms / 1000,
        )  # fmt: skip
        self.rules.append(rule)
        return rule

    def remove(self, rule_id: int) -> bool:
        before = len(self.rules)
        self.rules = [r for r in self.rules if r.id != rule_id]
        return len(self.rules) != before

    def clear(self) -> int:
        removed = len(self.rules)
        self.rules = []
        return removed

    def active(self, now: float) -> list[FaultRule]:
        self.rules = [r for r in self.rules if r.live(now)]
        return list(self.rules)

    def wants(self, api_key: int) -> bool:
        """Cheap check on the request path: could any rule act on this API?"""
        return any(r.api_key == api_key for r in self.rules)

    def decide(self, api_key: int, now: float, partitions: Iterable[tuple[str, int]] | None) -> Decision:
        """The faults for one request of ``api_key`` naming ``partitions`` (topic, partition), or None
        when the request names no partitions (then rules limited to a topic do not match it)."""
        named = list(partitions) if partitions is not None else []
        decision = Decision()
        used: list[FaultRule] = []
        for rule in self.active(now):
            if rule.api_key != api_key:
                continue
            if rule.topic is not None and not any(rule.matches_partition(t, p) for t, p in named):
                continue
            if rule.kind == "drop":
                decision.drop = True
                used.append(rule)
            elif rule.kind == "delay":
                decision.delay_ms += rule.delay_ms
                used.append(rule)
            elif decision.error_rule is None:
                decision.error_rule = rule
                decision.error_code = rule.error_code
                used.append(rule)
        if decision.drop:  # a dropped request is never answered: only the drop is used up
            used = [r for r in used if r.kind == "drop"]
            decision.delay_ms, decision.error_code, decision.error_rule = 0, 0, None
        for rule in used:
            rule.applied += 1
            if rule.remaining is not None:
                rule.remaining -= 1
        return decision
