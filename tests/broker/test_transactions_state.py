"""The transaction coordinator's state machine, in process: a transaction log held in memory (each
append completes when the test says so, or at once) and markers recorded instead of written.

What a producer sees: epochs, fencing, CONCURRENT_TRANSACTIONS while a change or markers are in
flight, timeouts, expiration, and what a reload of the written records restores.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import pytest

from broker.coordinator.group.ownership import Ownership
from broker.coordinator.transaction import records
from broker.coordinator.transaction.config import TransactionConfig
from broker.coordinator.transaction.coordinator import TransactionCoordinator
from broker.coordinator.transaction.marker_channel import MarkerError
from broker.coordinator.transaction.metadata import MAX_EPOCH
from broker.coordinator.transaction.state import VALID_PREVIOUS, IllegalTxnTransition, TxnState, check_transition
from broker.partition import NotLeaderOrFollower
from protocol.errors import ErrorCode

TopicPartition = tuple[str, int]


def in_loop(test: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
    """Run an async test on a fresh event loop (the project runs no asyncio test plugin)."""

    def run() -> None:
        asyncio.run(test())

    run.__name__ = test.__name__
    return run


@dataclass
class MemoryLog:
    """``TxnStateWriter`` in memory: every committed record, in order; ``fail_with`` fails appends."""

    written: list[tuple[str, bytes | None]] = field(default_factory=list)
    fail_with: ErrorCode = ErrorCode.NONE
    gate: asyncio.Event | None = None  # set: appends wait for it

    def partition_for(self, transactional_id: str) -> int:
        return records.partition_for(transactional_id, 50)

    def leader_epoch(self, index: int) -> int | None:
        return 7

    async def append(self, transactional_id: str, value: bytes | None) -> ErrorCode:
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_with is not ErrorCode.NONE:
            return self.fail_with
        self.written.append((transactional_id, value))
        return ErrorCode.NONE

    def states(self, transactional_id: str) -> list[str]:
        out = []
        for t, v in self.written:
            if t != transactional_id:
                continue
            parsed = records.parse(records.key(t), v).value
            out.append("tombstone" if parsed is None else str(TxnState.from_id(parsed.transaction_status)))
        return out


@dataclass
class Markers:
    sent: list[tuple[int, int, int, bool, frozenset[TopicPartition]]] = field(default_factory=list)
    gate: asyncio.Event | None = None
    not_leader_rounds: int = 0  # the first rounds fail with NOT_LEADER_OR_FOLLOWER (retried)
    raising_rounds: int = 0  # the first rounds raise (a bug in the sender: retried all the same)
    refusal: BaseException | None = None  # every partition's leader refuses the marker with it
    refused: int = 0

    async def __call__(
        self,
        producer_id: int,
        producer_epoch: int,
        coordinator_epoch: int,
        commit: bool,
        partitions: set[TopicPartition],
    ) -> dict[TopicPartition, BaseException | None]:
        if self.gate is not None:
            await self.gate.wait()
        if self.raising_rounds > 0:
            self.raising_rounds -= 1
            raise RuntimeError("a bug in the marker sender")
        if self.refusal is not None:
            self.refused += 1
            return dict.fromkeys(partitions, self.refusal)
        if self.not_leader_rounds > 0:
            self.not_leader_rounds -= 1
            return dict.fromkeys(partitions, NotLeaderOrFollower("moved"))
        self.sent.append((producer_id, producer_epoch, coordinator_epoch, commit, frozenset(partitions)))
        return dict.fromkeys(partitions, None)


class Ids:
    def __init__(self) -> None:
        self.next = 1000

    async def generate_producer_id(self) -> int:
        self.next += 1
        return self.next


class Clock:
    def __init__(self) -> None:
        self.ms = 1_000_000

    def __call__(self) -> int:
        return self.ms


def make(config: TransactionConfig | None = None) -> tuple[TransactionCoordinator, MemoryLog, Markers, Clock]:
    log, markers, clock = MemoryLog(), Markers(), Clock()
    coordinator = TransactionCoordinator(config or TransactionConfig(), log, Ids(), markers, Ownership(), clock)
    return coordinator, log, markers, clock


async def settle(coordinator: TransactionCoordinator) -> None:
    """Let background completions (markers, Complete* records) finish."""
    for _ in range(100):
        if not coordinator._completions:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("completions did not finish")


T0 = ("orders", 0)
T1 = ("orders", 1)


@in_loop
async def test_a_new_id_gets_epoch_0_and_every_init_bumps_it() -> None:
    c, log, _, _ = make()
    assert await c.init_producer_id("app", 60000) == (ErrorCode.NONE, 1001, 0)
    assert await c.init_producer_id("app", 60000) == (ErrorCode.NONE, 1001, 1)
    assert log.states("app") == ["Empty", "Empty"]


@in_loop
async def test_commit_writes_prepare_then_markers_then_complete() -> None:
    c, log, markers, _ = make()
    _, pid, epoch = await c.init_producer_id("app", 60000)
    assert await c.add_partitions("app", pid, epoch, {T0}) is ErrorCode.NONE
    assert await c.add_partitions("app", pid, epoch, {T0, T1}) is ErrorCode.NONE
    assert c.describe("app").state == "Ongoing"
    assert await c.end_transaction("app", pid, epoch, commit=True) is ErrorCode.NONE
    await settle(c)
    assert markers.sent == [(pid, epoch, 7, True, frozenset({T0, T1}))]
    assert log.states("app") == ["Empty", "Ongoing", "Ongoing", "PrepareCommit", "CompleteCommit"]
    assert c.describe("app").partitions == ()
    # A retried EndTxn with the same result is answered NONE; the other result is INVALID_TXN_STATE.
    assert await c.end_transaction("app", pid, epoch, commit=True) is ErrorCode.NONE
    assert await c.end_transaction("app", pid, epoch, commit=False) is ErrorCode.INVALID_TXN_STATE


@in_loop
async def test_markers_in_flight_answer_concurrent_transactions() -> None:
    c, _, markers, _ = make()
    _, pid, epoch = await c.init_producer_id("app", 60000)
    await c.add_partitions("app", pid, epoch, {T0})
    markers.gate = asyncio.Event()
    assert await c.end_transaction("app", pid, epoch, commit=False) is ErrorCode.NONE
    assert await c.add_partitions("app", pid, epoch, {T1}) is ErrorCode.CONCURRENT_TRANSACTIONS
    assert (await c.init_producer_id("app", 60000))[0] is ErrorCode.CONCURRENT_TRANSACTIONS
    assert await c.end_transaction("app", pid, epoch, commit=False) is ErrorCode.CONCURRENT_TRANSACTIONS
    markers.gate.set()
    await settle(c)
    assert c.describe("app").state == "CompleteAbort"
    assert await c.add_partitions("app", pid, epoch, {T1}) is ErrorCode.NONE


@in_loop
async def test_markers_are_retried_while_the_partition_has_no_leader() -> None:
    c, _, markers, _ = make()
    _, pid, epoch = await c.init_producer_id("app", 60000)
    await c.add_partitions("app", pid, epoch, {T0})
    markers.not_leader_rounds = 2
    await c.end_transaction("app", pid, epoch, commit=True)
    await settle(c)
    assert len(markers.sent) == 1 and c.describe("app").state == "CompleteCommit"


@in_loop
async def test_a_marker_sender_that_raises_is_retried_and_the_transaction_still_completes() -> None:
    c, _, markers, _ = make()
    _, pid, epoch = await c.init_producer_id("app", 60000)
    await c.add_partitions("app", pid, epoch, {T0})
    markers.raising_rounds = 1
    await c.end_transaction("app", pid, epoch, commit=True)
    await settle(c)
    assert len(markers.sent) == 1 and c.describe("app").state == "CompleteCommit"
    assert await c.add_partitions("app", pid, epoch, {T1}) is ErrorCode.NONE  # not pending for good


async def refused_marker_stops_the_completion(code: ErrorCode) -> None:
    c, log, markers, _ = make()
    _, pid, epoch = await c.init_producer_id("app", 60000)
    await c.add_partitions("app", pid, epoch, {T0})
    markers.refusal = MarkerError(code, "the partition has seen a later epoch")
    await c.end_transaction("app", pid, epoch, commit=True)
    await settle(c)
    assert markers.refused == 1  # not sent again
    assert log.states("app")[-1] == "PrepareCommit"  # no CompleteCommit written here
    assert await c.add_partitions("app", pid, epoch, {T1}) is ErrorCode.CONCURRENT_TRANSACTIONS


@in_loop
async def test_a_marker_refused_for_an_older_producer_epoch_stops_the_completion_as_kafka_does() -> None:
    await refused_marker_stops_the_completion(ErrorCode.INVALID_PRODUCER_EPOCH)


@in_loop
async def test_a_marker_refused_by_a_newer_coordinator_epoch_stops_the_completion_as_kafka_does() -> None:
    await refused_marker_stops_the_completion(ErrorCode.TRANSACTION_COORDINATOR_FENCED)


@in_loop
async def test_a_new_producer_fences_the_old_one_and_aborts_its_transaction() -> None:
    c, log, markers, _ = make()
    _, pid, old = await c.init_producer_id("app", 60000)
    await c.add_partitions("app", pid, old, {T0})
    code, _, _ = await c.init_producer_id("app", 60000)
    assert code is ErrorCode.CONCURRENT_TRANSACTIONS  # the open transaction is being aborted
    await settle(c)
    assert markers.sent == [(pid, old + 1, 7, False, frozenset({T0}))]  # aborted at the fencing epoch
    assert await c.init_producer_id("app", 60000) == (ErrorCode.NONE, pid, old + 2)
    assert await c.add_partitions("app", pid, old, {T1}) is ErrorCode.PRODUCER_FENCED
    assert await c.end_transaction("app", pid, old, commit=True) is ErrorCode.PRODUCER_FENCED
    assert log.states("app")[-3:] == ["PrepareAbort", "CompleteAbort", "Empty"]


@in_loop
async def test_kip360_a_producer_naming_a_stale_epoch_is_fenced() -> None:
    c, _, _, _ = make()
    _, pid, epoch = await c.init_producer_id("app", 60000)
    assert await c.init_producer_id("app", 60000, pid, epoch) == (ErrorCode.NONE, pid, epoch + 1)
    assert (await c.init_producer_id("app", 60000, pid, epoch + 5))[0] is ErrorCode.PRODUCER_FENCED
    assert (await c.init_producer_id("app", 60000, 999, 0))[0] is ErrorCode.PRODUCER_FENCED
    # A retry of the bump that happened (the previous epoch) gets the current one back.
    assert await c.init_producer_id("app", 60000, pid, epoch) == (ErrorCode.NONE, pid, epoch + 1)
    # An id the coordinator does not know (expired): the producer recovering with its old ids gets a new one.
    code, new_pid, new_epoch = await c.init_producer_id("expired", 60000, pid, epoch + 1)
    assert (code, new_epoch) == (ErrorCode.NONE, 0) and new_pid != pid


@in_loop
async def test_a_timed_out_transaction_is_aborted_and_its_producer_fenced() -> None:
    c, _, markers, clock = make()
    _, pid, epoch = await c.init_producer_id("app", 1000)
    await c.add_partitions("app", pid, epoch, {T0})
    clock.ms += 999
    assert c.abort_timed_out() == []
    clock.ms += 2
    assert c.abort_timed_out() == ["app"]
    await settle(c)
    assert markers.sent == [(pid, epoch + 1, 7, False, frozenset({T0}))]
    assert c.describe("app").state == "CompleteAbort"
    assert await c.end_transaction("app", pid, epoch, commit=True) is ErrorCode.PRODUCER_FENCED


@in_loop
async def test_timeouts_are_checked_against_transaction_max_timeout_ms() -> None:
    c, _, _, _ = make(TransactionConfig(max_timeout_ms=5000))
    assert (await c.init_producer_id("app", 5001))[0] is ErrorCode.INVALID_TRANSACTION_TIMEOUT
    assert (await c.init_producer_id("app", 0))[0] is ErrorCode.INVALID_TRANSACTION_TIMEOUT
    assert (await c.init_producer_id("app", 5000))[0] is ErrorCode.NONE


@in_loop
async def test_unknown_ids_and_producer_ids_are_invalid_mappings() -> None:
    c, _, _, _ = make()
    assert await c.add_partitions("nobody", 1, 0, {T0}) is ErrorCode.INVALID_PRODUCER_ID_MAPPING
    _, pid, epoch = await c.init_producer_id("app", 60000)
    assert await c.add_partitions("app", pid + 1, epoch, {T0}) is ErrorCode.INVALID_PRODUCER_ID_MAPPING
    assert await c.end_transaction("app", pid, epoch, commit=True) is ErrorCode.INVALID_TXN_STATE  # none open
    assert c.describe("nobody").error is ErrorCode.TRANSACTIONAL_ID_NOT_FOUND


@in_loop
async def test_a_failed_write_changes_nothing() -> None:
    c, log, _, _ = make()
    _, pid, epoch = await c.init_producer_id("app", 60000)
    log.fail_with = ErrorCode.NOT_COORDINATOR
    assert await c.add_partitions("app", pid, epoch, {T0}) is ErrorCode.NOT_COORDINATOR
    assert c.describe("app").state == "Empty"
    log.fail_with = ErrorCode.NONE
    assert await c.add_partitions("app", pid, epoch, {T0}) is ErrorCode.NONE


@in_loop
async def test_a_change_in_flight_answers_concurrent_transactions() -> None:
    c, log, _, _ = make()
    _, pid, epoch = await c.init_producer_id("app", 60000)
    log.gate = asyncio.Event()
    first = asyncio.ensure_future(c.add_partitions("app", pid, epoch, {T0}))
    await asyncio.sleep(0)
    assert await c.add_partitions("app", pid, epoch, {T1}) is ErrorCode.CONCURRENT_TRANSACTIONS
    log.gate.set()
    assert await first is ErrorCode.NONE


@in_loop
async def test_verification_accepts_only_partitions_of_the_open_transaction() -> None:
    c, _, _, _ = make()
    _, pid, epoch = await c.init_producer_id("app", 60000)
    assert c.verify_partitions("app", pid, epoch, [T0]) == (ErrorCode.NONE, {T0: ErrorCode.INVALID_TXN_STATE})
    await c.add_partitions("app", pid, epoch, {T0})
    assert c.verify_partitions("app", pid, epoch, [T0, T1]) == (
        ErrorCode.NONE,
        {T0: ErrorCode.NONE, T1: ErrorCode.INVALID_TXN_STATE},
    )
    assert c.verify_partitions("app", pid, epoch - 1, [T0])[0] is ErrorCode.PRODUCER_FENCED
    await c.end_transaction("app", pid, epoch, commit=True)
    assert c.verify_partitions("app", pid, epoch, [T0])[1] == {T0: ErrorCode.INVALID_TXN_STATE}  # it ended


@in_loop
async def test_idle_ids_expire_with_a_tombstone() -> None:
    c, log, _, clock = make(TransactionConfig(id_expiration_ms=1000))
    await c.init_producer_id("idle", 60000)
    _, pid, epoch = await c.init_producer_id("busy", 60000)
    await c.add_partitions("busy", pid, epoch, {T0})
    clock.ms += 1001
    assert await c.expire_ids() == ["idle"]
    assert log.written[-1] == ("idle", None)
    assert c.describe("idle").error is ErrorCode.TRANSACTIONAL_ID_NOT_FOUND
    assert c.describe("busy").state == "Ongoing"  # an open transaction never expires


@in_loop
async def test_a_reload_restores_ids_and_finishes_half_completed_transactions() -> None:
    c, log, _, _ = make()
    _, pid, epoch = await c.init_producer_id("done", 60000)
    await c.add_partitions("done", pid, epoch, {T0})
    _, pid2, epoch2 = await c.init_producer_id("open", 60000)
    await c.add_partitions("open", pid2, epoch2, {T1})
    _, pid3, epoch3 = await c.init_producer_id("half", 60000)
    await c.add_partitions("half", pid3, epoch3, {T0})
    c.markers.gate = asyncio.Event()  # type: ignore[attr-defined]
    await c.end_transaction("half", pid3, epoch3, commit=True)  # PrepareCommit written, markers stuck
    c.shutdown()
    latest: dict[str, records.TransactionLogValue | None] = {}
    for txn_id, value in log.written:
        latest[txn_id] = None if value is None else records.parse(records.key(txn_id), value).value
    fresh, _, markers, _ = make()
    fresh.install({t: v for t, v in latest.items() if v is not None})
    await settle(fresh)
    assert markers.sent == [(pid3, epoch3, 7, True, frozenset({T0}))]
    assert fresh.describe("half").state == "CompleteCommit"
    assert fresh.describe("open").state == "Ongoing" and fresh.describe("open").partitions == (T1,)
    assert fresh.describe("done").producer_id == pid


@in_loop
async def test_list_filters_by_state_and_producer_id() -> None:
    c, _, _, _ = make()
    _, a, ea = await c.init_producer_id("a", 60000)
    _, b, _ = await c.init_producer_id("b", 60000)
    await c.add_partitions("a", a, ea, {T0})
    assert [m.transactional_id for m in c.list_transactions({TxnState.ONGOING}, None)] == ["a"]
    assert [m.transactional_id for m in c.list_transactions(None, {b})] == ["b"]
    assert sorted(m.transactional_id for m in c.list_transactions(None, None)) == ["a", "b"]


def test_the_transition_table_is_kafkas() -> None:
    check_transition("x", TxnState.ONGOING, TxnState.PREPARE_COMMIT)
    with pytest.raises(IllegalTxnTransition):
        check_transition("x", TxnState.EMPTY, TxnState.PREPARE_COMMIT)
    assert VALID_PREVIOUS[TxnState.COMPLETE_ABORT] == {TxnState.PREPARE_ABORT}
    assert [s.id for s in TxnState] == [0, 1, 2, 3, 4, 5, 6, 7]


def test_records_round_trip_in_kafkas_layout() -> None:
    value = records.TransactionLogValue(
        producer_id=5, producer_epoch=1, transaction_timeout_ms=60000, transaction_status=1,
        transaction_partitions=records.partitions_value({("t", 1), ("t", 0)}),
        transaction_last_update_timestamp_ms=10, transaction_start_timestamp_ms=9,
    )  # fmt: skip
    raw = records.value(value)
    assert raw[:2] == b"\x00\x00" and records.key("x") == b"\x00\x00\x00\x01x"
    assert records.parse(records.key("x"), raw) == records.TxnRecord("x", value)
    with pytest.raises(records.BadTxnRecord):
        records.parse(records.key("x"), raw + b"\x00")


def test_transaction_version_2_records_are_v1_with_their_tagged_fields() -> None:
    value = records.TransactionLogValue(
        producer_id=5, previous_producer_id=4, next_producer_id=6, producer_epoch=1, transaction_timeout_ms=60000,
        transaction_status=2, transaction_partitions=records.partitions_value({("t", 0)}),
        transaction_last_update_timestamp_ms=10, transaction_start_timestamp_ms=9, client_transaction_version=2,
    )  # fmt: skip
    raw = records.value(value)
    assert raw[:2] == b"\x00\x01"
    assert records.parse(records.key("x"), raw) == records.TxnRecord("x", value)


@in_loop
async def test_end_txn_v5_bumps_the_epoch_and_markers_carry_it() -> None:
    c, log, markers, _ = make()
    _, pid, epoch = await c.init_producer_id("app", 60000)
    await c.add_partitions("app", pid, epoch, {T0})
    assert await c.end_transaction_bumped("app", pid, epoch, commit=True) == (ErrorCode.NONE, pid, epoch + 1)
    await settle(c)
    assert markers.sent == [(pid, epoch + 1, 7, True, frozenset({T0}))]
    assert await c.end_transaction_bumped("app", pid, epoch, commit=True) == (ErrorCode.NONE, pid, epoch + 1)
    assert await c.add_partitions("app", pid, epoch, {T0}) is ErrorCode.PRODUCER_FENCED
    assert await c.end_transaction_bumped("app", pid, epoch - 1, commit=True) == (ErrorCode.PRODUCER_FENCED, -1, -1)
    # an abort with nothing open still ends a (empty) transaction at the next epoch, with no markers
    assert await c.end_transaction_bumped("app", pid, epoch + 1, commit=False) == (ErrorCode.NONE, pid, epoch + 2)
    await settle(c)
    assert len(markers.sent) == 1 and c.describe("app").state == "CompleteAbort"
    assert log.states("app")[-2:] == ["PrepareAbort", "CompleteAbort"]


@in_loop
async def test_end_txn_v5_at_the_last_epoch_moves_the_producer_to_a_new_id() -> None:
    c, log, markers, _ = make()
    last = MAX_EPOCH - 1
    loaded = records.TransactionLogValue(
        producer_id=77, producer_epoch=last, transaction_timeout_ms=60000, transaction_status=TxnState.EMPTY.id,
        transaction_last_update_timestamp_ms=1, transaction_start_timestamp_ms=-1,
    )  # fmt: skip
    c.install({"old": loaded})
    await c.add_partitions("old", 77, last, {T0})
    code, new_pid, new_epoch = await c.end_transaction_bumped("old", 77, last, commit=True)
    assert (code, new_epoch) == (ErrorCode.NONE, 0) and new_pid != 77
    await settle(c)
    assert markers.sent == [(77, MAX_EPOCH, 7, True, frozenset({T0}))]  # the transaction's own id
    d = c.describe("old")
    assert (d.state, d.producer_id, d.producer_epoch) == ("CompleteCommit", new_pid, 0)
    assert await c.end_transaction_bumped("old", 77, last, commit=True) == (ErrorCode.NONE, new_pid, 0)  # retry
    # a coordinator that reloads the PrepareCommit record finishes the move to the new id
    prepare = next(v for t, v in reversed(log.written) if v is not None and records.parse(records.key(t), v)
                   .value.transaction_status == TxnState.PREPARE_COMMIT.id)  # type: ignore[union-attr]  # fmt: skip
    value = records.parse(records.key("old"), prepare).value
    assert value is not None
    fresh, _, _, _ = make()
    fresh.install({"old": value})
    await settle(fresh)
    d = fresh.describe("old")
    assert (d.state, d.producer_id, d.producer_epoch) == ("CompleteCommit", new_pid, 0)
