from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from storage.config import LogConfig
from storage.fs import REAL_FS, FileSystem
from storage.log.log import Log
from storage.recovery.loader import LogLoader


class Clock:
    """A hand-driven clock in milliseconds."""

    def __init__(self, now: int = 1_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


OpenLog = Callable[..., Log]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def open_log(tmp_path: Path, clock: Clock) -> OpenLog:
    """open_log(config=None, clean=True, fs=REAL_FS, recovery_point=0, log_start_offset=0) -> Log"""

    def _open(
        config: LogConfig | None = None,
        *,
        clean: bool = True,
        fs: FileSystem = REAL_FS,
        recovery_point: int = 0,
        log_start_offset: int = 0,
    ) -> Log:
        return LogLoader.load(
            str(tmp_path / "topic-0"), "topic", 0, config or LogConfig(), fs, clock,
            clean_shutdown=clean, recovery_point=recovery_point, log_start_offset=log_start_offset,
        )  # fmt: skip

    return _open
