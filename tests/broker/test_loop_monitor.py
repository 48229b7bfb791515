"""The opt-in loop monitor (broker/loop_monitor.py): a callback that blocks the loop is reported with
what it was and where it blocked; without the environment variable nothing is installed."""

from __future__ import annotations

import asyncio
import time

import pytest

from broker.loop_monitor import ENV, LoopMonitor, install_from_env


def _block_the_loop() -> None:
    time.sleep(0.08)  # a blocking call, as an fsync on the loop would be


def test_a_blocking_callback_is_reported_with_its_stack() -> None:
    lines: list[str] = []

    async def scenario() -> None:
        monitor = LoopMonitor(0.02, lines.append)
        monitor.install()
        try:
            asyncio.get_running_loop().call_soon(_block_the_loop)
            await asyncio.sleep(0.01)  # quick callbacks are not reported
            await asyncio.sleep(0.15)
        finally:
            monitor.uninstall()

    original = asyncio.Handle._run
    asyncio.run(scenario())
    assert asyncio.Handle._run is original  # uninstalled
    stalls = [line for line in lines if line.startswith("loop stall")]
    assert len(stalls) == 1, lines
    what, _, where = stalls[0].partition("; blocked at: ")
    assert what.endswith("in _block_the_loop")
    assert where.startswith("test_loop_monitor.py:") and " _block_the_loop" in where  # the watchdog's sample


def test_off_unless_the_environment_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    async def installed() -> bool:
        monitor = install_from_env()
        if monitor is not None:
            monitor.uninstall()
        return monitor is not None

    monkeypatch.delenv(ENV, raising=False)
    assert asyncio.run(installed()) is False
    monkeypatch.setenv(ENV, "0")
    assert asyncio.run(installed()) is False
    monkeypatch.setenv(ENV, "25")
    assert asyncio.run(installed()) is True
