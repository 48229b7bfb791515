"""The data of Kafka's ZooKeeper-era znodes: encode and decode, byte for byte as Kafka writes them.

Pure functions, no kazoo and no I/O. The formats are Kafka's ``ZkData`` (checked against what a real
Kafka 2.4.1 cluster writes, see tests/cluster/test_znodes.py): compact JSON, keys in Kafka's order where
Kafka's order is stable, numbers that Kafka writes as strings (``timestamp``, ``block_start``, the
cluster id's ``version``) kept as strings.

Decoding fails in one way only: ``ZnodeDataError`` naming the path, the reason and the data. Znodes are
written by other processes (other brokers, Kafka's tools, operators), so a caller logs it and skips the
znode; it must never take the broker down.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from storage.checkpoints import CheckpointError, topic_id_from_str, topic_id_to_str

from . import paths

BROKER_REGISTRATION_VERSION = 4  # Kafka 0.10.0 to 2.6; 5 (2.7+) adds "features"
_ENDPOINT = re.compile(r"^(.*)://\[?([0-9a-zA-Z\-%._:]*)\]?:(-?[0-9]+)$")  # Kafka's EndPoint.uriParseExp


class ZnodeDataError(ValueError):
    """A znode holds data Kafka would not have written: log it and skip the znode."""

    def __init__(self, path: str, reason: str, data: bytes | None) -> None:
        shown = data if data is None or len(data) <= 200 else data[:200] + b"..."
        super().__init__(f"malformed znode {path}: {reason}: {shown!r}")
        self.path = path
        self.reason = reason
        self.data = data


def _dump(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _load(path: str, data: bytes | None) -> dict[str, Any]:
    if not data:
        raise ZnodeDataError(path, "no data", data)
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise ZnodeDataError(path, f"not JSON ({e})", data) from None
    if not isinstance(value, dict):
        raise ZnodeDataError(path, "not a JSON object", data)
    return value


class _Fields:
    """Typed access to a decoded JSON object; every failure is the znode's ZnodeDataError."""

    def __init__(self, path: str, data: bytes | None, value: dict[str, Any] | None = None) -> None:
        self.path = path
        self.data = data
        self.value = _load(path, data) if value is None else value

    def fail(self, reason: str) -> ZnodeDataError:
        return ZnodeDataError(self.path, reason, self.data)

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in self.value or self.value[key] is None:
            if default is ...:
                raise self.fail(f"no {key!r}")
            return default
        value = self.value[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise self.fail(f"{key!r} is {type(value).__name__}, not {getattr(kind, '__name__', kind)}")
        return value

    def integer(self, key: str, default: Any = ...) -> Any:
        return self.get(key, int, default)

    def int_list(self, value: Any, what: str) -> list[int]:
        if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise self.fail(f"{what} is not a list of integers")
        return value

    def str_int(self, key: str) -> int:
        """Kafka writes some numbers as JSON strings ("timestamp":"1796371394474")."""
        value = self.get(key, (str, int))
        try:
            return int(value)
        except ValueError:
            raise self.fail(f"{key!r} is not a number") from None


# -- /brokers/ids/<id> -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class EndPoint:
    listener_name: str
    host: str | None  # None: bind all, advertise nothing
    port: int
    security_protocol: str

    @property
    def connection_string(self) -> str:
        host = self.host or ""
        return f"{self.listener_name}://{f'[{host}]' if ':' in host else host}:{self.port}"


@dataclass(frozen=True, slots=True)
class BrokerRegistration:
    """What a broker publishes about itself at /brokers/ids/<id> (Kafka's BrokerInfo)."""

    broker_id: int
    endpoints: tuple[EndPoint, ...]
    rack: str | None = None
    jmx_port: int = -1
    timestamp_ms: int = 0
    version: int = BROKER_REGISTRATION_VERSION
    features: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # v5: name -> (min, max) supported

    def endpoint(self, listener_name: str) -> EndPoint | None:
        return next((e for e in self.endpoints if e.listener_name == listener_name), None)


def encode_broker_registration(registration: BrokerRegistration) -> bytes:
    # host and port: the first PLAINTEXT endpoint, for clients older than 0.10 (null and -1 if none)
    plaintext = next((e for e in registration.endpoints if e.security_protocol == "PLAINTEXT"), None)
    value: dict[str, Any] = {
        "listener_security_protocol_map": {e.listener_name: e.security_protocol for e in registration.endpoints},
        "endpoints": [e.connection_string for e in registration.endpoints],
    }
    if registration.rack is not None:
        value["rack"] = registration.rack
    value["jmx_port"] = registration.jmx_port
    value["host"] = plaintext.host if plaintext else None
    value["timestamp"] = str(registration.timestamp_ms)
    value["port"] = plaintext.port if plaintext else -1
    if registration.version >= 5:
        value["features"] = {
            name: {"min_version": low, "max_version": high} for name, (low, high) in registration.features.items()
        }
    value["version"] = registration.version
    return _dump(value)


def decode_broker_registration(broker_id: int, data: bytes | None) -> BrokerRegistration:
    """Versions 1 to 5, as Kafka reads them."""
    f = _Fields(paths.broker_id_path(broker_id), data)
    version = f.integer("version")
    if version < 1:
        raise f.fail(f"unsupported registration version {version}")
    if version == 1:
        endpoints: list[EndPoint] = [EndPoint("PLAINTEXT", f.get("host", str), f.integer("port"), "PLAINTEXT")]
    else:
        protocols = f.get("listener_security_protocol_map", dict, {})
        endpoints = []
        for text in f.get("endpoints", list):
            match = _ENDPOINT.match(text) if isinstance(text, str) else None
            if match is None:
                raise f.fail(f"endpoint {text!r} is not LISTENER://host:port")
            listener, host, port = match.group(1), match.group(2), int(match.group(3))
            protocol = protocols.get(listener, listener if not protocols else None)
            if not isinstance(protocol, str):
                raise f.fail(f"no security protocol for listener {listener!r}")
            endpoints.append(EndPoint(listener, host or None, port, protocol))
    features: dict[str, tuple[int, int]] = {}
    for name, ranges in f.get("features", dict, {}).items():
        if not isinstance(ranges, dict):
            raise f.fail(f"feature {name!r} is not an object")
        r = _Fields(f.path, data, ranges)
        features[name] = (r.integer("min_version"), r.integer("max_version"))
    return BrokerRegistration(
        broker_id, tuple(endpoints), f.get("rack", str, None), f.integer("jmx_port", -1),
        f.str_int("timestamp") if "timestamp" in f.value else 0, version, features,
    )  # fmt: skip


# -- /controller, /controller_epoch, /cluster/id, /brokers/seqid -----------------------------------------
@dataclass(frozen=True, slots=True)
class ControllerRegistration:
    broker_id: int
    timestamp_ms: int


def encode_controller(broker_id: int, timestamp_ms: int) -> bytes:
    return _dump({"version": 1, "brokerid": broker_id, "timestamp": str(timestamp_ms)})


def decode_controller(data: bytes | None) -> ControllerRegistration:
    """Kafka reads only ``brokerid``; so do we (an old plain-number /controller is refused)."""
    f = _Fields(paths.CONTROLLER, data)
    return ControllerRegistration(f.integer("brokerid"), f.str_int("timestamp") if "timestamp" in f.value else 0)


def encode_controller_epoch(epoch: int) -> bytes:
    return str(epoch).encode()


def decode_controller_epoch(data: bytes | None) -> int:
    try:
        return int((data or b"").decode())
    except (ValueError, UnicodeDecodeError):
        raise ZnodeDataError(paths.CONTROLLER_EPOCH, "not a number", data) from None


def encode_cluster_id(cluster_id: str) -> bytes:
    return _dump({"version": "1", "id": cluster_id})


def decode_cluster_id(data: bytes | None) -> str:
    return str(_Fields(paths.CLUSTER_ID, data).get("id", str))


# -- /brokers/topics/<t> and its partitions' state ------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ReplicaAssignment:
    replicas: tuple[int, ...]
    adding_replicas: tuple[int, ...] = ()
    removing_replicas: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class TopicAssignment:
    partitions: Mapping[int, ReplicaAssignment]
    topic_id: uuid.UUID | None = None  # written by Kafka 2.8+ (znode version 3)


def encode_topic_assignment(assignment: TopicAssignment) -> bytes:
    ordered = sorted(assignment.partitions.items())
    value: dict[str, Any] = {
        "version": 3 if assignment.topic_id is not None else 2,
        "partitions": {str(p): list(a.replicas) for p, a in ordered},
        "adding_replicas": {str(p): list(a.adding_replicas) for p, a in ordered if a.adding_replicas},
        "removing_replicas": {str(p): list(a.removing_replicas) for p, a in ordered if a.removing_replicas},
    }
    if assignment.topic_id is not None:
        value["topic_id"] = topic_id_to_str(assignment.topic_id)
    return _dump(value)


def decode_topic_assignment(topic: str, data: bytes | None) -> TopicAssignment:
    f = _Fields(paths.topic_path(topic), data)
    topic_id = None
    if "topic_id" in f.value:
        try:
            topic_id = topic_id_from_str(f.get("topic_id", str))
        except CheckpointError as e:
            raise f.fail(str(e)) from None
    extra = {key: f.get(key, dict, {}) for key in ("adding_replicas", "removing_replicas")}
    partitions: dict[int, ReplicaAssignment] = {}
    for name, replicas in f.get("partitions", dict, {}).items():
        if not name.isdigit():
            raise f.fail(f"partition {name!r} is not a number")
        partitions[int(name)] = ReplicaAssignment(
            tuple(f.int_list(replicas, f"partition {name}")),
            tuple(f.int_list(extra["adding_replicas"].get(name, []), f"adding_replicas of {name}")),
            tuple(f.int_list(extra["removing_replicas"].get(name, []), f"removing_replicas of {name}")),
        )
    return TopicAssignment(partitions, topic_id)


@dataclass(frozen=True, slots=True)
class PartitionState:
    """/brokers/topics/<t>/partitions/<p>/state: Kafka's LeaderIsrAndControllerEpoch."""

    leader: int
    leader_epoch: int
    isr: tuple[int, ...]
    controller_epoch: int


def encode_partition_state(state: PartitionState) -> bytes:
    return _dump({
        "controller_epoch": state.controller_epoch, "leader": state.leader, "version": 1,
        "leader_epoch": state.leader_epoch, "isr": list(state.isr),
    })  # fmt: skip


def decode_partition_state(topic: str, partition: int, data: bytes | None) -> PartitionState:
    f = _Fields(paths.partition_state_path(topic, partition), data)
    isr = tuple(f.int_list(f.get("isr", list), "isr"))
    return PartitionState(f.integer("leader"), f.integer("leader_epoch"), isr, f.integer("controller_epoch"))


# -- /admin/reassign_partitions (the ZooKeeper-era way to start reassignments) -----------------------------
def encode_reassign_partitions(partitions: Mapping[tuple[str, int], Iterable[int]]) -> bytes:
    """Kafka's ReassignPartitionsZNode: ``{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1]}]}``."""
    entries = [{"topic": t, "partition": p, "replicas": list(r)} for (t, p), r in partitions.items()]
    return _dump({"version": 1, "partitions": entries})


def decode_reassign_partitions(data: bytes | None) -> dict[tuple[str, int], tuple[int, ...]]:
    """Each partition's target replicas; other fields of an entry (``log_dirs``) are ignored, as Kafka does."""
    f = _Fields(paths.REASSIGN_PARTITIONS, data)
    out: dict[tuple[str, int], tuple[int, ...]] = {}
    for entry in f.get("partitions", list):
        if not isinstance(entry, dict):
            raise f.fail("a partition entry is not an object")
        e = _Fields(f.path, data, entry)
        out[(e.get("topic", str), e.integer("partition"))] = tuple(f.int_list(e.get("replicas", list), "replicas"))
    return out


# -- /config/<type>/<name> and /config/changes ---------------------------------------------------------
def encode_entity_config(config: Mapping[str, str]) -> bytes:
    return _dump({"version": 1, "config": dict(config)})


def decode_entity_config(path: str, data: bytes | None) -> dict[str, str]:
    """Kafka reads a znode without data as no overrides."""
    if data is None:
        return {}
    config = _Fields(path, data).get("config", dict, {})
    if not all(isinstance(v, str) for v in config.values()):
        raise ZnodeDataError(path, "config values must be strings", data)
    return dict(config)


def encode_config_change(entity_path: str) -> bytes:
    """``entity_path`` is e.g. ``topics/t`` or ``brokers/<default>``."""
    return _dump({"version": 2, "entity_path": entity_path})


def decode_config_change(path: str, data: bytes | None) -> str:
    """The entity path; version 1 notifications (entity_type, entity_name) are read too."""
    f = _Fields(path, data)
    version = f.integer("version")
    if version == 1:
        return f"{f.get('entity_type', str)}/{f.get('entity_name', str)}"
    if version == 2:
        return str(f.get("entity_path", str))
    raise f.fail(f"unsupported config change version {version}")


# -- /isr_change_notification, /log_dir_event_notification, /latest_producer_id_block -----------------
def encode_isr_change(partitions: Iterable[tuple[str, int]]) -> bytes:
    return _dump({"version": 1, "partitions": [{"topic": t, "partition": p} for t, p in partitions]})


def decode_isr_change(path: str, data: bytes | None) -> set[tuple[str, int]]:
    f = _Fields(path, data)
    result: set[tuple[str, int]] = set()
    for entry in f.get("partitions", list):
        if not isinstance(entry, dict):
            raise f.fail("a partition entry is not an object")
        e = _Fields(path, data, entry)
        result.add((e.get("topic", str), e.integer("partition")))
    return result


def encode_log_dir_event(broker_id: int) -> bytes:
    return _dump({"version": 1, "broker": broker_id, "event": 1})


@dataclass(frozen=True, slots=True)
class ProducerIdBlock:
    broker_id: int
    block_start: int
    block_end: int  # inclusive


def encode_producer_id_block(block: ProducerIdBlock) -> bytes:
    return _dump({
        "version": 1, "broker": block.broker_id,
        "block_start": str(block.block_start), "block_end": str(block.block_end),
    })  # fmt: skip


def decode_producer_id_block(data: bytes | None) -> ProducerIdBlock:
    f = _Fields(paths.PRODUCER_ID_BLOCK, data)
    return ProducerIdBlock(f.integer("broker"), f.str_int("block_start"), f.str_int("block_end"))
