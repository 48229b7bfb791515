"""A crash at any step of a cleaning's swap recovers to the old segments or to the cleaned ones."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from storage.cleaner.cleaner import LogCleaner
from storage.errors import StorageError
from storage.fs import REAL_FS, FileSystem
from storage.recovery.loader import LogLoader
from tests.storage.cleaner_support import append_all, compacted, latest, records, seal
from tests.storage.conftest import Clock, OpenLog

Step = Callable[[str, str], bool]


class CrashingFs(FileSystem):
    """Raises at the first rename ``crash_at`` matches: the process 'dies' there."""

    def __init__(self, crash_at: Step) -> None:
        self.crash_at = crash_at
        self.crashed = False

    def rename(self, src: str, dst: str) -> None:
        if not self.crashed and self.crash_at(src, dst):
            self.crashed = True
            raise OSError(f"crash while renaming {os.path.basename(src)} to {os.path.basename(dst)}")
        super().rename(src, dst)


def _deleted_count(n: int) -> Step:
    seen = [0]

    def step(src: str, dst: str) -> bool:
        if dst.endswith(".log.deleted"):
            seen[0] += 1
            return seen[0] == n
        return False

    return step


STEPS: dict[str, tuple[Step, bool]] = {  # where it crashes -> whether the cleaned segments win
    "cleaned to swap": (lambda src, dst: dst.endswith(".log.swap"), False),
    "first old segment to deleted": (_deleted_count(1), True),
    "second old segment to deleted": (_deleted_count(2), True),
    "swap to final name": (lambda src, dst: src.endswith(".log.swap"), True),
    "an index swap to final name": (lambda src, dst: src.endswith(".timeindex.swap"), True),
}


@pytest.mark.parametrize("step", list(STEPS))
def test_a_crash_during_the_swap_recovers(step: str, open_log: OpenLog, clock: Clock) -> None:
    crash_at, cleaned_wins = STEPS[step]
    fs = CrashingFs(crash_at)
    log = open_log(compacted(), fs=fs)
    for i in range(8):  # small segments: the cleaner groups them by two or three
        append_all(log, [(f"k{j % 3}".encode(), f"v{i}-{j}".encode()) for j in range(5)])
        log.roll()
    seal(log)
    written = records(log)
    with pytest.raises((StorageError, OSError)):
        LogCleaner(fs, clock).clean(log, None)
    assert fs.crashed
    again = LogLoader.load(log.directory, "topic", 0, compacted(), REAL_FS, clock, clean_shutdown=False)
    again.set_high_watermark(again.log_end_offset)
    recovered = records(again)
    compacted_view = sorted((offset, key, value) for key, (offset, value) in latest(written).items())
    assert set(recovered) <= set(written) and set(compacted_view) <= set(recovered)
    assert [r[0] for r in recovered] == sorted({r[0] for r in recovered})  # offsets only increase
    if cleaned_wins:
        assert len(recovered) < len(written)  # the first group was swapped in
    else:
        assert recovered == written
    names = os.listdir(log.directory)
    assert not [n for n in names if n.endswith((".cleaned", ".swap", ".deleted"))]
    assert again.log_end_offset == log.log_end_offset
    LogCleaner(REAL_FS, clock).clean(again, None)  # and the recovered log cleans as if nothing happened
    assert records(again) == compacted_view
