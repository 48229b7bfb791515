"""The codecs on their own: round trips, the xerial snappy framing, zstd without a declared size,
LZ4's legacy header checksum, and the decompression size cap."""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import struct

import cramjam
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.records import Compression, CompressionError, InvalidRecordBatch, compress, decompress
from protocol.records._lz4frame import header_checksum, xxh32
from protocol.records.compression import XERIAL_MAGIC

CODECS = [Compression.GZIP, Compression.SNAPPY, Compression.LZ4, Compression.ZSTD]
PAYLOAD = os.urandom(3000) * 40 + b"tail"


@pytest.mark.parametrize("codec", CODECS, ids=lambda c: c.name)
def test_round_trip_and_exact_limit(codec: Compression) -> None:
    packed = compress(codec, PAYLOAD)
    assert bytes(decompress(codec, packed)) == PAYLOAD
    assert bytes(decompress(codec, packed, max_size=len(PAYLOAD))) == PAYLOAD
    with pytest.raises(CompressionError, match=f"more than {len(PAYLOAD) - 1} bytes"):
        decompress(codec, packed, max_size=len(PAYLOAD) - 1)


@pytest.mark.parametrize("codec", CODECS, ids=lambda c: c.name)
def test_empty_input_round_trips(codec: Compression) -> None:
    assert bytes(decompress(codec, compress(codec, b""))) == b""


@pytest.mark.parametrize("codec", CODECS, ids=lambda c: c.name)
def test_bomb_is_stopped_at_the_cap(codec: Compression) -> None:
    bomb = compress(codec, bytes(50_000_000))
    assert len(bomb) < 3_000_000
    with pytest.raises(CompressionError, match="more than 1000000 bytes"):
        decompress(codec, bomb, max_size=1_000_000)


