"""A hypothesis state machine: the log gives the same answers as a plain in-memory model of batches."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from protocol.records.header import read_header
from storage.config import LogConfig
from storage.errors import OffsetOutOfRange
from storage.fs import REAL_FS
from storage.log.log import Log
from storage.recovery.loader import LogLoader
from tests.storage.batches import make_batch
from tests.storage.conftest import Clock

CONFIG = LogConfig(segment_bytes=700, index_interval_bytes=150, retention_bytes=1500, file_delete_delay_ms=0)


@dataclass
class Batch:
    base: int
    count: int
    body: bytes  # the CRC-covered part, which the log must return unchanged

    @property
    def last(self) -> int:
        return self.base + self.count - 1


class LogModel(RuleBasedStateMachine):
    @initialize()
    def open(self) -> None:
        self.dir = tempfile.mkdtemp()
        self.clock = Clock()
        self.log = self._load(clean=True)
        self.batches: list[Batch] = []
        self.start = 0
        self.end = 0
        self.hw = 0
        self.n = 0

    def _load(self, clean: bool, recovery_point: int = 0, start: int = 0) -> Log:
        return LogLoader.load(
            self.dir + "/t-0", "t", 0, CONFIG, REAL_FS, self.clock,
            clean_shutdown=clean, recovery_point=recovery_point, log_start_offset=start,
        )  # fmt: skip

    def teardown(self) -> None:
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @rule(count=st.integers(1, 5), size=st.integers(0, 250))
    def append(self, count: int, size: int) -> None:
        self.n += 1
        data = make_batch([bytes([self.n % 256]) * size] * count, timestamps=[self.n] * count)
        info = self.log.append_as_leader(data, 0)
        assert info.first_offset == self.end and info.last_offset == self.end + count - 1
        self.batches.append(Batch(self.end, count, data[16:]))
        self.end += count

    @rule()
    def commit_all(self) -> None:
        self.hw = self.log.set_high_watermark(self.end)

    @rule(data=st.data())
    def set_hw(self, data: st.DataObject) -> None:
        self.hw = data.draw(st.integers(self.start, self.end))
        assert self.log.set_high_watermark(self.hw) == self.hw

    @rule(data=st.data(), max_bytes=st.integers(1, 600))
    def read(self, data: st.DataObject, max_bytes: int) -> None:
        offset = data.draw(st.integers(max(0, self.start - 3), self.end + 3))
        if offset < self.start or offset > self.end:
            try:
                self.log.read(offset, max_bytes)
            except OffsetOutOfRange:
                return
            raise AssertionError(f"read at {offset} outside [{self.start}, {self.end}] succeeded")
        self._check_read(offset, max_bytes)

    def _check_read(self, offset: int, max_bytes: int) -> int:
        """Read at ``offset`` up to the HW, compare with the model; returns the next offset to read."""
        got = self.log.read(offset, max_bytes, max_offset=self.hw).read_bytes()
        expected = [b for b in self.batches if b.last >= offset and b.last < self.hw]
        pos, i = 0, 0
        while pos < len(got):
            h = read_header(got, pos)
            assert (h.base_offset, h.records_count) == (expected[i].base, expected[i].count)
            assert got[pos + 16 : pos + h.size] == expected[i].body
            pos += h.size
            i += 1
        if expected and offset < self.hw:
            assert i >= 1  # the first batch comes whole even if larger than max_bytes
            assert i == 1 or pos <= max_bytes  # more than one batch only within max_bytes
        return expected[i - 1].last + 1 if i else self.hw

    @rule(data=st.data())
    def truncate(self, data: st.DataObject) -> None:
        offset = data.draw(st.integers(max(0, self.start - 2), self.end + 2))
        self.log.truncate_to(offset)
        if offset >= self.end:
            return
        if offset < self.start:
            self.batches, self.start, self.end, self.hw = [], offset, offset, offset
            return
        removed = [b for b in self.batches if b.last >= offset]
        self.batches = [b for b in self.batches if b.last < offset]
        self.end = removed[0].base  # whole batches go: the end falls back to the first removed one
        self.start = min(self.start, self.end)
        self.hw = min(self.hw, self.end)

    @rule(data=st.data())
    def delete_records(self, data: st.DataObject) -> None:
        offset = data.draw(st.integers(0, self.hw))
        self.log.delete_records_before(offset)
        self.start = max(self.start, offset)

    @rule()
    def roll(self) -> None:
        self.log.roll()

    @rule()
    def retention(self) -> None:
        before = self.log.log_start_offset
        self.log.delete_old_segments(self.clock.now)
        new_start = self.log.log_start_offset
        assert new_start >= before and new_start <= max(self.hw, before)
        if new_start > self.start:
            assert any(b.base == new_start for b in self.batches) or new_start == self.end
            self.start = new_start
        self.hw = max(self.hw, self.start)

    @rule(clean=st.booleans())
    def restart(self, clean: bool) -> None:
        if clean:
            self.log.flush()
        recovery_point = self.log.recovery_point
        hw = self.log.high_watermark
        self.log.close()
        self.log = self._load(clean, recovery_point, self.start)
        self.log.set_high_watermark(hw)

    @invariant()
    def contents_agree(self) -> None:
        offset = self.start
        while offset < self.hw:
            offset = self._check_read(offset, 400)

    @invariant()
    def offsets_agree(self) -> None:
        assert self.log.log_start_offset == self.start
        assert self.log.log_end_offset == self.end
        assert self.log.high_watermark == self.hw


LogModel.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
test_log_matches_model = LogModel.TestCase
