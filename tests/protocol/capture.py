"""A capturing Kafka server for tests: real clients talk to it, it keeps every request frame they send.

``CaptureServer`` listens on 127.0.0.1 (a free port), reads size-prefixed request frames on any number
of connections, records each raw frame (``Captured``), and answers just enough, with the project's own
codec, for a producer to go on:

- ApiVersions: every API of ``protocol.api.APIS`` with its full version range (``max_versions`` caps
  some); a version newer than ours gets UNSUPPORTED_VERSION in a v0 body listing our ApiVersions range,
  as Kafka does (KIP-511), so the client retries with one we know.
- Metadata: one broker (node 0, this server, also the controller); every topic asked for exists with
  one partition led by node 0. A null topic list means every topic asked for so far.
- Produce: success for every partition, base offset 0 (no answer when acks=0, as Kafka).
- FindCoordinator: this node. InitProducerId: producer id 1000, epoch 0. Fetch: empty, error NONE.
- Anything else is recorded and left unanswered.

A request our codec cannot decode (or any other failure while answering) is recorded in ``problems``,
where tests look, and its connection closed. The server thread polls a stop flag every 50 ms and ends
by itself after ``lifetime`` seconds, so a test that forgets to stop it cannot hang; ``stop`` joins it.

Threads: the server thread alone owns the sockets and the topic list; ``captured`` and ``problems``
are shared with the test thread under a lock, and the accessors return copies.
"""

from __future__ import annotations

import hashlib
import itertools
import selectors
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from protocol.api import APIS, Api, lookup
from protocol.errors import ErrorCode
from protocol.frames import FrameReader
from protocol.headers import decode_request, encode_response, peek_api
from protocol.messages import load_all
from protocol.messages.api_versions import API_VERSIONS, ApiVersion, ApiVersionsResponse
from protocol.messages.fetch import FetchResponse
from protocol.messages.find_coordinator import Coordinator, FindCoordinatorRequest, FindCoordinatorResponse
from protocol.messages.init_producer_id import InitProducerIdResponse
from protocol.messages.metadata import (
    MetadataRequest,
    MetadataResponse,
    MetadataResponseBroker,
    MetadataResponsePartition,
    MetadataResponseTopic,
)
from protocol.messages.produce import (
    PartitionProduceResponse,
    ProduceRequest,
    ProduceResponse,
    TopicProduceResponse,
)
from protocol.schema import Struct

load_all()

NODE_ID = 0
CLUSTER_ID = "kafkish-capture"
PRODUCER_ID = 1000


@dataclass(frozen=True, slots=True)
class Captured:
    """One request frame as the client sent it (size prefix removed), in arrival order."""

    connection: int
    api_key: int
    api_version: int
    frame: bytes


def topic_id(name: str) -> bytes:
    """A stable, non-zero topic id for ``name`` (Metadata v10+ carries topic ids)."""
    return hashlib.md5(name.encode()).digest()


