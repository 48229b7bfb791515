"""Transactions with kafkajs (``tests/clients/js/transactions.js``) against a real broker process:
commit, abort, offsets sent to a transaction, a zombie fenced by its successor; what read_uncommitted
and read_committed consumers see. kafkajs sends requests at versions it picks itself, so the broker's
log is checked for requests at versions it does not advertise."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.clients.test_kafkajs import node, pytestmark
from tests.clients.txn_helpers import OVERRIDES, make_topic
from tests.harness import BrokerProcess

__all__ = ["pytestmark"]


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    with BrokerProcess(
        tmp_path_factory.mktemp("txn-kafkajs"), {**OVERRIDES, "group.min.session.timeout.ms": "1000"}
    ) as process:
        yield process
        unsupported = [line for line in process.output.splitlines() if "unsupported" in line]
        assert not unsupported, unsupported


def run(broker: BrokerProcess) -> dict[str, object]:
    make_topic(broker, "js-txn")
    result: dict[str, object] = node("transactions.js", broker.bootstrap, "js-txn", "js-txn-group")
    return result


def test_kafkajs_commits_aborts_fences_and_sends_offsets(broker: BrokerProcess) -> None:
    result = run(broker)
    assert result["fenced"] in ("PRODUCER_FENCED", "INVALID_PRODUCER_EPOCH")
    assert result["offsets"] == [{"partition": 0, "offset": "3", "metadata": None}]
    # c0 c1 | COMMIT 2 | a0 3 | ABORT 4 | last 5 | COMMIT 6 | zombie 7 | ABORT 8 | successor 9 | COMMIT 10
    assert result["uncommitted"] == [[0, "c0"], [1, "c1"], [3, "a0"], [5, "last"], [7, "zombie"], [9, "successor"]]
    assert result["committed"] == [[0, "c0"], [1, "c1"], [5, "last"], [9, "successor"]]
