"""Property: the state rebuilt from the log (and from a snapshot plus the log) equals the live state.

Random producers send in-order, gapped, duplicated, fenced, epoch-bumping, transactional and
non-transactional batches, and coordinators write commit and abort markers; the live manager accepts
or rejects each. Whatever it accepted is the log.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.records.header import BatchHeader
from storage.producer.state import (
    AppendOrigin,
    EndTxnMarker,
    ProducerStateEntry,
    ProducerStateError,
    ProducerStateManager,
)
from tests.storage.test_producer_state_support import TS, Log, control_batch, data_batch

MAX_SEQ = 2**31 - 1
PIDS = (11, 12, 13)


def next_batch(data: st.DataObject, log: Log, pid: int, ts: int) -> BatchHeader:
    entry = log.psm.last_entry(pid)
    count = data.draw(st.integers(1, 4), label="count")
    txn = data.draw(st.booleans(), label="transactional")
    offset = log.end_offset
    if entry is None:
        seq = data.draw(st.sampled_from([0, 0, 7, MAX_SEQ - 1]), label="first sequence")
        return data_batch(pid, data.draw(st.integers(0, 2)), seq, offset, count, txn=txn, ts=ts)
    epoch = entry.producer_epoch + data.draw(st.sampled_from([0, 0, 0, 0, 1, -1]), label="epoch step")
    kind = data.draw(st.sampled_from(["next", "next", "next", "gap", "zero", "retry"]), label="kind")
    if kind == "retry" and entry.batches:
        old = data.draw(st.sampled_from(list(entry.batches)), label="retried batch")
        return data_batch(pid, epoch, old.first_seq, offset, old.offset_delta + 1, txn=txn, ts=ts)
    following = 0 if entry.last_seq in (-1, MAX_SEQ) else entry.last_seq + 1
    seq = {"next": following, "gap": following + 2, "zero": 0}.get(kind, following)
    return data_batch(pid, max(epoch, 0), seq, offset, count, txn=txn, ts=ts)


def build_live_log(data: st.DataObject, directory: Path) -> Log:
    log = Log(directory)
    steps = data.draw(st.integers(1, 40), label="steps")
    for step in range(steps):
        ts = TS + step
        action = data.draw(st.sampled_from(["data"] * 5 + ["marker", "plain", "snapshot"]), label="action")
        pid = data.draw(st.sampled_from(PIDS), label="producer")
        try:
            if action == "data":
                log.append(next_batch(data, log, pid, ts))
            elif action == "marker":
                entry = log.psm.last_entry(pid)
                epoch = (entry.producer_epoch if entry else 0) + data.draw(st.integers(0, 1))
                marker = EndTxnMarker(data.draw(st.booleans()), data.draw(st.integers(0, 3)))
                header = control_batch(pid, epoch, log.end_offset, ts=ts)
                log.append(header, marker, AppendOrigin.COORDINATOR)
            elif action == "plain":
                log.append(data_batch(-1, -1, -1, log.end_offset, ts=ts))
            else:
                log.psm.take_snapshot()
        except ProducerStateError:
            pass  # rejected: not in the log
    return log


def visible(entry: ProducerStateEntry) -> tuple[int, ...]:
    """What a snapshot keeps of an entry: all but the four older batches."""
    return (
        entry.producer_epoch,
        entry.coordinator_epoch,
        entry.last_timestamp,
        -1 if entry.current_txn_first_offset is None else entry.current_txn_first_offset,
        entry.last_seq,
        entry.last_data_offset,
        entry.last_offset_delta,
    )


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_rebuilding_from_the_log_or_a_snapshot_gives_the_live_state(data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as live_dir, tempfile.TemporaryDirectory() as empty_dir:
        log = build_live_log(data, Path(live_dir))
        end = log.end_offset
        live = log.psm

        # from scratch: everything equal, including the last five batches and the aborted txns
        rebuilt = ProducerStateManager(Path(empty_dir), time_ms=lambda: TS)
        assert rebuilt.load(0, end, log.replay) == log.aborted
        assert rebuilt.active_producers() == live.active_producers()
        assert rebuilt.ongoing_transactions() == live.ongoing_transactions()
        assert rebuilt.first_unstable_offset() == live.first_unstable_offset()
        assert rebuilt.map_end_offset == end

        # from the newest live snapshot plus the log after it
        snap = live.latest_snapshot_offset() or 0
        reloaded = ProducerStateManager(Path(live_dir), time_ms=lambda: TS)
        aborted = reloaded.load(0, end, log.replay)
        assert aborted == [a for a in log.aborted if a.last_offset >= snap]
        assert {p: visible(e) for p, e in reloaded.active_producers().items()} == {
            p: visible(e) for p, e in live.active_producers().items()
        }
        assert reloaded.ongoing_transactions() == live.ongoing_transactions()
        live.on_high_watermark_updated(end)
        reloaded.on_high_watermark_updated(end)
        assert reloaded.first_unstable_offset() == live.first_unstable_offset()