class CaptureServer:
    """A listening socket on 127.0.0.1 and a thread answering requests; use it as a context manager."""

    def __init__(self, *, max_versions: dict[int, int] | None = None, lifetime: float = 60.0) -> None:
        self._max_versions = dict(max_versions or {})
        self._lifetime = lifetime
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self.host, self.port = self._listener.getsockname()[:2]
        self._lock = threading.Lock()
        self._captured: list[Captured] = []
        self._problems: list[str] = []
        self._topics: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"capture-server-{self.port}", daemon=True)

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def __enter__(self) -> CaptureServer:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)
        if self._thread.is_alive():
            raise RuntimeError("capture server thread did not stop within 5 s")

    # --- what the test reads ------------------------------------------------------------------------
    def captured(self, api_key: int | None = None) -> list[Captured]:
        with self._lock:
            return [c for c in self._captured if api_key is None or c.api_key == api_key]

    @property
    def problems(self) -> list[str]:
        with self._lock:
            return list(self._problems)

    # --- the server thread --------------------------------------------------------------------------
    def _run(self) -> None:
        deadline = time.monotonic() + self._lifetime
        selector = selectors.DefaultSelector()
        selector.register(self._listener, selectors.EVENT_READ, None)
        readers: dict[socket.socket, tuple[int, FrameReader]] = {}
        numbers = itertools.count()
        try:
            while not self._stop.is_set() and time.monotonic() < deadline:
                for key, _ in selector.select(timeout=0.05):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    if sock is self._listener:
                        conn, _ = self._listener.accept()
                        conn.settimeout(5.0)
                        readers[conn] = (next(numbers), FrameReader())
                        selector.register(conn, selectors.EVENT_READ, None)
                    elif not self._serve(sock, *readers[sock]):
                        selector.unregister(sock)
                        sock.close()
                        del readers[sock]
        finally:
            for sock in readers:
                sock.close()
            selector.close()
            self._listener.close()

    def _serve(self, sock: socket.socket, number: int, reader: FrameReader) -> bool:
        """Read what arrived and answer whole frames; False when the connection should close."""
        try:
            data = sock.recv(65536)
        except OSError:
            return False
        if not data:
            return False
        reader.feed(data)
        try:
            while (frame := reader.next_frame()) is not None:
                key, version = peek_api(frame)
                with self._lock:
                    self._captured.append(Captured(number, key, version, frame))
                response = self._respond(frame)
                if response is not None:
                    sock.sendall(response)
        except OSError:
            return False
        except Exception as e:  # a decode error (the client's bytes or our codec) or a bug here
            with self._lock:
                self._problems.append(f"connection {number}: {type(e).__name__}: {e}")
            return False
        return True

    def _respond(self, frame: bytes) -> bytes | bytearray | None:
        key, version = peek_api(frame)
        if key == API_VERSIONS.key and version > self._max_version(API_VERSIONS):
            (correlation_id,) = struct.unpack_from(">i", frame, 4)
            ours = ApiVersion(
                api_key=key, min_version=API_VERSIONS.min_version, max_version=self._max_version(API_VERSIONS)
            )
            body = ApiVersionsResponse(error_code=ErrorCode.UNSUPPORTED_VERSION, api_keys=[ours])
            return encode_response(API_VERSIONS, 0, correlation_id, body)
        if key not in APIS:
            return None
        header, request = decode_request(frame)
        api = lookup(key)
        response = self._answer(api, request)
        if response is None:
            return None
        return encode_response(api, version, header.correlation_id, response)

    def _answer(self, api: Api, request: Struct) -> Struct | None:
        if api.name == "ApiVersions":
            keys = [
                ApiVersion(api_key=a.key, min_version=a.min_version, max_version=self._max_version(a))
                for a in sorted(APIS.values(), key=lambda a: a.key)
            ]
            return ApiVersionsResponse(api_keys=keys)
        if isinstance(request, MetadataRequest):
            return self._metadata(request)
        if isinstance(request, ProduceRequest):
            if request.acks == 0:
                return None
            return ProduceResponse(
                responses=[
                    TopicProduceResponse(
                        name=topic.name,
                        partition_responses=[
                            PartitionProduceResponse(index=p.index, base_offset=0, log_start_offset=0)
                            for p in topic.partition_data
                        ],
                    )
                    for topic in request.topic_data
                ]
            )
        if isinstance(request, FindCoordinatorRequest):
            return FindCoordinatorResponse(
                error_message=None,
                node_id=NODE_ID,
                host=self.host,
                port=self.port,
                coordinators=[
                    Coordinator(key=k, node_id=NODE_ID, host=self.host, port=self.port, error_message=None)
                    for k in request.coordinator_keys
                ],
            )
        if api.name == "InitProducerId":
            return InitProducerIdResponse(producer_id=PRODUCER_ID, producer_epoch=0)
        if api.name == "Fetch":
            return FetchResponse()
        return None

    def _max_version(self, api: Api) -> int:
        return min(api.max_version, self._max_versions.get(api.key, api.max_version))

    def _metadata(self, request: MetadataRequest) -> MetadataResponse:
        if request.topics is None:
            names = list(self._topics)
        else:
            names = [t.name for t in request.topics if t.name]
            self._topics.extend(n for n in names if n not in self._topics)
        partition = MetadataResponsePartition(
            partition_index=0, leader_id=NODE_ID, leader_epoch=0, replica_nodes=[NODE_ID], isr_nodes=[NODE_ID]
        )
        return MetadataResponse(
            brokers=[MetadataResponseBroker(node_id=NODE_ID, host=self.host, port=self.port)],
            cluster_id=CLUSTER_ID,
            controller_id=NODE_ID,
            topics=[MetadataResponseTopic(name=n, topic_id=topic_id(n), partitions=[partition]) for n in names],
        )


# --- real clients producing to a CaptureServer ------------------------------------------------------
Row = tuple[bytes | None, bytes | None, list[tuple[str, bytes | None]], int]
"""key, value, headers, timestamp (ms) of one record a client produces."""

# Values repeat so every codec really shrinks them: clients send a batch uncompressed when the
# codec would not make it smaller (kafka-python and librdkafka both do).
ROWS: list[Row] = [
    (
        b"user-1",
        b'{"clicks": 3, "page": "/home"} ' * 20,
        [("content-type", b"json"), ("trace", b"\x01\x02")],
        1_700_000_000_000,
    ),
    (None, b"a record without a key " * 20, [], 1_700_000_000_010),
    (b"user-2", b"timestamps may go backwards " * 20, [("deleted", b"")], 1_700_000_000_005),
    (b"", b"empty key, long value " * 20, [("n", b"once"), ("n", b"twice")], 1_700_000_000_020),
    (b"user-3", None, [], 1_700_000_000_030),  # a tombstone
]

CLIENT_TIMEOUT = 15.0  # seconds any one client call may take before the test fails


