"""Property: whatever is appended, rolled, cleaned and reopened, a reader of the log sees each key's
latest record at its original offset (nothing at all for a tombstone the cleaner has dropped), only
records that were appended, and offsets that only increase."""

from __future__ import annotations

import tempfile

from hypothesis import given, settings
from hypothesis import strategies as st

from storage.cleaner.cleaner import LogCleaner
from storage.fs import REAL_FS
from storage.log.log import Log
from storage.recovery.loader import LogLoader
from tests.storage.cleaner_support import compacted, keyed, records
from tests.storage.conftest import Clock

KEYS = [b"a", b"b", b"c", b"d", b"e"]

pairs = st.lists(
    st.tuples(st.sampled_from(KEYS), st.one_of(st.none(), st.binary(min_size=0, max_size=30))),
    min_size=1,
    max_size=4,
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("append"), pairs),
        st.tuples(st.sampled_from(["roll", "clean", "clean", "reopen"]), st.just([])),
    ),
    min_size=1,
    max_size=50,
)


@settings(max_examples=100, deadline=None)
@given(
    ops=operations,
    segment_bytes=st.integers(150, 1500),
    delete_retention_ms=st.integers(0, 3000),
    step_ms=st.integers(0, 1000),
)
def test_cleaning_keeps_each_keys_latest_record(
    ops: list[tuple[str, list[tuple[bytes, bytes | None]]]], segment_bytes: int, delete_retention_ms: int, step_ms: int
) -> None:
    config = compacted(segment_bytes=segment_bytes, delete_retention_ms=delete_retention_ms)
    clock = Clock()
    appended: list[tuple[int, bytes, bytes | None]] = []
    with tempfile.TemporaryDirectory() as tmp:

        def load() -> Log:
            log = LogLoader.load(f"{tmp}/t-0", "t", 0, config, REAL_FS, clock, clean_shutdown=True)
            log.set_high_watermark(log.log_end_offset)
            return log

        log = load()
        cleaner = LogCleaner(REAL_FS, clock)
        checkpoint: int | None = None
        for kind, batch in ops:
            clock.advance(step_ms)
            if kind == "append":
                info = log.append_as_leader(keyed(batch, ts=clock.now), 0)
                appended += [(info.first_offset + i, k, v) for i, (k, v) in enumerate(batch)]
                log.set_high_watermark(log.log_end_offset)
            elif kind == "roll":
                log.roll()
            elif kind == "clean":
                result = cleaner.clean(log, checkpoint)
                checkpoint = result.end_offset if result is not None else checkpoint
            else:
                log.close()
                log = load()
        seen = records(log)
        log.close()

    assert [offset for offset, _, _ in seen] == sorted({offset for offset, _, _ in seen})
    assert set(seen) <= set(appended)
    last_seen = {key: (offset, value) for offset, key, value in seen}
    latest = {key: (offset, value) for offset, key, value in appended}
    for key, (offset, value) in latest.items():
        if value is None and key not in last_seen:
            continue  # a tombstone past its delete horizon, and every older record of its key, are gone
        assert last_seen[key] == (offset, value)
    assert set(last_seen) <= set(latest)
