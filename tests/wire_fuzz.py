"""A wire fuzzer: structurally valid requests of every API and version, with hostile field values.

Requests are built from the project's own message definitions (``protocol.messages``), so they reach
the handlers, not only the decoders: every field gets a value of its type, often an odd one (null
strings and arrays, the extremes of every integer, -1, empty and long arrays, over-long strings,
unknown tagged fields, invalid enum values, record batches with a bad codec, magic or CRC), and now and
then one length prefix is broken on purpose (a negative or huge length, a null where none is allowed),
which the decoder must refuse. Topic, group and transactional ids come mostly from small pools of
names that exist, so the handlers go past their "unknown topic" checks.

The invariant, checked after every request: **an answer, or our one-line close, never a handler
traceback**. An answer must decode as the response of that API and version with the request's
correlation id. A closed connection must leave one log line about it and no "failed in its handler",
"after a broker error" or Traceback in the broker's log; a fresh connection must then still get an
ApiVersions answer. Every broken invariant becomes a ``Finding`` with the request that caused it.

Used by ``tests/broker/test_fuzz_wire.py`` (a short seeded run in ``make test``) and by
``bench/fuzz_wire.py`` (a long run in ``make bench``). Both start one real broker process.
"""

from __future__ import annotations

import random
import socket
import struct
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from protocol import codec
from protocol.api import APIS, Api
from protocol.headers import RequestHeader, decode_response, encode_request
from protocol.messages import load_all
from protocol.messages._consumer_protocol import ConsumerProtocolAssignment, ConsumerProtocolSubscription
from protocol.messages.api_versions import ApiVersionsRequest, ApiVersionsResponse
from protocol.messages.create_topics import CREATE_TOPICS, CreatableTopic, CreatableTopicConfig, CreateTopicsRequest
from protocol.messages.metadata import METADATA, MetadataRequest, MetadataRequestTopic, MetadataResponse
from protocol.records import Compression, Record, build_batch
from protocol.records.header import HEADER_SIZE, write_crc
from protocol.schema import BOOL, FLOAT64, RECORDS, STRING, UUID, FieldSpec, Struct
from protocol.varint import encode_uvarint

load_all()

API_VERSIONS = 18
BAD_MARKERS = ("failed in its handler", "Traceback", "after a broker error")
ANSWER_TIMEOUT_S = 15.0
CLOSE_LINE_WAIT_S = 10.0  # the line is logged before the socket closes: it comes at once

_INT_RANGES = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
}
# Fields whose large values make the broker wait (long polls, rebalances) or do work in proportion to
# them (partitions to create): legitimately, as Kafka would. They get small and negative values only.
_BOUNDED = {
    "max_wait_ms": [-(2**31), -1, 0, 1, 20],
    "timeout_ms": [-(2**31), -1, 0, 1, 100],
    "rebalance_timeout_ms": [-(2**31), -1, 0, 1, 50],
    "session_timeout_ms": [-(2**31), -1, 0, 1, 50, 6000],
    "num_partitions": [-(2**31), -2, -1, 0, 1, 3],
    "count": [-(2**31), -1, 0, 1, 2, 4],
    "replication_factor": [-(2**15), -2, -1, 0, 1, 3],
}
# Enums and special values: the valid ones, most of the time (the odd path gives invalid ones).
_ENUMS = {
    "acks": [-1, -1, 1, 0],
    "isolation_level": [0, 1],
    "key_type": [0, 1],
    "resource_type": [2, 4, 8],
    "config_operation": [0, 1, 2, 3],
    "election_type": [0, 1],
    "timestamp": [-1, -2, -3, -4, -5, 0, 1_700_000_000_000],
    "fetch_offset": [0, 1, 2, 5, -1],
}
_PARTITION_FIELDS = {"partition", "partition_index", "index", "partitions", "partition_indexes", "partition_id"}
TOPICS = ["fuzz-a", "fuzz-b", "fuzz-c"]
# fuzz-c: compacted (every record needs a key), LogAppendTime, small batches only.
SPECIAL_CONFIGS = {"cleanup.policy": "compact", "message.timestamp.type": "LogAppendTime", "max.message.bytes": "1000"}
_TOPIC_NAMES = [
    *TOPICS,
    *TOPICS,
    *TOPICS,
    *TOPICS,
    "fuzz-new",
    "__consumer_offsets",
    "",
    ".",
    "..",
    "bad/name",
    "x" * 250,
]
_GROUPS = ["fuzz-g", "fuzz-g", "", "fuzz-h"]
_TEXT = ["", "a", "ünïcødé", "x" * 300, "-1", "max.message.bytes", "retention.ms", "cleanup.policy", "compact"]
# Values the broker hands out, kept from its answers and used again in later requests, so that
# SyncGroup, Heartbeat, OffsetCommit, Produce... meet members and producers that exist.
_LEARNED = {"member_id", "generation_id", "producer_id", "producer_epoch", "leader", "member_epoch"}
_LEARNED_AS = {"generation_id_or_member_epoch": "generation_id", "leader": "member_id"}
_LEARNED_MAX = 20
HUGE_STRING = 40_000  # over Kafka's 32,767-byte limit: only a compact string can carry it
_PIPELINED = [1, 1, 1, 1, 1, 1, 2, 3, 5]  # how many requests go out before their answers are read


