from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from storage.fs import REAL_FS
from storage.log.index import OffsetIndex, TimeIndex


def test_offset_index_lookup_finds_largest_entry_not_above_target(tmp_path: Path) -> None:
    index = OffsetIndex(str(tmp_path / "a.index"), 100, 1 << 20, REAL_FS)
    index.reset()
    for rel, pos in [(5, 100), (9, 250), (20, 900)]:
        index.append(100 + rel, pos)
    assert index.lookup(99) == (100, 0)
    assert index.lookup(104) == (100, 0)
    assert index.lookup(105) == (105, 100)
    assert index.lookup(119) == (109, 250)
    assert index.lookup(10_000) == (120, 900)
    index.append(110, 1000)  # not above the last entry: ignored
    assert index.entries == 3


def test_offset_index_file_format_and_reload(tmp_path: Path) -> None:
    path = str(tmp_path / "00000000000000000100.index")
    index = OffsetIndex(path, 100, 1 << 20, REAL_FS)
    index.reset()
    index.append(105, 4096)
    index.append(300, 8192)
    index.close()
    with open(path, "rb") as f:
        assert f.read() == bytes.fromhex("00000005 00001000 000000c8 00002000")
    again = OffsetIndex(path, 100, 1 << 20, REAL_FS)
    assert again.lookup(200) == (105, 4096)
    again.truncate_to(300)
    again.close()
    assert os.path.getsize(path) == 8


def test_time_index_format_and_lookup(tmp_path: Path) -> None:
    path = str(tmp_path / "x.timeindex")
    index = TimeIndex(path, 10, 1 << 20, REAL_FS)
    index.reset()
    index.maybe_append(1000, 12)
    index.maybe_append(1000, 14)  # not a larger timestamp: ignored
    index.maybe_append(2000, 15)
    index.close()
    with open(path, "rb") as f:
        assert f.read() == (1000).to_bytes(8, "big") + (2).to_bytes(4, "big") + (2000).to_bytes(8, "big") + (
            5
        ).to_bytes(4, "big")
    again = TimeIndex(path, 10, 1 << 20, REAL_FS)
    assert again.lookup(999) == (-1, 10)
    assert again.lookup(1500) == (1000, 12)
    assert again.lookup(5000) == (2000, 15)


def test_index_full_at_segment_index_bytes(tmp_path: Path) -> None:
    index = OffsetIndex(str(tmp_path / "f.index"), 0, 24, REAL_FS)
    index.reset()
    for i in range(3):
        assert not index.is_full
        index.append(i + 1, i * 10 + 10)
    assert index.is_full


@given(st.sets(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=300), st.integers(-5, 10_100))
def test_offset_index_lookup_matches_a_linear_scan(rels: set[int], target: int) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        index = OffsetIndex(os.path.join(d, "p.index"), 0, 1 << 20, REAL_FS)
        index.reset()
        entries = sorted(rels)
        for rel in entries:
            index.append(rel, rel * 2)
        below = [e for e in entries if e <= target]
        expected = (below[-1], below[-1] * 2) if below else (0, 0)
        assert index.lookup(target) == expected
        index.close()
