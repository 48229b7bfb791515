"""Requests for the wire fuzzer: every field a value of its type, often a hostile one.

``Values`` picks the values (pools of existing topic, group and transactional names, values the
broker handed out, enums, extremes, broken record batches, consumer-protocol payloads); ``Writer``
encodes like ``protocol.interpreter`` but lets through what a correct encoder refuses; ``make_case``
makes one request frame of them.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass
from typing import Any

from protocol.api import Api
from protocol.headers import RequestHeader
from protocol.messages import load_all
from protocol.messages._consumer_protocol import ConsumerProtocolAssignment, ConsumerProtocolSubscription
from protocol.records import Compression, Record, build_batch
from protocol.records.header import HEADER_SIZE, write_crc
from protocol.schema import BOOL, FLOAT64, RECORDS, STRING, UUID, FieldSpec, Struct
from protocol.varint import encode_uvarint

load_all()

_INT_RANGES = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
}
# Fields whose large values make the broker wait (long polls, rebalances) or do work in proportion to
# them (partitions to create): legitimately, as Kafka would. They get small and negative values only,
# and the partition counts also values over the 10,000 a request may create (refused before any work).
_BOUNDED = {
    "max_wait_ms": [-(2**31), -1, 0, 1, 20],
    "timeout_ms": [-(2**31), -1, 0, 1, 100],
    "rebalance_timeout_ms": [-(2**31), -1, 0, 1, 50],
    "session_timeout_ms": [-(2**31), -1, 0, 1, 50, 6000],
    "num_partitions": [-(2**31), -2, -1, 0, 1, 3, 10_001, 2**31 - 1],  # over 10,000: refused up front
    "count": [-(2**31), -1, 0, 1, 2, 4, 2**31 - 1],
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
            value = rng.choice(known)  # a member id, generation or producer id the broker handed out
            # Of this field's type: JoinGroup's "leader" is a member id, LeaderAndIsr's a broker id.
            if isinstance(value, int) == (wire.name in _INT_RANGES):
                return value
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