@dataclass
class Finding:
    """One broken invariant and the request that broke it."""

    api: str
    version: int
    what: str
    request: str
    log: str = ""

    def __str__(self) -> str:
        return f"{self.api} v{self.version}: {self.what}\n  request: {self.request[:600]}\n  log: {self.log[-3000:]}"


@dataclass
class Stats:
    requests: int = 0
    answers: int = 0
    closes: int = 0
    by_api: dict[str, int] = field(default_factory=dict)
    codes: Counter[tuple[str, int]] = field(default_factory=Counter)  # (API, error code) in answers
    findings: list[Finding] = field(default_factory=list)


# --- values ---------------------------------------------------------------------------------------
class Values:
    """Field values for one request; ``odd`` is how often a value is a hostile one."""

    def __init__(
        self, rng: random.Random, topic_ids: list[bytes], learned: dict[str, list[Any]] | None = None, odd: float = 0.35
    ) -> None:
        self.rng = rng
        self.topic_ids = topic_ids
        self.learned = learned or {}
        self.odd = odd

    def message(self, cls: type[Struct], version: int, depth: int = 0) -> Any:
        obj = object.__new__(cls)
        for spec in cls.fields():
            value = self.value(cls, spec, version, depth) if spec.present_in(version) else spec.make_default()
            object.__setattr__(obj, spec.name, value)
        return obj

    def value(self, cls: type[Struct], spec: FieldSpec, version: int, depth: int) -> Any:
        rng = self.rng
        if spec.nullable_in(version) and rng.random() < 0.12:
            return None
        if spec.is_array:
            roll = rng.random()
            if depth > 3 or roll < 0.15:
                count = 0
            elif roll < 0.2 and depth < 2:
                count = rng.choice([50, 300])  # many items, often the same one again (duplicates)
            else:
                count = rng.choice([1, 1, 2, 3])
            items = [self.single(cls, spec, version, depth) for _ in range(min(count, 4))]
            return [items[i % len(items)] for i in range(count)] if items else []
        return self.single(cls, spec, version, depth)

    def single(self, cls: type[Struct], spec: FieldSpec, version: int, depth: int) -> Any:
        rng, wire, name = self.rng, spec.wire, spec.name
        if wire is None:
            assert spec.struct is not None
            return self.message(spec.struct, version, depth + 1)
        known = self.learned.get(_LEARNED_AS.get(name, name))
        if known and rng.random() < 0.5:
            return rng.choice(known)  # a member id, generation or producer id the broker handed out
        odd = rng.random() < self.odd
        if wire.name in _INT_RANGES:
            low, high = _INT_RANGES[wire.name]
            if name in _BOUNDED:
                return rng.choice(_BOUNDED[name])
            if not odd:
                if name in _ENUMS:
                    return rng.choice(_ENUMS[name])
                if name in _PARTITION_FIELDS or name.endswith("_epoch") or name.endswith("_id"):
                    return rng.choice([0, 0, 1, 2, -1])
                return rng.choice([0, 1, -1, 2, 100]) if low < 0 else rng.choice([0, 1, 2])
            return rng.choice([low, high, -1 if low < 0 else 0, high - 1, low + 1, rng.randint(low, high)])
        if wire is BOOL:
            return rng.random() < 0.5
        if wire is FLOAT64:
            return rng.choice([0.0, -1.0, float("inf"), float("-inf"), float("nan"), 1e308])
        if wire is UUID:
            if self.topic_ids and rng.random() < 0.5:
                return rng.choice(self.topic_ids)
            return rng.choice([bytes(16), rng.randbytes(16), b"\xff" * 16])
        if wire is STRING:
            if odd and rng.random() < 0.15:
                return "y" * HUGE_STRING
            if name in ("topic", "topic_name", "topics") or (name == "name" and "Topic" in cls.__name__):
                return rng.choice(_TOPIC_NAMES)
            if name in ("group_id", "groups", "group_ids", "key") and "Group" in cls.__name__ + name:
                return rng.choice(_GROUPS)
            if name == "protocol_type":
                return rng.choice(["consumer", "consumer", "consumer", "connect", ""])
            if name in ("protocol_name", "name") and "Protocol" in cls.__name__:
                return rng.choice(["range", "range", "roundrobin", "cooperative-sticky", ""])
            if name in ("transactional_id", "transactional_ids"):
                return rng.choice(["", "fuzz-t", "fuzz-t"])
            return rng.choice(_TEXT)
        if wire is RECORDS:
            return self.records()
        if name in ("metadata", "assignment") and rng.random() < 0.7:
            return self.consumer_protocol(name == "metadata")
        return rng.randbytes(rng.choice([0, 1, 16, 200]))

    def consumer_protocol(self, subscription: bool) -> bytes:
        """A "consumer" protocol subscription or assignment, version-prefixed, with odd values too."""
        cls = ConsumerProtocolSubscription if subscription else ConsumerProtocolAssignment
        version = self.rng.choice([0, 1, 2, 3, 3, 3, 9, -1])
        body = self.message(cls, max(0, min(version, 3)), depth=2)
        return struct.pack(">h", version) + Writer(self.rng, break_one=False).message(body, max(0, min(version, 3)))

    def records(self) -> bytes:
        """A record batch, often a broken one: bad codec bits, magic, CRC, lengths, or trailing junk."""
        rng = self.rng
        key = rng.choice([b"k", b"k", None, b""])
        records = [Record(offset=i, timestamp=rng.choice([0, -1, 2**62]), key=key, value=b"v") for i in range(2)]
        producer: dict[str, Any] = {}
        if rng.random() < 0.4:  # idempotent or transactional, often a producer id the broker handed out
            producer_ids = self.learned.get("producer_id") or [rng.choice([0, 1, 2**62])]
            producer = {
                "producer_id": rng.choice(producer_ids),
                "producer_epoch": rng.choice([0, 0, 1, -1, 2**15 - 1]),
                "base_sequence": rng.choice([0, 0, 1, 2, 2**31 - 2, 2**31 - 1]),
                "is_transactional": rng.random() < 0.3,
            }
        codec = rng.choice([Compression.NONE, Compression.NONE, Compression.GZIP, Compression.ZSTD])
        batch = bytearray(build_batch(records, compression=codec, **producer))
        roll = rng.random()
        if roll < 0.3:
            return bytes(batch)
        if roll < 0.45:  # compression codec 5-7 (or any attribute bits), CRC made valid again
            attributes = struct.unpack_from(">h", batch, 21)[0]
            struct.pack_into(">h", batch, 21, (attributes & ~0x07) | rng.choice([5, 6, 7]))
            write_crc(batch)
        elif roll < 0.55:
            batch[16] = rng.choice([0, 1, 3, 255])  # magic
        elif roll < 0.65:
            where = rng.choice([0, 8, 23, 27, 43, 51, 53, 57])
            size = {0: 8, 8: 4, 23: 4, 27: 8, 43: 8, 51: 2, 53: 4, 57: 4}[where]
            batch[where : where + size] = rng.choice([b"\xff", b"\x7f", b"\x80"]) + b"\xff" * (size - 1)
            if where >= 21:
                write_crc(batch)
        elif roll < 0.68:
            batch[rng.randrange(len(batch))] ^= 0xFF  # a flipped byte: a CRC mismatch, or a bad header
        elif roll < 0.75:  # garbage records behind a sound header and a valid CRC
            for _ in range(rng.choice([1, 3, 10])):
                batch[rng.randrange(HEADER_SIZE, len(batch))] = rng.choice([0x00, 0x7F, 0x80, 0xFF, 0x01])
            write_crc(batch)
        elif roll < 0.85:
            del batch[rng.randrange(len(batch)) :]
        elif roll < 0.9:
            batch += rng.randbytes(rng.choice([1, 11, 12, 70]))
        else:
            return rng.choice([b"", b"\x00" * 61, rng.randbytes(80)])
        return bytes(batch)


