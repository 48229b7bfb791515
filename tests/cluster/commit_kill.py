"""One commit-kill cycle: the broker coordinating a transactional id is killed with SIGKILL while the
producer's ``commit_transaction()`` is in flight, then restarted; shared by
``test_transactions_commit_kill.py`` (one or two cycles) and ``bench.txn_commit_killloop`` (many).

A cycle, with confluent-kafka (acks=all, the topic of replication factor 3 and min.insync.replicas 2):

1. a producer of ``txn_id`` opens a transaction and writes ``RECORDS`` records tagged with the cycle
   over every partition, flushed (so every partition is in the transaction), or not (then the
   commit's own flush meets the kill);
2. ``commit_transaction()`` starts in a thread; ``delay_s`` later the coordinator's broker gets SIGKILL.
   The commit of flushed records takes a few ms, so a bare kill mostly lands after EndTxn was
   answered, with the markers in flight; ``hold`` widens the other windows with fault injection
   (EndTxn held on the coordinator: the kill lands before it is handled; WriteTxnMarkers held on the
   other brokers: PrepareCommit written, markers in flight);
3. the commit is retried while librdkafka says it may be (``retriable()``), aborted if it says so
   (``txn_requires_abort()``); every call must return within its timeout plus a margin (a call still
   running past it is a hang, reported as such);
4. the broker is restarted (once the others have seen it die: a broker whose previous ZooKeeper
   session still holds its registration refuses to start, as Kafka's does), and a new producer with
   the same transactional id must initialise (which completes or aborts whatever the first one left)
   and commit one record.

``check`` then reads the topic with a read_committed consumer up to its end: each cycle's transaction
must be there whole or not at all (whole if its producer was told "committed", absent if told
"aborted", either if the outcome stayed unknown), and every follow-up record once.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from kafkish.testing.faults import Faults
from protocol.errors import ErrorCode
from protocol.messages.find_coordinator import FindCoordinatorRequest
from tests.cluster.brokers import Cluster, metadata, wait_for
from tests.harness import BrokerProcess
from tests.raw_client import RawClient

TOPIC = "commit-kill"
PARTITIONS = 3
RECORDS = 30
CALL_TIMEOUT_S = 30.0  # what each client call is given
HANG_MARGIN_S = 15.0  # a call running this long past its timeout hangs
OUTCOME_DEADLINE_S = 120.0  # the first producer's commit must be decided by then
OVERRIDES = {
    "offsets.topic.num.partitions": "3",
    "transaction.state.log.num.partitions": "3",
    "min.insync.replicas": "2",
    "default.replication.factor": "3",
    "kafkish.fault.injection.enable": "true",  # to hold EndTxn or WriteTxnMarkers while the kill lands
}
HOLD_MS = 2000
_FAULTS = re.compile(r"fault injection endpoint listening on (http://\S+:\d+)/faults")


class Hang(AssertionError):
    """A client call that did not return within its timeout (plus a margin)."""


@dataclass
class Outcome:
    cycle: int
    delay_s: float
    victim: int
    result: str  # "committed", "aborted" or "unknown"
    hold: str | None = None
    flushed: bool = True
    calls: list[str] = field(default_factory=list)  # what each call returned, in order
    seconds: float = 0.0


def coordinator(cluster: Cluster, txn_id: str, timeout_s: float = 60.0) -> BrokerProcess:
    """The broker that coordinates ``txn_id`` now, as FindCoordinator answers it."""

    def find() -> BrokerProcess | None:
        for broker in cluster.alive():
            client = RawClient(broker)
            try:
                found = client.request(10, 3, FindCoordinatorRequest(key=txn_id, key_type=1))
            finally:
                client.close()
            if found.error_code == ErrorCode.NONE:
                return next((b for b in cluster.alive() if b.port == found.port), None)
        return None

    found: BrokerProcess = wait_for(find, timeout_s=timeout_s, what=f"a coordinator for {txn_id}")
    return found


def faults(broker: BrokerProcess) -> Faults:
    found = _FAULTS.findall(broker.output)
    assert found, "the broker runs without its fault-injection endpoint"
    return Faults(found[-1])


def _hold(cluster: Cluster, leader: BrokerProcess, api: str) -> None:
    """Delay ``api`` requests by ``HOLD_MS``: EndTxn on the coordinator (the kill lands before it is
    handled), WriteTxnMarkers on the other brokers (the kill lands while markers are in flight)."""
    targets = [leader] if api == "EndTxn" else [b for b in cluster.alive() if b is not leader]
    for broker in targets:
        faults(broker).inject(api, delay_ms=HOLD_MS, duration_ms=HOLD_MS)


def _call(what: str, fn: Callable[[], object], timeout_s: float) -> BaseException | None:
    """Run ``fn`` in a thread; its exception or None; ``Hang`` if it outlives ``timeout_s`` + margin."""
    box: list[BaseException | None] = [None]

    def run() -> None:
        try:
            fn()
        except BaseException as exc:  # handed to the caller
            box[0] = exc

    thread = threading.Thread(target=run, daemon=True, name=what)
    thread.start()
    thread.join(timeout_s + HANG_MARGIN_S)
    if thread.is_alive():
        raise Hang(f"{what} still running {timeout_s + HANG_MARGIN_S:.0f}s after it started (timeout {timeout_s}s)")
    return box[0]


def _error(exc: BaseException) -> KafkaError:
    if not isinstance(exc, KafkaException):
        raise exc
    error: KafkaError = exc.args[0]
    return error


def producer(cluster: Cluster, txn_id: str) -> Producer:
    return Producer({
        "bootstrap.servers": cluster.bootstrap, "transactional.id": txn_id, "acks": "all", "linger.ms": 5,
        "transaction.timeout.ms": 60000, "log_level": 3,
    })  # fmt: skip


def restart(cluster: Cluster, broker: BrokerProcess) -> None:
    """Restart a killed broker once the others have seen it die: until its ZooKeeper session expires its
    registration stands, and a broker that finds it refuses to start (as Kafka's does)."""
    broker.kill()
    size = len(cluster.brokers)
    wait_for(lambda: all(len(metadata(b).brokers) == size - 1 for b in cluster.alive()), timeout_s=60,
             what="the killed broker gone from every live broker's metadata")  # fmt: skip
    broker.restart(clean=False)
    wait_for(lambda: all(len(metadata(b).brokers) == size for b in cluster.alive()), timeout_s=60,
             what="the restarted broker back in every broker's metadata")  # fmt: skip


def run_cycle(
    cluster: Cluster,
    cycle: int,
    delay_s: float,
    hold: str | None = None,
    flushed: bool = True,
    kill_coordinator: bool = True,
    late_restart: bool = False,
    txn_id: str = "commit-kill",
) -> Outcome:
    """One cycle as the module docstring says; raises ``Hang`` or AssertionError on a violation.
    ``hold``: "EndTxn" or "WriteTxnMarkers", held for ``HOLD_MS`` where ``_hold`` says; ``flushed``
    False: the records are still in flight when the commit starts (its own flush meets the kill);
    ``kill_coordinator`` False: another broker is killed (a follower of the coordinator's partition and
    the leader of a data partition: the coordinator's leader epoch moves while its markers are in flight);
    ``late_restart``: the killed broker stays down until the new producer has committed."""
    started = time.monotonic()
    first = producer(cluster, txn_id)
    error = _call("init_transactions", lambda: first.init_transactions(CALL_TIMEOUT_S), CALL_TIMEOUT_S)
    assert error is None, f"cycle {cycle}: init_transactions failed: {error!r}"
    leader = coordinator(cluster, txn_id)
    victim = leader if kill_coordinator else next(b for b in cluster.alive() if b is not leader)
    first.begin_transaction()
    for n in range(RECORDS):
        first.produce(TOPIC, value=f"{cycle}:{n}".encode(), partition=n % PARTITIONS)
    if flushed:
        assert first.flush(CALL_TIMEOUT_S) == 0, f"cycle {cycle}: records not written"
    outcome = Outcome(cycle, delay_s, int(victim.overrides["broker.id"]), "unknown", hold, flushed)
    if hold is not None:
        _hold(cluster, leader, hold)

    box: list[BaseException | None] = []
    commit = threading.Thread(
        target=lambda: box.append(_call("commit_transaction", lambda: first.commit_transaction(CALL_TIMEOUT_S),
                                        CALL_TIMEOUT_S)),
        daemon=True,
    )  # fmt: skip
    commit.start()
    time.sleep(delay_s)
    victim.kill()
    commit.join(CALL_TIMEOUT_S + 2 * HANG_MARGIN_S)
    if not box:
        raise Hang(f"cycle {cycle}: commit_transaction never returned")
    result = box[0]
    restarted = False
    deadline = time.monotonic() + OUTCOME_DEADLINE_S
    try:
        while True:
            if result is None:
                outcome.calls.append("commit: ok")
                outcome.result = "committed"
                break
            err = _error(result)
            outcome.calls.append(f"commit: {err.name()}")
            if err.txn_requires_abort():
                result = _call("abort_transaction", lambda: first.abort_transaction(CALL_TIMEOUT_S), CALL_TIMEOUT_S)
                if result is None:
                    outcome.calls.append("abort: ok")
                    outcome.result = "aborted"
                    break
                outcome.calls.append(f"abort: {_error(result).name()}")
                break  # unknown: the next producer settles it
            if err.fatal() or not err.retriable():
                break
            assert time.monotonic() < deadline, (
                f"cycle {cycle}: the commit is still undecided after {OUTCOME_DEADLINE_S}s: {outcome.calls}"
            )
            if not restarted and time.monotonic() - started > 10:
                restart(cluster, victim)  # a retried commit goes on with the broker back
                restarted = True
            result = _call("commit_transaction", lambda: first.commit_transaction(CALL_TIMEOUT_S), CALL_TIMEOUT_S)
    finally:
        if not restarted and not late_restart:
            restart(cluster, victim)
            restarted = True
    _call("close", lambda: first.flush(1), 1)

    second = producer(cluster, txn_id)
    error = _call("init_transactions", lambda: second.init_transactions(CALL_TIMEOUT_S * 2), CALL_TIMEOUT_S * 2)
    assert error is None, f"cycle {cycle}: a new producer of {txn_id} could not initialise: {error!r}"
    second.begin_transaction()
    second.produce(TOPIC, value=f"{cycle}:after".encode(), partition=cycle % PARTITIONS)
    error = _call("commit_transaction", lambda: second.commit_transaction(CALL_TIMEOUT_S), CALL_TIMEOUT_S)
    assert error is None, f"cycle {cycle}: a new producer of {txn_id} could not commit: {error!r}"
    outcome.calls.append("next producer: committed")
    if not restarted:
        restart(cluster, victim)
    outcome.seconds = time.monotonic() - started
    return outcome


def read_committed(cluster: Cluster, timeout_s: float = 60.0) -> list[bytes]:
    """Every value of ``TOPIC`` a read_committed consumer gets, once it is at each partition's end."""
    consumer = Consumer({
        "bootstrap.servers": cluster.bootstrap, "group.id": f"check-{uuid.uuid4().hex[:6]}",
        "isolation.level": "read_committed", "enable.auto.commit": False, "log_level": 3,
    })  # fmt: skip
    consumer.assign([TopicPartition(TOPIC, p, 0) for p in range(PARTITIONS)])
    values: list[bytes] = []
    try:

        def done() -> bool:
            for message in consumer.consume(500, 0.5):
                if message.error() is None:
                    values.append(message.value() or b"")
            positions = consumer.position([TopicPartition(TOPIC, p) for p in range(PARTITIONS)])
            ends = [consumer.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)[1] for p in range(PARTITIONS)]
            # the position passes the last marker once the LSO reaches the end (no transaction left open)
            return all(
                tp.offset == end or (tp.offset < 0 and end == 0) for tp, end in zip(positions, ends, strict=True)
            )

        wait_for(done, timeout_s=timeout_s, what=f"a read_committed consumer at the end of {TOPIC}")
    finally:
        consumer.close()
    return values


def check(outcomes: list[Outcome], values: list[bytes]) -> list[str]:
    """What the read_committed history violates: partial transactions, lost commits, aborted data seen,
    duplicates. Empty when everything holds."""
    seen = Counter(values)
    problems = [f"{v!r} read {n} times" for v, n in seen.items() if n > 1]
    for outcome in outcomes:
        mine = [f"{outcome.cycle}:{n}".encode() for n in range(RECORDS)]
        present = sum(1 for v in mine if v in seen)
        if present not in (0, RECORDS):
            problems.append(f"cycle {outcome.cycle}: {present} of {RECORDS} records of one transaction visible")
        if outcome.result == "committed" and present == 0:
            problems.append(f"cycle {outcome.cycle}: committed (the client was told so) but not visible")
        if outcome.result == "aborted" and present:
            problems.append(f"cycle {outcome.cycle}: aborted but visible")
        if f"{outcome.cycle}:after".encode() not in seen:
            problems.append(f"cycle {outcome.cycle}: the next producer's committed record is missing")
    return problems