def produce_with_kafka_python(server: CaptureServer, topic: str, codec: str | None, rows: list[Row]) -> None:
    """kafka-python's KafkaProducer, version auto-detected, sends ``rows`` and waits for every ack."""
    from kafka import KafkaProducer

    producer = KafkaProducer(
        bootstrap_servers=server.bootstrap,
        api_version=None,
        compression_type=codec,
        linger_ms=5000,  # one batch: flush() sends at once
        request_timeout_ms=5000,
        max_block_ms=5000,
    )
    try:
        futures = [producer.send(topic, key=k, value=v, headers=h, timestamp_ms=ts) for k, v, h, ts in rows]
        producer.flush(timeout=CLIENT_TIMEOUT)
        for future in futures:
            future.get(timeout=CLIENT_TIMEOUT)
    finally:
        producer.close(timeout=5)


def produce_with_librdkafka(server: CaptureServer, topic: str, codec: str, rows: list[Row]) -> None:
    """confluent-kafka's Producer (librdkafka) sends ``rows``; raises unless every one was acked."""
    from confluent_kafka import KafkaException, Producer

    errors: list[object] = []
    producer = Producer(
        {
            "bootstrap.servers": server.bootstrap,
            "broker.address.family": "v4",
            "compression.type": codec,
            "linger.ms": 0,
            "message.timeout.ms": int(CLIENT_TIMEOUT * 1000),
            "log_level": 3,
        }
    )
    for key, value, headers, ts in rows:
        wire_headers: list[tuple[str, str | bytes | None]] = list(headers)
        producer.produce(
            topic, key=key, value=value, headers=wire_headers, timestamp=ts, on_delivery=lambda e, _m: errors.append(e)
        )
    left = producer.flush(CLIENT_TIMEOUT)
    if left or any(e is not None for e in errors):
        raise KafkaException(f"librdkafka: {left} records unsent, delivery errors {errors}")


def produce_with_aiokafka(server: CaptureServer, topic: str, codec: str | None, rows: list[Row]) -> None:
    """aiokafka's AIOKafkaProducer sends ``rows`` in its own event loop and waits for every ack."""
    import asyncio

    from aiokafka import AIOKafkaProducer

    async def run() -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=server.bootstrap, compression_type=codec, linger_ms=200, request_timeout_ms=5000
        )
        await producer.start()
        try:
            futures = [await producer.send(topic, key=k, value=v, headers=h, timestamp_ms=ts) for k, v, h, ts in rows]
            await asyncio.gather(*futures)
        finally:
            await producer.stop()

    asyncio.run(asyncio.wait_for(run(), CLIENT_TIMEOUT))


# --- regenerating tests/protocol/golden/ --------------------------------------------------------------
GOLDEN_DIR = Path(__file__).parent / "golden"
GOLDEN_TOPIC = "golden"


def _golden_frames() -> dict[str, bytes]:
    """Capture one session per client and name the frames worth keeping."""
    frames: dict[str, bytes] = {}
    sessions: list[tuple[str, Callable[[CaptureServer], None]]] = [
        ("kafka_python", lambda s: produce_with_kafka_python(s, GOLDEN_TOPIC, "gzip", ROWS)),
        ("librdkafka", lambda s: produce_with_librdkafka(s, GOLDEN_TOPIC, "zstd", ROWS)),
        ("aiokafka", lambda s: produce_with_aiokafka(s, GOLDEN_TOPIC, "lz4", ROWS)),
    ]
    codecs = {"kafka_python": "gzip", "librdkafka": "zstd", "aiokafka": "lz4"}
    for client, produce in sessions:
        with CaptureServer() as server:
            produce(server)
        for c in server.captured():
            name = lookup(c.api_key).name.lower()
            if c.api_key == 0:
                name = f"{name}_{codecs[client]}"
            if c.api_key == 3:
                _, body = decode_request(c.frame)
                if not (isinstance(body, MetadataRequest) and body.topics):
                    continue  # keep the metadata request that names the topic
            frames.setdefault(f"{client}_{name}_v{c.api_version}.bin", c.frame)
    return frames


def write_golden(directory: Path = GOLDEN_DIR) -> None:
    """Write the golden frames and a README naming the client versions they came from."""
    import aiokafka
    import confluent_kafka
    import kafka

    directory.mkdir(exist_ok=True)
    for old in directory.glob("*.bin"):
        old.unlink()
    for name, frame in sorted(_golden_frames().items()):
        (directory / name).write_bytes(frame)
    (directory / "README.md").write_text(
        "Request frames (size prefix removed) captured from real clients by `tests/protocol/capture.py`,\n"
        "producing `capture.ROWS` to topic `golden`; `tests/protocol/test_golden_files.py` decodes them.\n"
        "Regenerate with `python -m tests.protocol.capture` (then update the expected fields in that test).\n\n"
        f"Captured with kafka-python {kafka.__version__}, confluent-kafka {confluent_kafka.version()} "
        f"(librdkafka {confluent_kafka.libversion()[0]}), aiokafka {aiokafka.__version__}.\n"
    )


if __name__ == "__main__":
    write_golden()
