"""A ConsumerGroupHeartbeat as the coordinator sees it, and the checks that need no group state.

``validate`` raises ``HeartbeatError`` with Kafka's code and message for a malformed request (the
client's fault); ``check_epoch`` fences a member whose epoch is neither the coordinator's nor the
previous one with a subset of its assignment; ``apply_request`` copies what a heartbeat may change
(null fields mean "unchanged").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from broker.coordinator.group.consumer.assignors import Assignment
from broker.coordinator.group.consumer.member import (
    JOIN_EPOCH,
    LEAVE_EPOCH,
    STATIC_LEAVE_EPOCH,
    ConsumerMember,
    is_subset,
)
from protocol.errors import ErrorCode


@dataclass(slots=True)
class Heartbeat:
    group_id: str
    member_id: str
    member_epoch: int
    instance_id: str | None = None
    rack_id: str | None = None
    rebalance_timeout_ms: int = -1
    subscribed_topic_names: list[str] | None = None
    subscribed_topic_regex: str | None = None
    server_assignor: str | None = None
    owned: Assignment | None = None  # topic_partitions, translated to names; None: not sent
    client_id: str = ""
    client_host: str = ""
    version: int = 1


@dataclass(slots=True)
class HeartbeatResult:
    error: ErrorCode
    message: str | None = None
    member_id: str | None = None
    member_epoch: int = 0
    heartbeat_interval_ms: int = 0
    assignment: Assignment | None = None


class HeartbeatError(Exception):
    def __init__(self, error: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.error = error
        self.message = message


def validate(hb: Heartbeat, assignors: list[str]) -> None:
    """Kafka's checks of a ConsumerGroupHeartbeat request, before it touches any group."""

    def invalid(message: str) -> HeartbeatError:
        return HeartbeatError(ErrorCode.INVALID_REQUEST, message)

    if (hb.version >= 1 or hb.member_epoch > 0 or hb.member_epoch == LEAVE_EPOCH) and not hb.member_id.strip():
        raise invalid("MemberId can't be empty.")
    if not hb.group_id.strip():
        raise invalid("GroupId can't be empty.")
    if hb.instance_id is not None and not hb.instance_id.strip():
        raise invalid("InstanceId can't be empty.")
    if hb.rack_id is not None and not hb.rack_id.strip():
        raise invalid("RackId can't be empty.")
    if hb.member_epoch == JOIN_EPOCH:
        if hb.rebalance_timeout_ms == -1:
            raise invalid("RebalanceTimeoutMs must be provided in first request.")
        if hb.owned is None or hb.owned:
            raise invalid("TopicPartitions must be empty when (re-)joining.")
        if hb.subscribed_topic_names is None and hb.subscribed_topic_regex is None:
            raise invalid("Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining.")
    elif hb.member_epoch == STATIC_LEAVE_EPOCH:
        if hb.instance_id is None:
            raise invalid("InstanceId can't be null.")
    elif hb.member_epoch < STATIC_LEAVE_EPOCH:
        raise invalid("MemberEpoch is invalid.")
    if hb.server_assignor is not None and hb.server_assignor not in assignors:
        raise HeartbeatError(
            ErrorCode.UNSUPPORTED_ASSIGNOR,
            f"ServerAssignor {hb.server_assignor} is not supported. Supported assignors: {', '.join(assignors)}.",
        )
    if hb.subscribed_topic_regex:
        try:
            re.compile(hb.subscribed_topic_regex)
        except re.error as exc:
            raise HeartbeatError(
                ErrorCode.INVALID_REGULAR_EXPRESSION,
                f"SubscribedTopicRegex `{hb.subscribed_topic_regex}` is not a valid regular expression: {exc}.",
            ) from None


def check_epoch(member: ConsumerMember, hb: Heartbeat) -> None:
    received, known = hb.member_epoch, member.member_epoch
    if received > known:
        raise HeartbeatError(
            ErrorCode.FENCED_MEMBER_EPOCH,
            f"The consumer group member has a greater member epoch ({received}) than the one known by the "
            f"group coordinator ({known}). The member must abandon all its partitions and rejoin.",
        )
    if received < known and (received != member.previous_member_epoch or not is_subset(hb.owned, member.assigned)):
        raise HeartbeatError(
            ErrorCode.FENCED_MEMBER_EPOCH,
            f"The consumer group member has a smaller member epoch ({received}) than the one known by the "
            f"group coordinator ({known}). The member must abandon all its partitions and rejoin.",
        )


def apply_request(member: ConsumerMember, hb: Heartbeat) -> None:
    """What a heartbeat may change; null fields mean "unchanged"."""
    if hb.instance_id is not None:
        member.instance_id = hb.instance_id
    if hb.rack_id is not None:
        member.rack_id = hb.rack_id
    if hb.rebalance_timeout_ms != -1:
        member.rebalance_timeout_ms = hb.rebalance_timeout_ms
    if hb.server_assignor is not None:
        member.server_assignor = hb.server_assignor
    if hb.subscribed_topic_names is not None:
        member.subscribed_topic_names = list(dict.fromkeys(hb.subscribed_topic_names))
    if hb.subscribed_topic_regex is not None:
        member.subscribed_topic_regex = hb.subscribed_topic_regex or None
    member.client_id = hb.client_id
    member.client_host = hb.client_host
