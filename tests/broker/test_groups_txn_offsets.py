"""Offsets committed inside a transaction (TxnOffsetCommit) in the group coordinator, in process:
pending until the transaction's marker, applied by COMMIT, dropped by ABORT, and the same outcome
when ``__consumer_offsets`` is replayed (transactional batches, then markers)."""

from __future__ import annotations

from broker.coordinator.group import records
from broker.coordinator.group.group import OffsetAndMetadata
from broker.coordinator.group.loading import Replay
from protocol.errors import ErrorCode
from tests.broker.test_groups_state import Harness

TP = ("in", 0)


def txn_commit(h: Harness, producer_id: int, offset: int, group: str = "g") -> dict[tuple[str, int], ErrorCode]:
    out: list[dict[tuple[str, int], ErrorCode]] = []
    om = OffsetAndMetadata(offset, -1, "", 1000, -1)
    h.gc.commit_offsets(group, "", None, -1, {TP: om}, out.append, producer=(producer_id, 0))
    assert len(out) == 1
    return out[0]


def test_transactional_offsets_wait_for_the_commit_marker() -> None:
    h = Harness()
    assert txn_commit(h, 7, 5) == {TP: ErrorCode.NONE}
    assert h.gc.fetch_offsets("g", [TP]) == {TP: None}  # pending: not visible
    h.gc.complete_transaction(7, {0}, commit=True)
    committed = h.gc.fetch_offsets("g", [TP])[TP]
    assert committed is not None and committed.offset == 5


def test_an_abort_marker_drops_them_and_other_producers_are_untouched() -> None:
    h = Harness()
    txn_commit(h, 7, 5)
    txn_commit(h, 8, 9, group="other")
    h.gc.complete_transaction(7, {0}, commit=False)
    assert h.gc.fetch_offsets("g", [TP]) == {TP: None}
    h.gc.complete_transaction(8, {0}, commit=True)
    assert h.gc.fetch_offsets("other", [TP])[TP].offset == 9  # type: ignore[union-attr]


def test_replay_applies_committed_and_keeps_open_transactions_pending() -> None:
    def offset_record(group: str, offset: int) -> records.OffsetRecord:
        value = records.OffsetCommitValue(offset=offset, commit_timestamp=1000)
        return records.OffsetRecord(records.OffsetCommitKey(group=group, topic="in", partition=0), value)

    replay = Replay()
    replay.add(offset_record("g", 1))  # an ordinary commit
    replay.add(records.TxnOffsetRecord(7, offset_record("g", 5)))
    replay.add(records.TxnOffsetRecord(8, offset_record("g2", 3)))
    replay.add(records.TxnOffsetRecord(9, offset_record("g3", 4)))
    replay.add(records.TxnMarker(7, commit=True))
    replay.add(records.TxnMarker(8, commit=False))
    assert replay.offsets["g"][TP].offset == 5
    assert "g2" not in replay.offsets
    h = Harness()
    h.gc.install(replay)
    assert h.gc.fetch_offsets("g3", [TP]) == {TP: None}  # producer 9's transaction is still open
    h.gc.complete_transaction(9, {0}, commit=True)
    assert h.gc.fetch_offsets("g3", [TP])[TP].offset == 4  # type: ignore[union-attr]
