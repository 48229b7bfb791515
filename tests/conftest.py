"""For every test: the logs of the broker processes (tests/harness.py) a failing test used, in its report.

The lines each broker wrote while the test ran (its last ``LOG_LINES``) follow pytest's own output of the
failure, under "broker log (host:port, file)", also from pytest-xdist workers.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from tests.harness import started_brokers

LOG_LINES = 200
_OFFSETS = pytest.StashKey[dict[int, int]]()


def _size(path: Any) -> int:
    try:
        return int(path.stat().st_size)
    except OSError:
        return 0


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    brokers = started_brokers()
    brokers[:] = [b for b in brokers if b.process is not None and b.process.poll() is None]
    item.stash[_OFFSETS] = {id(b): _size(b.output_path) for b in brokers}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    if report.failed:
        offsets = item.stash.get(_OFFSETS, {})
        for broker in started_brokers():
            try:
                with open(broker.output_path, "rb") as log:
                    log.seek(offsets.get(id(broker), 0))
                    lines = log.read().decode(errors="replace").splitlines()
            except OSError:
                continue
            where = broker.bootstrap if broker.ports else "not listening"
            cut = f"(last {LOG_LINES} of {len(lines)} lines) " if len(lines) > LOG_LINES else ""
            title = f"broker log {cut}({where}, {broker.output_path})"
            report.sections.append((title, "\n".join(lines[-LOG_LINES:])))
    return report