# --- a lenient encoder ------------------------------------------------------------------------------
class Writer:
    """Encodes like ``protocol.interpreter`` but lets through what a correct encoder refuses: a null
    where the version allows none, an over-long string, unknown tagged fields, broken lengths."""

    def __init__(self, rng: random.Random, break_one: bool) -> None:
        self.rng = rng
        self.break_one = break_one  # break one length prefix somewhere in this request

    def message(self, obj: Struct, version: int) -> bytes:
        out = bytearray()
        self.struct(out, obj, version, type(obj).is_flexible(version))
        return bytes(out)

    def struct(self, out: bytearray, obj: Any, version: int, flexible: bool) -> None:
        tagged: list[tuple[int, bytes]] = []
        for spec in type(obj).fields():
            if not spec.present_in(version):
                continue
            value = getattr(obj, spec.name)
            if spec.tag is not None:
                if flexible and value != spec.make_default():
                    body = bytearray()
                    self.field(body, spec, value, version, True)
                    tagged.append((spec.tag, bytes(body)))
                continue
            self.field(out, spec, value, version, flexible)
        if flexible:
            if self.rng.random() < 0.1:  # an unknown tag, skipped by Kafka
                tagged.append((self.rng.choice([100, 1000, 2**20]), self.rng.randbytes(self.rng.choice([0, 3]))))
            tagged.sort()
            out += encode_uvarint(len(tagged))
            for tag, data in tagged:
                out += encode_uvarint(tag) + encode_uvarint(len(data)) + data

    def length(self, out: bytearray, n: int, compact: bool, wide: bool) -> None:
        if self.break_one and self.rng.random() < 0.2:
            self.break_one = False
            n = self.rng.choice([-2, -1, 2**31 - 2 if wide or compact else 2**15 - 1, n + 1])
        if compact:
            out += encode_uvarint((n + 1) & 0xFFFFFFFF)
        else:
            bits = 32 if wide else 16
            out += struct.pack(">i" if wide else ">h", (n + 2 ** (bits - 1)) % 2**bits - 2 ** (bits - 1))

    def field(self, out: bytearray, spec: FieldSpec, value: Any, version: int, flexible: bool) -> None:
        compact = flexible and spec.compact
        nullable = spec.nullable_in(version)
        if spec.is_array:
            if value is None:
                self.length(out, -1, compact, wide=True)
                return
            self.length(out, len(value), compact, wide=True)
            for item in value:
                self.single(out, spec, item, version, flexible, compact, False)
            return
        self.single(out, spec, value, version, flexible, compact, nullable)

    def single(
        self, out: bytearray, spec: FieldSpec, value: Any, version: int, flexible: bool, compact: bool, nullable: bool
    ) -> None:
        wire = spec.wire
        if wire is None:
            if nullable and not spec.is_array:
                out += b"\x01" if value is not None else b"\xff"
            if value is None:
                return
            self.struct(out, value, version, flexible)
            return
        if wire.fmt is not None:
            out += struct.pack(">" + wire.fmt, value)
            return
        if value is None:
            self.length(out, -1, compact, wide=wire is not STRING)
            return
        data = value.encode() if wire is STRING else value
        if wire is STRING and not compact:
            data = data[:0x7FFF]
        self.length(out, len(data), compact, wide=wire is not STRING)
        out += data


