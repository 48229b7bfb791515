"""How the group coordinator's records reach ``__consumer_offsets``: the writer interface and the group record.

``RecordWriter.append`` is Kafka's ``appendRecords`` with a completion callback; ``OffsetsTopic``
(``store.py``) is the broker's, tests bring their own. A group's metadata record is built from the
group as it is when the append is issued.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from broker.coordinator.group import records
from broker.coordinator.group.group import GroupMetadata
from protocol.errors import ErrorCode

AppendCallback = Callable[[ErrorCode], None]


class RecordWriter(Protocol):
    """Appends a group's records (key, value; value None = tombstone) to its ``__consumer_offsets`` partition.

    ``callback`` gets NONE once the records are committed, else the code Kafka's coordinator answers
    with for that failure. It may run inside ``append`` or later: callers prepare their change first
    and finish it in the callback, never after ``append`` returns.
    """

    def append(
        self,
        group_id: str,
        batch: list[tuple[bytes, bytes | None]],
        callback: AppendCallback,
        producer: tuple[int, int] | None = None,
    ) -> None:
        """``producer`` (id, epoch): a transactional offset commit, written as that producer's
        transactional batch."""


def group_write_error(error: ErrorCode) -> ErrorCode:
    """What a member is told when group metadata could not be stored (Kafka's mapping)."""
    if error in (ErrorCode.MESSAGE_TOO_LARGE, ErrorCode.RECORD_LIST_TOO_LARGE):
        return ErrorCode.UNKNOWN_SERVER_ERROR
    return error


def group_record(group: GroupMetadata, assignments: dict[str, bytes]) -> tuple[bytes, bytes]:
    protocol = group.protocol_name
    value = records.GroupMetadataValue(
        protocol_type=group.protocol_type or "",
        generation=group.generation_id,
        protocol=protocol,
        leader=group.leader_id,
        current_state_timestamp=group.state_timestamp,
        members=[
            records.MemberMetadataValue(
                member_id=m.member_id,
                group_instance_id=m.group_instance_id,
                client_id=m.client_id,
                client_host=m.client_host,
                rebalance_timeout=m.rebalance_timeout_ms,
                session_timeout=m.session_timeout_ms,
                subscription=m.metadata(protocol) if protocol is not None else b"",
                assignment=assignments.get(m.member_id, b""),
            )
            for m in group.members.values()
        ],
    )
    return records.group_key(group.group_id), records.group_value(value)
