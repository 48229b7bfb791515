from __future__ import annotations

import os
import tempfile

from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.records.header import read_header
from storage.config import LogConfig
from storage.fs import REAL_FS
from storage.log.log import Log
from storage.recovery.loader import LogLoader
from tests.storage.batches import make_batch
from tests.storage.conftest import Clock, OpenLog

CONFIG = LogConfig(segment_bytes=600, index_interval_bytes=100)


def write_log(log: Log, sizes: list[int]) -> list[tuple[int, bytes]]:
    """Append one batch per size (records of 30 bytes); returns (base offset, stored bytes) per batch."""
    stored = []
    for i, n in enumerate(sizes):
        info = log.append_as_leader(make_batch([bytes([i % 256]) * 30] * n, timestamps=[i * 10] * n), 0)
        stored.append(info.first_offset)
    log.set_high_watermark(log.log_end_offset)
    out = []
    for offset in stored:
        data = log.read(offset, 1).read_bytes()
        out.append((offset, data[: read_header(data).size]))
    return out


def all_batches(log: Log) -> list[tuple[int, bytes]]:
    out = []
    offset = log.log_start_offset
    while offset < log.log_end_offset:
        data = log.read(offset, 1 << 20).read_bytes()
        pos = 0
        while pos < len(data):
            h = read_header(data, pos)
            out.append((h.base_offset, data[pos : pos + h.size]))
            pos += h.size
            offset = h.next_offset
    return out


def reopen(directory: str, clean: bool, recovery_point: int = 0) -> Log:
    return LogLoader.load(
        directory, "topic", 0, CONFIG, REAL_FS, Clock(), clean_shutdown=clean, recovery_point=recovery_point
    )


def test_clean_restart_keeps_everything(open_log: OpenLog) -> None:
    log = open_log(CONFIG)
    written = write_log(log, [1, 3, 2, 5, 1, 4, 2, 2])
    log.flush()
    log.close()
    again = open_log(CONFIG, clean=True, recovery_point=log.log_end_offset)
    assert again.log_end_offset == log.log_end_offset
    assert all_batches(again) == written
    assert again.append_as_leader(make_batch([b"z"]), 0).first_offset == log.log_end_offset


def test_clean_restart_trusts_the_data_and_does_not_scan(open_log: OpenLog) -> None:
    log = open_log(CONFIG)
    write_log(log, [2] * 12)
    log.close()
    first = os.path.join(log.directory, "00000000000000000000.log")
    with open(first, "r+b") as f:  # damage a record of the first segment (CRC-covered bytes)
        f.seek(70)
        f.write(b"\xff\xff")
    trusted = reopen(log.directory, clean=True, recovery_point=log.log_end_offset)
    assert trusted.log_end_offset == log.log_end_offset  # nothing was re-validated
    trusted.close()
    recovered = reopen(log.directory, clean=False, recovery_point=0)
    assert recovered.log_end_offset == log.log_end_offset  # only the corrupt first batch goes
    assert [o for o, _ in all_batches(recovered)] == list(range(2, log.log_end_offset, 2))


def test_unclean_restart_recovers_only_from_the_recovery_point(open_log: OpenLog) -> None:
    log = open_log(CONFIG)
    write_log(log, [2] * 12)
    end = log.log_end_offset
    log.close()
    last = log.segments[-1]
    with open(last.log_path, "ab") as f:
        f.write(b"\x00" * 30)  # a torn write at the tail
    recovered = reopen(log.directory, clean=False, recovery_point=last.base_offset)
    assert recovered.log_end_offset == end
    assert recovered.active_segment.size == last.size


def test_missing_and_damaged_indexes_are_rebuilt(open_log: OpenLog) -> None:
    log = open_log(LogConfig(index_interval_bytes=50))
    written = write_log(log, [1] * 40)
    log.close()
    os.remove(os.path.join(log.directory, "00000000000000000000.index"))
    with open(os.path.join(log.directory, "00000000000000000000.timeindex"), "ab") as f:
        f.write(b"\x01\x02\x03")  # not a multiple of 12 bytes
    again = LogLoader.load(log.directory, "topic", 0, LogConfig(index_interval_bytes=50), REAL_FS, Clock(),
                           clean_shutdown=True, recovery_point=40)  # fmt: skip
    assert all_batches(again) == written
    seg = again.segments[0]
    assert seg.offset_index.entries > 5
    assert seg.rebuilt_indexes >= 1
    assert again.offset_for_timestamp(200) == (20, 200)
    assert os.path.getsize(seg.offset_index.path) % 8 == 0