# --- requests -------------------------------------------------------------------------------------
@dataclass
class Case:
    api: Api
    version: int
    body: Struct
    frame: bytes  # size prefix included
    correlation_id: int

    @property
    def expects_answer(self) -> bool:
        return not (self.api.key == 0 and getattr(self.body, "acks", 1) == 0)


def learn(message: Any, learned: dict[str, list[Any]], codes: set[int]) -> None:
    """Keep the member ids, generations and producer ids of an answer (see ``_LEARNED``), and collect
    the error codes in it."""
    for spec in type(message).fields():
        value = getattr(message, spec.name)
        if spec.struct is not None:
            for item in value if isinstance(value, list) else [value] if value is not None else []:
                learn(item, learned, codes)
        elif spec.name == "error_code":
            codes.add(value)
        elif spec.name in _LEARNED and value not in (None, "", -1):
            pool = learned.setdefault(_LEARNED_AS.get(spec.name, spec.name), [])
            if value not in pool:
                pool.append(value)
                del pool[:-_LEARNED_MAX]


def make_case(
    api: Api,
    version: int,
    rng: random.Random,
    topic_ids: list[bytes],
    learned: dict[str, list[Any]],
    correlation_id: int,
    odd: float = 0.35,
) -> Case:
    body = Values(rng, topic_ids, learned, odd).message(api.request, version)
    client_id = rng.choice(["fuzz", "fuzz", "fuzz", None, "", "ünï", "c" * 0x7FFF])
    header = RequestHeader(
        request_api_key=api.key, request_api_version=version, correlation_id=correlation_id, client_id=client_id
    )
    writer = Writer(rng, break_one=rng.random() < 0.08)
    head = bytearray()  # the header too may carry an unknown tagged field (v2)
    header_version = api.request_header_version(version)
    writer.struct(head, header, header_version, RequestHeader.is_flexible(header_version))
    payload = bytes(head) + writer.message(body, version)
    return Case(api, version, body, struct.pack(">i", len(payload)) + payload, correlation_id)


