"""kafkajs (Node.js, the classic group protocol) against a real broker: produce, consume in groups, admin.

The scripts live in ``tests/clients/js/``; ``make unit`` installs kafkajs there with ``npm ci`` (pinned
in its package-lock.json). Each script has its own deadline and exits non-zero when it passes it.
kafkajs does not check the broker's minimum versions, so every test also asserts that the broker
never saw a request at a version it does not advertise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from tests.harness import BrokerProcess

JS = Path(__file__).resolve().parent / "js"
NODE = shutil.which("node")
OVERRIDES = {
    "group.initial.rebalance.delay.ms": "0",
    "group.min.session.timeout.ms": "1000",
    "offsets.topic.num.partitions": "5",
}

# Outside CI a machine without node may skip these; CI has node, so there a missing kafkajs is a failure.
pytestmark = pytest.mark.skipif(
    not os.environ.get("CI") and (NODE is None or not (JS / "node_modules" / "kafkajs").is_dir()),
    reason="needs node and kafkajs: `npm ci --prefix tests/clients/js` (make unit does it)",
)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    with BrokerProcess(tmp_path_factory.mktemp("kafkajs"), OVERRIDES) as process:
        yield process
        unsupported = [line for line in process.output.splitlines() if "unsupported" in line]
        assert not unsupported, unsupported  # a request at a version we do not advertise


def make_topic(broker: BrokerProcess, name: str, partitions: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    admin.create_topics([NewTopic(name, partitions, 1)])
    admin.close()


def node(script: str, *args: str, timeout_s: float = 90) -> Any:
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(JS / script), *args], capture_output=True, text=True, timeout=timeout_s, cwd=JS, check=False
    )
    assert done.returncode == 0, f"{script} exited {done.returncode}:\n{done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_produce_and_consume_in_a_group_resuming_from_commits(broker: BrokerProcess) -> None:
    make_topic(broker, "js-basic", 3)
    first = node("produce_consume.js", broker.bootstrap, "js-basic", "js-basic-group", "12", "0")
    assert sorted(map(int, first["seen"])) == list(range(12))
    second = node("produce_consume.js", broker.bootstrap, "js-basic", "js-basic-group", "6", "12")
    assert sorted(map(int, second["seen"])) == list(range(12, 18))  # committed on disconnect, resumed


def test_three_consumers_share_six_partitions_each_record_once(broker: BrokerProcess) -> None:
    make_topic(broker, "js-share", 6)
    result = node("share.js", broker.bootstrap, "js-share", "js-share-group", "60", "3")
    consumers = result["consumers"]
    assert sorted(len(c["assignment"]) for c in consumers) == [2, 2, 2]
    assert sorted(p for c in consumers for p in c["assignment"]) == list(range(6))
    seen = [int(value) for c in consumers for _, value in c["seen"]]
    assert sorted(seen) == list(range(60))  # each record exactly once
    for c in consumers:
        assert {partition for partition, _ in c["seen"]} <= set(c["assignment"])


def test_admin_lists_describes_fetches_offsets_and_deletes(broker: BrokerProcess) -> None:
    make_topic(broker, "js-admin", 2)
    node("produce_consume.js", broker.bootstrap, "js-admin", "js-admin-group", "10", "0")
    result = node("admin.js", broker.bootstrap, "js-admin", "js-admin-group")
    assert {"groupId": "js-admin-group", "protocolType": "consumer"} in result["listed"]
    [described] = result["described"]
    assert (described["state"], described["protocolType"], described["members"]) == ("Empty", "consumer", [])
    offsets = {p["partition"]: p["offset"] for t in result["offsets"] for p in t["partitions"]}
    assert offsets == {0: "5", 1: "5"}
    assert result["deleted"] == [{"groupId": "js-admin-group", "errorCode": 0}]


def test_low_level_join_with_no_rebalance_timeout_can_still_sync(broker: BrokerProcess) -> None:
    # kafkajs's Broker.joinGroup sends rebalance_timeout_ms=0; the member pauses a second, then syncs.
    # Kafka 3.x would remove it at once; here the sync deadline is never shorter than the session timeout.
    result = node("low_level_group.js", broker.bootstrap, "-", "js-low-level-group", "1000")
    assert result["joinError"] == 0 and result["leader"]
    assert result["syncError"] == 0  # before: UNKNOWN_MEMBER_ID (removed for not syncing within 0 ms)
    assert result["assignment"] == "the assignment"
    assert result["heartbeatError"] == 0