@pytest.mark.parametrize("codec", CODECS, ids=lambda c: c.name)
def test_truncated_and_garbage_input_raise_compression_error(codec: Compression) -> None:
    packed = compress(codec, PAYLOAD)
    for broken in (packed[: len(packed) // 2], b"\x00garbage\xff" * 10, packed[:5]):
        with pytest.raises(CompressionError):
            decompress(codec, broken)


def test_compression_error_is_an_invalid_record_batch() -> None:
    assert issubclass(CompressionError, InvalidRecordBatch)


def test_gzip_reads_stdlib_gzip_and_concatenated_members() -> None:
    two = gzip.compress(b"first ") + gzip.compress(b"second")
    assert bytes(decompress(Compression.GZIP, two)) == b"first second"
    assert gzip.decompress(compress(Compression.GZIP, b"abc" * 100)) == b"abc" * 100


def test_snappy_writes_the_xerial_framing_that_java_writes() -> None:
    packed = compress(Compression.SNAPPY, PAYLOAD)
    assert packed[:8] == XERIAL_MAGIC
    assert struct.unpack(">ii", packed[8:16]) == (1, 1)
    (first_block,) = struct.unpack(">i", packed[16:20])
    block = cramjam.snappy.decompress_raw(packed[20 : 20 + first_block])
    assert bytes(block) == PAYLOAD[: 32 * 1024]


def test_hand_built_xerial_frame_decodes() -> None:
    parts = [b"chunk one, ", b"chunk two, ", b"and the last"]
    frame = XERIAL_MAGIC + struct.pack(">ii", 1, 1)
    for part in parts:
        block = bytes(cramjam.snappy.compress_raw(part))
        frame += struct.pack(">i", len(block)) + block
    assert bytes(decompress(Compression.SNAPPY, frame)) == b"".join(parts)


def test_hand_built_xerial_frame_with_bad_block_length_is_rejected() -> None:
    block = bytes(cramjam.snappy.compress_raw(b"data"))
    frame = XERIAL_MAGIC + struct.pack(">ii", 1, 1) + struct.pack(">i", len(block) + 50) + block
    with pytest.raises(CompressionError, match="overruns"):
        decompress(Compression.SNAPPY, frame)


def test_raw_snappy_without_framing_is_accepted() -> None:
    raw = bytes(cramjam.snappy.compress_raw(b"librdkafka style"))
    assert bytes(decompress(Compression.SNAPPY, raw)) == b"librdkafka style"


def test_lz4_writes_independent_blocks() -> None:
    packed = compress(Compression.LZ4, PAYLOAD)
    assert packed[:4] == b"\x04\x22\x4d\x18"
    assert packed[4] & 0x20, "block independence flag must be set for Kafka's Java reader"


def test_lz4_legacy_wrong_header_checksum_is_tolerated_only_when_asked() -> None:
    frame = bytearray(compress(Compression.LZ4, b"old kafka" * 10))
    correct = frame[6]
    broken = (xxh32(bytes(frame[0:6])) >> 8) & 0xFF  # KAFKA-3160: hashed the magic too
    assert broken != correct
    frame[6] = broken
    with pytest.raises(CompressionError):
        decompress(Compression.LZ4, frame)
    assert bytes(decompress(Compression.LZ4, frame, lz4_legacy_header_checksum=True)) == b"old kafka" * 10


def test_xxh32_matches_reference_vectors() -> None:
    assert xxh32(b"") == 0x02CC5D05
    assert xxh32(b"Nobody inspects the spammish repetition") == 0xE2293B2F
    frame = bytes(cramjam.lz4.compress(b"x" * 1000))
    descriptor_end = 6 + (8 if frame[4] & 0x08 else 0)
    assert header_checksum(frame) == frame[descriptor_end]


def test_zstd_frame_without_content_size_decodes_under_the_cap() -> None:
    data = PAYLOAD * 3
    no_size = zstandard.ZstdCompressor(write_content_size=False).compress(data)
    assert not no_size[4] & 0xC0 and not no_size[4] & 0x20  # no Frame_Content_Size field
    assert bytes(decompress(Compression.ZSTD, no_size)) == data
    with pytest.raises(CompressionError, match="more than"):
        decompress(Compression.ZSTD, no_size, max_size=len(data) - 1)


def test_zstd_streaming_writer_output_and_concatenated_frames() -> None:
    sink = io.BytesIO()
    with zstandard.ZstdCompressor().stream_writer(sink, closefd=False) as writer:
        writer.write(b"streamed " * 1000)
    streamed = sink.getvalue()
    assert bytes(decompress(Compression.ZSTD, streamed)) == b"streamed " * 1000
    both = streamed + compress(Compression.ZSTD, b"!")
    assert bytes(decompress(Compression.ZSTD, both)) == b"streamed " * 1000 + b"!"


def test_zstd_declared_size_over_the_cap_is_refused_before_decoding() -> None:
    packed = zstandard.ZstdCompressor(write_content_size=True).compress(bytes(5000))
    with pytest.raises(CompressionError, match="more than 4999"):
        decompress(Compression.ZSTD, packed, max_size=4999)


@settings(max_examples=50, deadline=None)
@given(data=st.binary(max_size=5000), codec=st.sampled_from(CODECS))
def test_random_data_round_trips(data: bytes, codec: Compression) -> None:
    assert bytes(decompress(codec, compress(codec, data))) == data


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=300), codec=st.sampled_from(CODECS))
def test_random_input_fails_only_with_compression_error(raw: bytes, codec: Compression) -> None:
    for candidate in (raw, XERIAL_MAGIC + b"\x00\x00\x00\x01\x00\x00\x00\x01" + raw):
        with contextlib.suppress(CompressionError):
            decompress(codec, candidate, max_size=1_000_000)


@pytest.mark.parametrize("codec", [Compression.GZIP, Compression.SNAPPY, Compression.LZ4, Compression.ZSTD])
@pytest.mark.parametrize("kind", [bytearray, memoryview])
def test_compress_takes_any_buffer(codec: Compression, kind: type) -> None:
    """The signature says any buffer; cramjam's LZ4 frame writer alone wanted bytes."""
    data = b"kafkish " * 500
    assert bytes(decompress(codec, compress(codec, kind(data)))) == data
