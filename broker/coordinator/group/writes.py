"""How the group coordinator's records reach ``__consumer_offsets``: the writer interface and the group record.

``RecordWriter.append`` is Kafka's ``appendRecords`` with a completion callback; ``OffsetsTopic``
(``store.py``) is the broker's, tests bring their own. A group's metadata record is built from the
group as it is when the append is issued.

Deleting a group (``delete_group``), classic or consumer, is one shape: the group and its offsets go
from memory at once and their tombstones are appended; if they cannot be stored and nothing took the
group's place meanwhile, it is back as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Protocol

from broker.coordinator.group import records
from broker.coordinator.group.group import GroupMetadata, OffsetAndMetadata
from protocol.errors import ErrorCode

log = logging.getLogger(__name__)
AppendCallback = Callable[[ErrorCode], None]
Batch = list[tuple[bytes, bytes | None]]


class _Group(Protocol):
    @property
    def group_id(self) -> str: ...
    @property
    def offsets(self) -> dict[tuple[str, int], OffsetAndMetadata]: ...


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


def offset_tombstones(group_id: str, partitions: Iterable[tuple[str, int]]) -> Batch:
    return [(records.offset_key(group_id, t, p), None) for t, p in partitions]


def log_failure(group: object, what: str) -> AppendCallback:
    """A completion that only logs a failure to store ``what`` (the change stays in memory)."""

    def done(error: ErrorCode) -> None:
        if error is not ErrorCode.NONE:
            log.warning("%r: storing the %s failed with %s", group, what, error.name)

    return done


def delete_group(
    writer: RecordWriter,
    group: _Group,
    group_key: bytes,
    forget: Callable[[], None],
    vacant: Callable[[], bool],
    restore: Callable[[], None],
    done: AppendCallback,
) -> None:
    """Delete ``group`` and its offsets: ``forget`` it at once and append the tombstones of its offsets
    and of ``group_key``. If they cannot be stored while the group's place is still ``vacant`` (no
    group of that id now, and this broker still owns it), ``restore`` it with its offsets. ``done``
    gets the append's outcome."""
    batch = offset_tombstones(group.group_id, list(group.offsets))
    batch.append((group_key, None))
    offsets = dict(group.offsets)
    forget()
    group.offsets.clear()

    def stored(error: ErrorCode) -> None:
        if error is ErrorCode.NONE:
            log.info("%r: deleted", group)
        elif vacant():
            restore()
            group.offsets.update(offsets)
            log.warning("%r: deleting it failed with %s; it is back", group, error.name)
        done(error)

    writer.append(group.group_id, batch, stored)