def test_index_pointing_past_the_log_is_rebuilt(open_log: OpenLog) -> None:
    log = open_log(LogConfig(index_interval_bytes=50))
    written = write_log(log, [1] * 20)
    log.close()
    with open(os.path.join(log.directory, "00000000000000000000.index"), "ab") as f:
        f.write((50).to_bytes(4, "big") + (10**6).to_bytes(4, "big"))
    again = LogLoader.load(log.directory, "topic", 0, LogConfig(index_interval_bytes=50), REAL_FS, Clock(),
                           clean_shutdown=True, recovery_point=20)  # fmt: skip
    assert all_batches(again) == written
    assert again.read(19, 1000).size > 0


def test_leftover_files_are_cleaned_up(open_log: OpenLog) -> None:
    log = open_log(CONFIG)
    written = write_log(log, [1, 1])
    log.close()
    d = log.directory
    for name in ("00000000000000000099.log.deleted", "00000000000000000050.log.cleaned", "x.tmp",
                 "00000000000000000077.index"):  # fmt: skip
        open(os.path.join(d, name), "wb").close()
    again = reopen(d, clean=True, recovery_point=2)
    assert sorted(os.listdir(d)) == sorted(
        ["00000000000000000000.log", "00000000000000000000.index", "00000000000000000000.timeindex"]
        + ["00000000000000000002.snapshot"]  # the producer snapshot close() took at the log end
        + (["leader-epoch-checkpoint"] if os.path.exists(os.path.join(d, "leader-epoch-checkpoint")) else [])
    )
    assert all_batches(again) == written


def test_swap_file_replaces_the_segments_it_covers(open_log: OpenLog) -> None:
    log = open_log(LogConfig(segment_bytes=200))
    write_log(log, [1] * 6)  # segments 0, 2, 4 with two batches each
    log.close()
    d = log.directory
    compacted = make_batch([b"k"], base_offset=1) + make_batch([b"k"], base_offset=3)
    with open(os.path.join(d, "00000000000000000000.log.swap"), "wb") as f:
        f.write(compacted)
    again = LogLoader.load(d, "topic", 0, LogConfig(segment_bytes=200), REAL_FS, Clock(),
                           clean_shutdown=False, recovery_point=0)  # fmt: skip
    assert [s.base_offset for s in again.segments] == [0, 4]
    assert [o for o, _ in all_batches(again)] == [1, 3, 4, 5]


# -- crash tests: cut or corrupt the log anywhere, recover, check what survives -------------------


def protected(pos_in_batch: int) -> bool:
    """Bytes a v2 batch protects: its length, magic, CRC and everything the CRC covers. (The base
    offset and partition leader epoch are outside the CRC by the format's design, as in Kafka.)"""
    return 8 <= pos_in_batch < 12 or pos_in_batch >= 16


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 6), min_size=1, max_size=25),
    where=st.floats(0, 1, exclude_max=True),
    mode=st.sampled_from(["cut", "flip"]),
    flip=st.integers(1, 255),
)
def test_recovery_drops_only_the_damaged_batch_or_the_cut_part_of_one_segment(
    sizes: list[int], where: float, mode: str, flip: int
) -> None:
    with tempfile.TemporaryDirectory() as d:
        directory = os.path.join(d, "topic-0")
        log = reopen(directory, clean=True)
        written = write_log(log, sizes)
        log.close()
        # Global byte layout: (segment number, segment path, position in segment, size, base offset).
        layout = []
        for n, seg in enumerate(log.segments):
            for b in seg.batches(0):
                layout.append((n, seg.log_path, b.position, b.size, b.base_offset))
        segment_of = {offset: n for n, _, _, _, offset in layout}
        target = layout[int(where * len(layout))]
        damaged_segment, path, position, size, damaged_offset = target
        inside = int(where * 10_000) % size
        if mode == "flip":
            while not protected(inside):
                inside = (inside + 7) % size
            with open(path, "r+b") as f:
                f.seek(position + inside)
                byte = f.read(1)[0]
                f.seek(position + inside)
                f.write(bytes([byte ^ flip]))
        else:
            os.truncate(path, position + inside)
        recovered = reopen(directory, clean=False, recovery_point=0)
        survivors = all_batches(recovered)
        if mode == "cut" or 8 <= inside < 12:
            # A cut loses the rest of its segment; a damaged length may too, up to the next batch
            # the index knows. The other segments, and the batches before the damage, all stay.
            must = [(o, b) for o, b in written if segment_of[o] != damaged_segment or o < damaged_offset]
            assert set(must) <= set(survivors) <= set(written)
        else:
            assert survivors == [(o, b) for o, b in written if o != damaged_offset]
        assert damaged_offset not in {o for o, _ in survivors}
        last = [(o, b) for o, b in survivors if segment_of[o] == len(log.segments) - 1]
        end = last[-1][0] + read_header(last[-1][1]).records_count if last else log.segments[-1].base_offset
        assert recovered.log_end_offset == end
        # and the recovered log takes new appends right after what survived
        info = recovered.append_as_leader(make_batch([b"after"]), 1)
        assert info.first_offset == recovered.log_end_offset - 1
        recovered.close()
