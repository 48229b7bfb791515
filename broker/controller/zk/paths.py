"""Kafka's ZooKeeper-era znode paths, and the ``zookeeper.connect`` string. Pure: no kazoo, no I/O.

All paths are relative to the chroot of ``zookeeper.connect`` (``host:port/kafka`` puts every path below
``/kafka``), exactly as Kafka's ``ZkData`` lays them out, so Kafka's own tools find their way around.
"""

from __future__ import annotations

from dataclasses import dataclass

CONTROLLER = "/controller"
CONTROLLER_EPOCH = "/controller_epoch"
CLUSTER_ID = "/cluster/id"
BROKERS = "/brokers"
BROKER_IDS = "/brokers/ids"
BROKER_SEQUENCE_ID = "/brokers/seqid"
TOPICS = "/brokers/topics"
CONFIG = "/config"
CONFIG_CHANGES = "/config/changes"
CONFIG_CHANGE_PREFIX = "config_change_"
ADMIN = "/admin"
DELETE_TOPICS = "/admin/delete_topics"
PREFERRED_REPLICA_ELECTION = "/admin/preferred_replica_election"
REASSIGN_PARTITIONS = "/admin/reassign_partitions"
ISR_CHANGE_NOTIFICATION = "/isr_change_notification"
ISR_CHANGE_PREFIX = "isr_change_"
LOG_DIR_EVENT_NOTIFICATION = "/log_dir_event_notification"
PRODUCER_ID_BLOCK = "/latest_producer_id_block"
CONSUMERS = "/consumers"  # the old consumer's path; Kafka still creates it
CONFIG_ENTITY_TYPES = ("topics", "clients", "users", "brokers")

# What a Kafka broker makes sure exists when it starts (Kafka's ZkData.PersistentZkPaths).
PERSISTENT_PATHS = (
    CONSUMERS,
    BROKER_IDS,
    TOPICS,
    CONFIG_CHANGES,
    DELETE_TOPICS,
    BROKER_SEQUENCE_ID,
    ISR_CHANGE_NOTIFICATION,
    PRODUCER_ID_BLOCK,
    LOG_DIR_EVENT_NOTIFICATION,
    *(f"{CONFIG}/{entity_type}" for entity_type in CONFIG_ENTITY_TYPES),
)


def broker_id_path(broker_id: int) -> str:
    return f"{BROKER_IDS}/{broker_id}"


def topic_path(topic: str) -> str:
    return f"{TOPICS}/{topic}"


def topic_partitions_path(topic: str) -> str:
    return f"{TOPICS}/{topic}/partitions"


def partition_path(topic: str, partition: int) -> str:
    return f"{TOPICS}/{topic}/partitions/{partition}"


def partition_state_path(topic: str, partition: int) -> str:
    return f"{TOPICS}/{topic}/partitions/{partition}/state"


def topic_config_path(topic: str) -> str:
    return f"{CONFIG}/topics/{topic}"


def broker_config_path(broker: str) -> str:
    """``broker`` is a broker id, or ``<default>`` for the cluster-wide default (Kafka's names)."""
    return f"{CONFIG}/brokers/{broker}"


def entity_config_path(entity_type: str, entity_name: str) -> str:
    return f"{CONFIG}/{entity_type}/{entity_name}"


def delete_topic_path(topic: str) -> str:
    return f"{DELETE_TOPICS}/{topic}"


def config_change_prefix() -> str:
    """Create a sequential znode at this path: ZooKeeper appends the ten-digit sequence number."""
    return f"{CONFIG_CHANGES}/{CONFIG_CHANGE_PREFIX}"


def isr_change_prefix() -> str:
    return f"{ISR_CHANGE_NOTIFICATION}/{ISR_CHANGE_PREFIX}"


def sequence_number(name: str, prefix: str) -> int | None:
    """The number of a sequential child (``isr_change_0000000042`` -> 42), or None if it is not one."""
    if not name.startswith(prefix):
        return None
    digits = name[len(prefix) :]
    return int(digits) if digits.isdigit() else None


@dataclass(frozen=True, slots=True)
class ZkConnect:
    """``zookeeper.connect`` split as ZooKeeper reads it: ``h1:p1,h2:p2/chroot``."""

    hosts: str
    chroot: str | None  # "/kafka", or None for the root


def parse_zookeeper_connect(value: str) -> ZkConnect:
    """Split off the chroot; ValueError for a string ZooKeeper would refuse."""
    value = value.strip()
    slash = value.find("/")
    hosts, chroot = (value, None) if slash < 0 else (value[:slash], value[slash:])
    if not hosts or any(not h.strip() for h in hosts.split(",")):
        raise ValueError(f"zookeeper.connect {value!r} names no host")
    if chroot is not None:
        chroot = chroot.rstrip("/")
        if not chroot:
            chroot = None
        elif "//" in chroot or any(part in (".", "..") for part in chroot.split("/")[1:]):
            raise ValueError(f"zookeeper.connect {value!r} has an invalid chroot path {chroot!r}")
    return ZkConnect(hosts, chroot)
