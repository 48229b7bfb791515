"""Every API and version the broker advertises, fuzzed over real sockets against one real broker.

The invariant is "an answer, or our one-line close: never a handler traceback" (see
``tests.wire_fuzz``). The run is seeded, so a failure repeats; ``bench/fuzz_wire.py`` runs the same
fuzzer far longer with other seeds.
"""

from __future__ import annotations

from pathlib import Path

from tests.harness import BrokerProcess
from tests.wire_fuzz import Fuzzer

SEED = 20261204
ROUNDS = 3  # requests per (API, version)
# The fuzzer's JoinGroup requests must not wait out Kafka's 3 s initial rebalance delay.
OVERRIDES = {"group.initial.rebalance.delay.ms": "0", "group.min.session.timeout.ms": "0"}


def test_every_api_and_version_answers_or_closes_cleanly(tmp_path: Path) -> None:
    with BrokerProcess(tmp_path, overrides=OVERRIDES) as broker:
        fuzzer = Fuzzer(broker.port, lambda: broker.output, SEED)
        fuzzer.create_topics()
        targets = fuzzer.targets()
        stats = fuzzer.run(ROUNDS, targets)
        assert broker.process is not None and broker.process.poll() is None, broker.output[-5000:]
    assert len({(api.key, version) for api, version in targets}) > 150  # every API and version it advertises
    assert stats.requests == ROUNDS * len(targets)
    assert stats.answers > stats.requests // 2, stats  # most requests reach a handler
    assert not stats.findings, "\n\n".join(str(f) for f in stats.findings)