# --- the run --------------------------------------------------------------------------------------
class Fuzzer:
    """Sends cases to one broker at ``port``; ``log`` returns the broker's output so far."""

    def __init__(self, port: int, log: Callable[[], str], seed: int, odd: float = 0.35) -> None:
        self.port = port
        self.log = log
        self.rng = random.Random(seed)
        self.odd = odd  # how often a field's value is a hostile one
        self.stats = Stats()
        self.sock: socket.socket | None = None
        self.correlation_id = 0
        self.log_seen = 0
        self.topic_ids: list[bytes] = []
        self.learned: dict[str, list[Any]] = {}

    def targets(self) -> list[tuple[Api, int]]:
        """Every (API, version) the broker advertises, from its own ApiVersions answer."""
        answer = self.api_versions(self.connect())
        assert answer is not None, "the broker does not answer ApiVersions"
        return [
            (APIS[key.api_key], version)
            for key in answer.api_keys
            if key.api_key in APIS
            for version in range(key.min_version, key.max_version + 1)
        ]

    def connect(self) -> socket.socket:
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=ANSWER_TIMEOUT_S)
        return self.sock

    def drop(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def create_topics(self) -> None:
        """The pool's topics with 3 partitions each, the last one with ``SPECIAL_CONFIGS``, and their ids
        (for fields that take a topic id)."""
        topics = [CreatableTopic(name=name, num_partitions=3, replication_factor=1) for name in TOPICS]
        topics[-1].configs = [CreatableTopicConfig(name=k, value=v) for k, v in SPECIAL_CONFIGS.items()]
        self.request(CREATE_TOPICS, 5, CreateTopicsRequest(topics=topics, timeout_ms=10_000))
        answer = self.request(METADATA, 12, MetadataRequest(topics=[MetadataRequestTopic(name=t) for t in TOPICS]))
        assert isinstance(answer, MetadataResponse)
        self.topic_ids = [topic.topic_id for topic in answer.topics if topic.error_code == 0]
        assert len(self.topic_ids) == len(TOPICS), answer

    def request(self, api: Api, version: int, body: Struct) -> Struct:
        """A well-formed request and its answer, for set-up."""
        self.correlation_id += 1
        header = RequestHeader(
            request_api_key=api.key, request_api_version=version, correlation_id=self.correlation_id, client_id="fuzz"
        )
        sock = self.connect()
        sock.sendall(encode_request(header, body))
        frame = _read_frame(sock)
        assert frame is not None, f"the broker closed the connection on a well-formed {api.name} request"
        return decode_response(api, version, frame)[1]

    def run(self, rounds: int, targets: list[tuple[Api, int]] | None = None) -> Stats:
        """``rounds`` requests for each target, in a shuffled order, some of them pipelined."""
        targets = targets if targets is not None else self.targets()
        order = [t for t in targets for _ in range(rounds)]
        self.rng.shuffle(order)
        i = 0
        while i < len(order):
            count = self.rng.choice(_PIPELINED)
            self.send(order[i : i + count])
            i += count
        self.check_log(None, final=True)
        self.drop()
        return self.stats

    def send(self, targets: list[tuple[Api, int]]) -> None:
        """One request for each target, all written before the answers are read (they must come back
        in order); an ApiVersions request follows them when one of them gets no answer."""
        cases = []
        for api, version in targets:
            self.correlation_id += 1
            cases.append(make_case(api, version, self.rng, self.topic_ids, self.learned, self.correlation_id, self.odd))
            self.stats.requests += 1
            self.stats.by_api[api.name] = self.stats.by_api.get(api.name, 0) + 1
        sock = self.connect()
        host, port = sock.getsockname()[:2]
        local = f"{host}:{port}"
        waiting = [case for case in cases if case.expects_answer]
        last = cases[-1]
        try:
            frames = b"".join(case.frame for case in cases)
            if len(waiting) < len(cases):  # an acks=0 produce gets no answer: ApiVersions behind it must
                self.correlation_id += 1
                frames += _api_versions_frame(self.correlation_id)
            sock.sendall(frames)
            unanswered = [case for case in cases if not case.expects_answer]
            while waiting:
                last = waiting[0]
                frame = _read_frame(sock)
                if frame is None:
                    break
                self.expect_answer(waiting.pop(0), frame)
            if not waiting:
                if not unanswered:
                    return
                last = unanswered[0]
                frame = _read_frame(sock)
                if frame is not None:
                    self.expect_api_versions(last, frame)
                    return
        except TimeoutError:
            self.find(last, f"no answer in {ANSWER_TIMEOUT_S}s")
            self.drop()
            return
        except (ConnectionResetError, BrokenPipeError):
            pass
        # The broker closed the connection: one log line, no traceback, and the broker still answers.
        self.stats.closes += 1
        self.drop()
        self.wait_for_line(last, local, most=1 if len(cases) == 1 else 2)
        self.check_log(last)
        if self.api_versions(self.connect()) is None:
            self.find(last, "a fresh connection got no ApiVersions answer after the close")
            self.drop()

    def expect_answer(self, case: Case, frame: bytes) -> None:
        try:
            header, body = decode_response(case.api, case.version, frame)
        except Exception as exc:
            self.find(case, f"the answer does not decode: {exc}")
            return
        codes: set[int] = set()
        learn(body, self.learned, codes)
        for code in codes:
            self.stats.codes[(case.api.name, code)] += 1
        if header.correlation_id != case.correlation_id:
            self.find(case, f"answer to correlation id {header.correlation_id}, not {case.correlation_id}")
        self.stats.answers += 1

    def expect_api_versions(self, case: Case, frame: bytes) -> None:
        (correlation_id,) = struct.unpack_from(">i", frame)
        if correlation_id != self.correlation_id:
            self.find(case, f"an acks=0 produce was answered (correlation id {correlation_id})")
        self.stats.answers += 1

    def api_versions(self, sock: socket.socket) -> ApiVersionsResponse | None:
        self.correlation_id += 1
        try:
            sock.sendall(_api_versions_frame(self.correlation_id))
            frame = _read_frame(sock)
        except OSError:
            return None
        if frame is None:
            return None
        _, body = decode_response(APIS[API_VERSIONS], 3, frame)
        assert isinstance(body, ApiVersionsResponse)
        return body

    def wait_for_line(self, case: Case, local: str, most: int = 1) -> None:
        """The one line the broker logs about a connection it closes (``local`` is our address). A
        pipelined batch may leave up to ``most``: a failed acks=0 produce closes the connection with
        a line, and a request read behind it that does not decode adds its own."""
        deadline = time.monotonic() + CLOSE_LINE_WAIT_S
        while time.monotonic() < deadline and local not in self.log()[self.log_seen :]:
            time.sleep(0.01)
        time.sleep(0.02)  # a traceback or a second line follows at once, if there is one
        new = self.log()[self.log_seen :]
        lines = [line for line in new.splitlines() if f"{local} " in line or f"{local}:" in line]
        if not 1 <= len(lines) <= most or any("closing" not in line for line in lines):
            self.find(case, f"{len(lines)} log lines about the closed connection, not one", new)

    def check_log(self, case: Case | None, final: bool = False) -> None:
        text = self.log()
        new, self.log_seen = text[self.log_seen :], len(text)
        if any(marker in new for marker in BAD_MARKERS):
            if case is None:
                self.stats.findings.append(Finding("?", -1, "a traceback in the broker's log", "", new))
            else:
                self.find(case, "the broker logged a traceback", new)

    def find(self, case: Case, what: str, log: str = "") -> None:
        self.stats.findings.append(Finding(case.api.name, case.version, what, repr(case.body), log))


_SOFTWARE = ApiVersionsRequest(client_software_name="kafkish-fuzz", client_software_version="1")


def _api_versions_frame(correlation_id: int) -> bytes:
    header = RequestHeader(request_api_key=API_VERSIONS, request_api_version=3, correlation_id=correlation_id)
    payload = codec.encode(header, 2) + codec.encode(_SOFTWARE, 3)
    return struct.pack(">i", len(payload)) + payload


def _read_frame(sock: socket.socket) -> bytes | None:
    """One response frame, or None when the broker closed the connection."""
    head = _read_exactly(sock, 4)
    if head is None:
        return None
    (size,) = struct.unpack(">i", head)
    return _read_exactly(sock, size)


def _read_exactly(sock: socket.socket, n: int) -> bytes | None:
    out = bytearray()
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            return None
        out += chunk
    return bytes(out)
