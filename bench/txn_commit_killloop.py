"""Commit-kill loop: three real brokers on a real ZooKeeper; N times, the broker coordinating a
transactional id gets SIGKILL while the producer's ``commit_transaction()`` is in flight, at delays
cycling through ``--delays`` (seconds after the commit started), with nothing held, then with the
coordinator holding EndTxn (the kill lands before it is handled), then with the other brokers holding
WriteTxnMarkers (PrepareCommit written, markers in flight); every other cycle the records are still
in flight when the commit starts, and every third cycle another broker is killed instead of the
coordinator's (its leader epoch moves while its markers are in flight); the broker is restarted (every
fourth cycle only after a new producer of the id has committed without it)
(``tests.cluster.commit_kill.run_cycle``). Afterwards a read_committed consumer reads everything:
every transaction whole or absent, as its producer was told (``commit_kill.check``).

    python -m bench.txn_commit_killloop --cycles 20

Exit status 1 on a hang (a client call past its timeout, a commit never decided) or a violation.
Not part of ``make test``: each cycle takes 10-30 s.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from tests.cluster import commit_kill
from tests.cluster.brokers import Cluster
from tests.zookeeper import ZooKeeperServer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--delays", default="0,0.02,0.1,0.3,0.6", help="seconds, comma-separated")
    parser.add_argument("--keep", action="store_true", help="keep the brokers' directories")
    args = parser.parse_args()
    delays = [float(d) for d in args.delays.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="txn-commit-kill-"))
    outcomes: list[commit_kill.Outcome] = []
    failure = ""
    with ZooKeeperServer(tmp / "zk") as zk:
        cluster = Cluster(tmp / "brokers", zk.connect + "/commit-kill", overrides=commit_kill.OVERRIDES).start()
        try:
            admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
            topic = NewTopic(commit_kill.TOPIC, commit_kill.PARTITIONS, 3, config={"min.insync.replicas": "2"})
            for future in admin.create_topics([topic], operation_timeout=30).values():
                future.result(timeout=60)
            for cycle in range(args.cycles):
                delay = delays[cycle % len(delays)]
                hold = (None, "EndTxn", "WriteTxnMarkers")[(cycle // len(delays)) % 3]
                try:
                    outcome = commit_kill.run_cycle(
                        cluster,
                        cycle,
                        delay,
                        hold,
                        flushed=cycle % 2 == 0,
                        kill_coordinator=cycle % 3 != 2,
                        late_restart=cycle % 4 == 3,
                    )
                except AssertionError as exc:
                    failure = f"cycle {cycle} (kill {delay * 1000:.0f} ms into the commit, {hold} held): {exc}"
                    print(failure, flush=True)
                    break
                outcomes.append(outcome)
                print(json.dumps(outcome.__dict__), flush=True)
            problems = [] if failure else commit_kill.check(outcomes, commit_kill.read_committed(cluster))
        finally:
            cluster.stop()
    results = [o.result for o in outcomes]
    print(json.dumps({
        "cycles": len(outcomes), "committed": results.count("committed"), "aborted": results.count("aborted"),
        "unknown": results.count("unknown"), "failure": failure, "problems": problems,
        "broker_logs": str(tmp / "brokers"), "finished": time.strftime("%H:%M:%S"),
    }), flush=True)  # fmt: skip
    return 1 if failure or problems else 0


if __name__ == "__main__":
    sys.exit(main())
