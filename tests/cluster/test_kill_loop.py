"""Issue #12's proof, in the suite: twenty SIGKILL-and-restart cycles of random brokers of a real
3-broker cluster under an idempotent acks=all producer (replication factor 3, min.insync.replicas=2).

``bench.cluster_killloop`` does the work (longer soaks: ``make cluster-killloop CYCLES=...``): it keeps
the history of every acknowledged record, restarts each killed broker on its log dir and waits until it
is back in every ISR, then reads every partition back and compares the three copies on disk below the
high watermark. Its exit status is 0 only if nothing acknowledged was lost, duplicated or reordered,
every restarted broker rejoined the ISRs, and the replicas are byte-identical.
"""

from __future__ import annotations

from bench import cluster_killloop


def test_twenty_kill_and_restart_cycles_lose_nothing_and_leave_identical_replicas() -> None:
    from tests.cluster.conftest import _require_zookeeper

    _require_zookeeper()
    argv = ["--cycles", "20", "--min-s", "0.3", "--max-s", "1.2", "--seed", "12"]
    assert cluster_killloop.main(argv) == 0
