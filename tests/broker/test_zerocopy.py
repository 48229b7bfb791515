"""Fetch answers sent with sendfile (broker.zerocopy), in process: real segment files, a real socket.

What a client would see: the frame decodes as a Fetch response, and its records are exactly the
stored batches, even when retention deletes the segment or a truncation cuts it between the read and
the send (then the field keeps its size and ends in a partial batch, which clients skip).
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from broker.zerocopy import FileBackedResponse, Outgoing, RecordsSplicer, send
from protocol.headers import decode_response
from protocol.messages.fetch import FETCH, FetchableTopicResponse, FetchResponse, PartitionData
from storage.config import LogConfig
from storage.fs import REAL_FS
from storage.log.log import Log
from storage.recovery.loader import LogLoader
from tests.storage.batches import make_batch

SEGMENT_BYTES = 64 * 1024
BATCH_VALUES = 8
VALUE = 1000


def new_log(tmp_path: Path) -> Log:
    config = LogConfig(segment_bytes=SEGMENT_BYTES, file_delete_delay_ms=0)
    return LogLoader.create(str(tmp_path / "t-0"), "t", 0, config, REAL_FS, lambda: int(time.time() * 1000))


def fill(log: Log, batches: int) -> list[bytes]:
    """Append ``batches`` batches; returns them as stored (offsets assigned)."""
    stored = []
    for i in range(batches):
        values = [bytes([i % 256]) * VALUE for _ in range(BATCH_VALUES)]
        info = log.append_as_leader(make_batch(values), 0)
        stored.append(make_batch(values, base_offset=info.first_offset, epoch=0))
    log.set_high_watermark(log.log_end_offset)
    return stored


def response_for(log: Log, offset: int, splicer: RecordsSplicer) -> FileBackedResponse:
    info = log.read(offset, 1 << 20)
    answer = PartitionData(partition_index=0, high_watermark=log.high_watermark, records=splicer.records(info))
    body = FetchResponse(responses=[FetchableTopicResponse(topic="t", partitions=[answer])])
    response = splicer.response(body)
    assert isinstance(response, FileBackedResponse), "a region this large is sent with sendfile"
    return response


def sent_over_a_socket(outgoing: Outgoing) -> bytes:
    """Send ``outgoing`` with ``zerocopy.send`` over a real TCP connection; the bytes received."""

    async def run() -> bytes:
        received: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await send(writer, outgoing)
            await writer.drain()
            writer.close()

        async def read_all(host: str, port: int) -> None:
            reader, writer = await asyncio.open_connection(host, port)
            received.set_result(await reader.read())
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        host, port = server.sockets[0].getsockname()[:2]
        async with server:
            await asyncio.wait_for(read_all(host, port), 30)
        return received.result()

    return asyncio.run(run())


def decoded_records(frame: bytes, version: int) -> bytes:
    (size,) = struct.unpack_from(">i", frame)
    assert size == len(frame) - 4, "the frame size covers exactly the bytes sent"
    _, body = decode_response(FETCH, version, frame[4:])
    assert isinstance(body, FetchResponse)
    records = body.responses[0].partitions[0].records
    assert records is not None
    return bytes(records)


def whole_batches(records: bytes) -> tuple[list[bytes], bytes]:
    """Split records as clients do: whole batches, then whatever partial batch is left."""
    out, pos = [], 0
    while pos + 12 <= len(records):
        (length,) = struct.unpack_from(">i", records, pos + 8)
        if pos + 12 + length > len(records):
            break
        out.append(records[pos : pos + 12 + length])
        pos += 12 + length
    return out, records[pos:]


def is_partial_batch(rest: bytes) -> bool:
    return len(rest) < 12 or struct.unpack_from(">i", rest, 8)[0] + 12 > len(rest)


Encode = Callable[[FileBackedResponse], Outgoing]


@pytest.mark.parametrize("version", [11, 12, 16])  # classic and flexible (compact length) encodings
def test_records_arrive_exactly_as_stored(tmp_path: Path, version: int) -> None:
    log = new_log(tmp_path)
    stored = fill(log, 6)
    response = response_for(log, 0, RecordsSplicer())
    records = decoded_records(sent_over_a_socket(response.encode(FETCH, version, 7)), version)
    batches, rest = whole_batches(records)
    assert batches == stored[: len(batches)] and len(batches) >= 4
    assert rest == b""


def test_a_segment_deleted_before_the_send_still_arrives_whole(tmp_path: Path) -> None:
    log = new_log(tmp_path)
    stored = fill(log, 20)  # several segments
    assert len(log.segments) > 2
    response = response_for(log, 0, RecordsSplicer())
    outgoing = response.encode(FETCH, 12, 1)
    log.delete_records_before(log.log_end_offset)
    assert log.delete_old_segments() > 0  # retention removes the segment the answer reads from
    log.purge_deleted_files()
    assert not (tmp_path / "t-0" / "00000000000000000000.log").exists()
    batches, rest = whole_batches(decoded_records(sent_over_a_socket(outgoing), 12))
    assert batches == stored[: len(batches)] and batches
    assert rest == b""


def test_a_truncation_before_the_send_gives_a_well_formed_answer(tmp_path: Path) -> None:
    log = new_log(tmp_path)
    stored = fill(log, 6)
    response = response_for(log, 0, RecordsSplicer())
    outgoing = response.encode(FETCH, 12, 1)
    log.truncate_to(2 * BATCH_VALUES)  # keeps the first two batches
    records = decoded_records(sent_over_a_socket(outgoing), 12)
    batches, rest = whole_batches(records)
    assert batches == stored[:2]
    assert rest and is_partial_batch(rest)


def test_small_regions_are_read_into_the_answer(tmp_path: Path) -> None:
    log = new_log(tmp_path)
    stored = fill(log, 1)
    splicer = RecordsSplicer()
    assert splicer.records(log.read(0, 1 << 20)) == stored[0]
    assert splicer.response(FetchResponse()) == FetchResponse()


def test_a_truncation_of_everything_before_the_send_gives_a_well_formed_answer(tmp_path: Path) -> None:
    log = new_log(tmp_path)
    fill(log, 6)
    response = response_for(log, 0, RecordsSplicer())
    outgoing = response.encode(FETCH, 12, 1)
    log.truncate_to(0)  # the file ends where the region starts: nothing of it can be sent
    records = decoded_records(sent_over_a_socket(outgoing), 12)
    batches, rest = whole_batches(records)
    assert batches == []
    assert rest and is_partial_batch(rest)
