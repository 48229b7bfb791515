"""Kafka's broker and topic configs as data: names, types, defaults, documentation, synonyms.

``broker.config`` gives them behaviour (parsing server.properties, resolving topic values, describing).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

INT_MAX = 2**31 - 1
LONG_MAX = 2**63 - 1


class ConfigType(enum.IntEnum):
    """Kafka's DescribeConfigs config types (v3+)."""

    BOOLEAN = 1
    STRING = 2
    INT = 3
    SHORT = 4
    LONG = 5
    DOUBLE = 6
    LIST = 7
    CLASS = 8
    PASSWORD = 9


class ConfigSource(enum.IntEnum):
    """Kafka's DescribeConfigs config sources."""

    UNKNOWN = 0
    DYNAMIC_TOPIC_CONFIG = 1
    DYNAMIC_BROKER_CONFIG = 2
    DYNAMIC_DEFAULT_BROKER_CONFIG = 3
    STATIC_BROKER_CONFIG = 4
    DEFAULT_CONFIG = 5
    DYNAMIC_BROKER_LOGGER_CONFIG = 6
    CLIENT_METRICS_CONFIG = 7
    GROUP_CONFIG = 8


class ConfigError(ValueError):
    """A config value is invalid: the operator's or the client's fault."""


@dataclass(frozen=True, slots=True)
class ConfigDef:
    name: str
    type: ConfigType
    default: Any
    doc: str
    check: Callable[[Any], str | None] | None = None  # the reason a parsed value is invalid, or None
    choices: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()  # topic configs: broker configs it inherits from, first wins
    scale: tuple[int, ...] = ()  # per synonym: multiply the synonym's value (hours -> ms)
    sensitive: bool = False

    def parse(self, raw: Any) -> Any:
        """The typed value of ``raw`` (a string from a file or a request, or an already typed value).

        Raises ConfigError with Kafka's message: ``Invalid value <raw> for configuration <name>: <why>``.
        """
        try:
            value = _PARSERS[self.type](raw)
        except (TypeError, ValueError) as exc:
            raise ConfigError(self.invalid(raw, str(exc) or f"Not a number of type {self.type.name}")) from None
        if value is None:
            return None
        if self.choices:
            for item in value if isinstance(value, list) else [value]:
                if item not in self.choices:
                    raise ConfigError(self.invalid(item, "String must be one of: " + ", ".join(self.choices)))
        if self.check is not None:
            reason = self.check(value)
            if reason is not None:  # Kafka's validators see a list parsed, and show it so: [a, b]
                shown = f"[{', '.join(map(str, value))}]" if self.type is ConfigType.LIST else raw
                raise ConfigError(self.invalid(shown, reason))
        return value

    def invalid(self, raw: Any, reason: str) -> str:
        return f"Invalid value {raw} for configuration {self.name}: {reason}"

    def render(self, value: Any) -> str | None:
        """The string Kafka shows for ``value`` in DescribeConfigs."""
        if value is None:
            return None
        if self.type is ConfigType.BOOLEAN:
            return "true" if value else "false"
        if self.type is ConfigType.LIST:
            return ",".join(str(v) for v in value)
        return str(value)


def _parse_bool(raw: Any) -> bool | None:
    if raw is None or isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text not in ("true", "false"):
        raise ValueError("Expected value to be either true or false")
    return text == "true"


def _int_parser(kind: str, low: int, high: int) -> Callable[[Any], int | None]:
    def parse(raw: Any) -> int | None:
        if raw is None:
            return None
        if isinstance(raw, int) and not isinstance(raw, bool):
            value = raw
        else:
            text = str(raw).strip()
            if not re.fullmatch(r"[+-]?[0-9]+", text):
                raise ValueError(f"Not a number of type {kind}")
            value = int(text)
        if not low <= value <= high:
            raise ValueError(f"Not a number of type {kind}")
        return value

    return parse


def _parse_double(raw: Any) -> float | None:
    if raw is None:
        return None
    try:
        return float(raw)
    except (TypeError, ValueError):
        raise ValueError("Not a number of type DOUBLE") from None


def _parse_list(raw: Any) -> list[str] | None:
    if raw is None or isinstance(raw, list):
        return raw
    return [item.strip() for item in str(raw).split(",") if item.strip()]


def _parse_str(raw: Any) -> str | None:
    return None if raw is None else str(raw).strip()


_PARSERS: dict[ConfigType, Callable[[Any], Any]] = {
    ConfigType.BOOLEAN: _parse_bool,
    ConfigType.STRING: _parse_str,
    ConfigType.INT: _int_parser("INT", -(2**31), INT_MAX),
    ConfigType.SHORT: _int_parser("SHORT", -(2**15), 2**15 - 1),
    ConfigType.LONG: _int_parser("LONG", -(2**63), LONG_MAX),
    ConfigType.DOUBLE: _parse_double,
    ConfigType.LIST: _parse_list,
    ConfigType.CLASS: _parse_str,
    ConfigType.PASSWORD: _parse_str,
}

B, S, INT, L, D, LI = (
    ConfigType.BOOLEAN, ConfigType.STRING, ConfigType.INT, ConfigType.LONG, ConfigType.DOUBLE, ConfigType.LIST,
)  # fmt: skip


def _at_least(n: int) -> Callable[[Any], str | None]:
    """Kafka's ``Range.atLeast``."""
    return lambda v: None if v >= n else f"Value must be at least {n}"


def _between(low: float, high: float) -> Callable[[Any], str | None]:
    """Kafka's ``Range.between``."""

    def check(v: Any) -> str | None:
        if v < low:
            return f"Value must be no less than {low}"
        if v > high:
            return f"Value must be no more than {high}"
        return None

    return check


def _gzip_level(v: Any) -> str | None:
    """Kafka's GzipCompression level validator: 1..9, or -1 (zlib's default)."""
    return None if v == -1 or 1 <= v <= 9 else "Value must be between 1 and 9 or equal to -1"


def _check_throttled(name: str) -> Callable[[Any], str | None]:
    """Kafka's ThrottledReplicaListValidator: ``*`` alone, or ``partitionId:brokerId`` items."""

    def check(v: Any) -> str | None:
        if v == ["*"] or all(re.fullmatch(r"[0-9]+:[0-9]+", item) for item in v):
            return None
        return (
            f"{name} must be the literal '*' or a list of replicas in the following format: "
            "[partitionId]:[brokerId],[partitionId]:[brokerId],..."
        )

    return check


# Kafka's MetadataVersion names (3.9): what message.format.version may be ("0.10.0", "2.8", "3.0-IV1" ...)
_RELEASES = (
    "0.8.0", "0.8.1", "0.8.2", "0.9.0", "0.10.0", "0.10.1", "0.10.2", "0.11.0", "1.0", "1.1",
    *(f"2.{minor}" for minor in range(9)), *(f"3.{minor}" for minor in range(10)),
)  # fmt: skip


def _check_version(v: Any) -> str | None:
    """Kafka's MetadataVersionValidator: a release (0.x with three parts, else two; more are cut), or a
    release with an ``-IVn`` suffix."""
    text = str(v)
    base, _, iv = text.partition("-")
    parts = base.split(".")
    release = ".".join(parts[: 3 if text.startswith("0.") else 2])
    if release in _RELEASES and (not iv or re.fullmatch(r"IV[0-9]+", iv)) and (not iv or release == base):
        return None
    return f"Version `{text}` is not a valid version"


_BROKER: list[ConfigDef] = [
    ConfigDef("node.id", INT, -1, "The node ID of this broker (KRaft name; broker.id is its synonym).", _at_least(-1)),
    ConfigDef("broker.id", INT, -1, "The broker id for this server. -1 means: take node.id, else 0.", _at_least(-1)),
    ConfigDef("broker.rack", S, None, "Rack of the broker, used in rack-aware replication assignment."),
    ConfigDef("listeners", LI, ["PLAINTEXT://:9092"], "Comma-separated URIs the broker listens on."),
    ConfigDef("advertised.listeners", LI, None, "Listeners to publish to clients if different from listeners."),
    ConfigDef(
        "listener.security.protocol.map",
        LI,
        ["PLAINTEXT:PLAINTEXT", "SSL:SSL", "SASL_PLAINTEXT:SASL_PLAINTEXT", "SASL_SSL:SASL_SSL"],
        "Map between listener names and security protocols.",
    ),
    ConfigDef("inter.broker.listener.name", S, None, "Name of the listener used between brokers."),
    ConfigDef(
        "security.inter.broker.protocol",
        S,
        "PLAINTEXT",
        "Security protocol used between brokers (when inter.broker.listener.name is not set).",
    ),
    ConfigDef("log.dirs", LI, None, "The directories in which the log data is kept; log.dir if not set."),
    ConfigDef("log.dir", S, "/tmp/kafka-logs", "The directory in which the log data is kept."),
    ConfigDef("num.partitions", INT, 1, "The default number of log partitions per topic.", _at_least(1)),
    ConfigDef(
        "default.replication.factor", INT, 1, "The replication factor for automatically created topics.", _at_least(1)
    ),
    ConfigDef(
        "min.insync.replicas", INT, 1, "Minimum replicas that must acknowledge a write with acks=all.", _at_least(1)
    ),
    ConfigDef("auto.create.topics.enable", B, True, "Enable auto creation of topic on the server."),
    ConfigDef("delete.topic.enable", B, True, "Enables delete topic."),
    ConfigDef("auto.leader.rebalance.enable", B, True, "Enables auto leader balancing."),
    ConfigDef(
        "leader.imbalance.check.interval.seconds",
        L,
        300,
        "How often the controller checks leader imbalance.",
        _at_least(1),
    ),
    ConfigDef(
        "leader.imbalance.per.broker.percentage",
        INT,
        10,
        "The ratio of leader imbalance allowed per broker, in percent.",
        _at_least(0),
    ),
    ConfigDef("unclean.leader.election.enable", B, False, "Allow replicas not in the ISR to become leader."),
    ConfigDef("log.retention.hours", INT, 168, "Hours to keep a log file before deleting it."),
    ConfigDef("log.retention.minutes", INT, None, "Minutes to keep a log file; log.retention.hours if not set."),
    ConfigDef("log.retention.ms", L, None, "Milliseconds to keep a log file; -1 means no time limit."),
    ConfigDef("log.retention.bytes", L, -1, "The maximum size of the log before deleting it."),
    ConfigDef(
        "log.retention.check.interval.ms",
        L,
        300000,
        "How often the log cleaner checks for deletable logs.",
        _at_least(1),
    ),
    ConfigDef("log.segment.bytes", INT, 1073741824, "The maximum size of a single log file.", _at_least(14)),
    ConfigDef(
        "log.roll.hours", INT, 168, "The maximum time before a new log segment is rolled out, in hours.", _at_least(1)
    ),
    ConfigDef("log.roll.ms", L, None, "The maximum time before a new log segment is rolled out, in ms."),
    ConfigDef("log.roll.jitter.hours", INT, 0, "The maximum jitter subtracted from logRollTimeMillis, in hours."),
    ConfigDef("log.roll.jitter.ms", L, None, "The maximum jitter subtracted from logRollTimeMillis, in ms."),
    ConfigDef(
        "log.index.size.max.bytes", INT, 10485760, "The maximum size in bytes of the offset index.", _at_least(4)
    ),
    ConfigDef(
        "log.index.interval.bytes",
        INT,
        4096,
        "The interval with which we add an entry to the offset index.",
        _at_least(0),
    ),
    ConfigDef(
        "log.flush.interval.messages",
        L,
        LONG_MAX,
        "Messages accumulated before they are flushed to disk.",
        _at_least(1),
    ),
    ConfigDef("log.flush.interval.ms", L, None, "Maximum time a message stays in memory before a flush."),
    ConfigDef("log.flush.scheduler.interval.ms", L, LONG_MAX, "How often the log flusher checks for logs to flush."),
    ConfigDef(
        "log.segment.delete.delay.ms", L, 60000, "The amount of time to wait before deleting a file.", _at_least(0)
    ),
    ConfigDef(
        "log.cleanup.policy", LI, ["delete"], "The default cleanup policy for segments.", choices=("compact", "delete")
    ),
    ConfigDef("log.cleaner.enable", B, True, "Enable the log cleaner process to run on the server."),
    ConfigDef("log.cleaner.threads", INT, 1, "The number of background threads to use for log cleaning."),
    ConfigDef(
        "log.cleaner.min.cleanable.ratio",
        D,
        0.5,
        "Minimum ratio of dirty log to total log for cleaning.",
        _between(0, 1),
    ),
    ConfigDef("log.cleaner.delete.retention.ms", L, 86400000, "How long delete records (tombstones) are retained."),
    ConfigDef("log.cleaner.min.compaction.lag.ms", L, 0, "Minimum time a message remains uncompacted."),
    ConfigDef("log.cleaner.max.compaction.lag.ms", L, LONG_MAX, "Maximum time a message remains ineligible."),
    ConfigDef("log.cleaner.backoff.ms", L, 15000, "The amount of time to sleep when there are no logs to clean."),
    ConfigDef("log.preallocate", B, False, "Preallocate the file when creating a new segment."),
    ConfigDef(
        "log.message.timestamp.type",
        S,
        "CreateTime",
        "Whether the timestamp is create or log append time.",
        choices=("CreateTime", "LogAppendTime"),
    ),
    ConfigDef("log.message.timestamp.before.max.ms", L, LONG_MAX, "Allowed timestamp lag behind the broker."),
    ConfigDef("log.message.timestamp.after.max.ms", L, LONG_MAX, "Allowed timestamp lead ahead of the broker."),
    ConfigDef("log.message.downconversion.enable", B, True, "Whether down-conversion of messages is enabled."),
    ConfigDef(
        "compression.type",
        S,
        "producer",
        "The final compression type for a given topic.",
        choices=("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"),
    ),
    ConfigDef("message.max.bytes", INT, 1048588, "The largest record batch size allowed by Kafka.", _at_least(0)),
    ConfigDef(
        "socket.request.max.bytes", INT, 104857600, "The maximum number of bytes in a socket request.", _at_least(1)
    ),
    ConfigDef("socket.send.buffer.bytes", INT, 102400, "SO_SNDBUF of the sockets; -1 for the OS default."),
    ConfigDef("socket.receive.buffer.bytes", INT, 102400, "SO_RCVBUF of the sockets; -1 for the OS default."),
    ConfigDef(
        "connections.max.idle.ms",
        L,
        600000,
        "Idle connections timeout: a connection with no bytes read or written this long is closed (< 0: never).",
    ),
    ConfigDef(
        "max.connections",
        INT,
        INT_MAX,
        "The maximum number of connections at any time; at the limit, new connections wait to be accepted.",
        _at_least(0),
    ),
    ConfigDef(
        "max.connections.per.ip",
        INT,
        INT_MAX,
        "The maximum number of connections from one IP address; an extra one is closed when accepted.",
        _at_least(0),
    ),
    ConfigDef(
        "max.connections.per.ip.overrides",
        S,
        "",
        "Per-IP or hostname overrides of max.connections.per.ip, e.g. hostName:100,127.0.0.1:200.",
    ),
    ConfigDef(
        "socket.listen.backlog.size", INT, 50, "The backlog of pending connections of a listening socket.", _at_least(1)
    ),
    ConfigDef("num.network.threads", INT, 3, "Accepted for compatibility; one event loop serves all sockets."),
    ConfigDef("num.io.threads", INT, 8, "Accepted for compatibility; one event loop serves all requests."),
    ConfigDef(
        "num.recovery.threads.per.data.dir",
        INT,
        4,
        "Threads per data directory that load (and recover) logs at start-up. Kafka's default is 1; "
        "4 here: loading waits mostly on the disk after a reboot, and threads overlap those waits.",
        _at_least(1),
    ),
    ConfigDef("fetch.max.bytes", INT, 57671680, "The maximum number of bytes returned for a fetch request."),
    ConfigDef("max.incremental.fetch.session.cache.slots", INT, 1000, "Incremental fetch sessions kept."),
    ConfigDef("replica.lag.time.max.ms", L, 30000, "A follower lagging this long is removed from the ISR."),
    ConfigDef("replica.fetch.max.bytes", INT, 1048576, "Bytes of messages fetched per partition by followers."),
    ConfigDef("replica.fetch.wait.max.ms", INT, 500, "Max wait time for each fetcher request issued by followers."),
    ConfigDef("replica.fetch.min.bytes", INT, 1, "Minimum bytes expected for each fetch response of a follower."),
    ConfigDef(
        "replica.fetch.response.max.bytes", INT, 10485760, "Bytes expected for the whole fetch response of a follower."
    ),
    ConfigDef(
        "replica.fetch.backoff.ms", INT, 1000, "Sleep after a fetch partition error of a follower.", _at_least(0)
    ),
    ConfigDef("replica.socket.timeout.ms", INT, 30000, "The socket timeout of a follower's requests."),
    # Replication quotas (broker.replication.quota): the rates are used only as set by AlterConfigs (per
    # broker, else the cluster default), as in Kafka; the sampling window is static.
    ConfigDef(
        "leader.replication.throttled.rate",
        L,
        LONG_MAX,
        "Upper bound (bytes/s) on what this broker sends, as leader, to the followers of the replicas its "
        "topics list in leader.replication.throttled.replicas (in-sync followers are never held back).",
        _at_least(0),
    ),
    ConfigDef(
        "follower.replication.throttled.rate",
        L,
        LONG_MAX,
        "Upper bound (bytes/s) on what this broker fetches, as follower, for the replicas its topics list in "
        "follower.replication.throttled.replicas (in-sync replicas are never held back).",
        _at_least(0),
    ),
    ConfigDef(
        "replica.alter.log.dirs.io.max.bytes.per.second",
        L,
        LONG_MAX,
        "Upper bound (bytes/s) on moves between log directories; stored only (no such moves here).",
        _at_least(0),
    ),
    # Client quotas (broker.quotas): the rates' samples; the deprecated static defaults (Long.MAX_VALUE: none)
    ConfigDef("quota.window.num", INT, 11, "Samples kept for client quotas.", _at_least(1)),
    ConfigDef("quota.window.size.seconds", INT, 1, "The time span of each client quota sample.", _at_least(1)),
    ConfigDef(
        "quota.producer.default",
        L,
        LONG_MAX,
        "Deprecated: the producer_byte_rate of client ids with no quota set dynamically.",
        _at_least(1),
    ),
    ConfigDef(
        "quota.consumer.default",
        L,
        LONG_MAX,
        "Deprecated: the consumer_byte_rate of client ids with no quota set dynamically.",
        _at_least(1),
    ),
    ConfigDef("replication.quota.window.num", INT, 11, "Samples kept for replication quotas.", _at_least(1)),
    ConfigDef(
        "replication.quota.window.size.seconds",
        INT,
        1,
        "The time span of each replication quota sample.",
        _at_least(1),
    ),
    ConfigDef("producer.id.expiration.ms", INT, 86400000, "Time to wait before a producer id expires.", _at_least(1)),
    ConfigDef(
        "producer.id.expiration.check.interval.ms",
        INT,
        600000,
        "How often expired producer ids are removed.",
        _at_least(1),
    ),
    ConfigDef(
        "offsets.topic.num.partitions", INT, 50, "The number of partitions for the offset commit topic.", _at_least(1)
    ),
    ConfigDef("offsets.topic.replication.factor", INT, 3, "Replication factor of the offsets topic.", _at_least(1)),
    ConfigDef("offsets.topic.segment.bytes", INT, 104857600, "Segment size of the offsets topic.", _at_least(1)),
    ConfigDef("offsets.topic.compression.codec", INT, 0, "Compression codec for the offsets topic."),
    ConfigDef(
        "offsets.retention.minutes", INT, 10080, "Committed offsets of empty groups are kept this long.", _at_least(1)
    ),
    ConfigDef(
        "offsets.retention.check.interval.ms", L, 600000, "Frequency at which to check for stale offsets.", _at_least(1)
    ),
    ConfigDef("offsets.commit.timeout.ms", INT, 5000, "Offset commit delayed until all replicas receive it."),
    ConfigDef("offsets.load.buffer.size", INT, 5242880, "Batch size for reading the offsets segments."),
    ConfigDef("offset.metadata.max.bytes", INT, 4096, "The maximum size for metadata with an offset commit."),
    ConfigDef("transaction.state.log.num.partitions", INT, 50, "Partitions of the transaction topic.", _at_least(1)),
    ConfigDef(
        "transaction.state.log.replication.factor", INT, 3, "Replication factor of the transaction topic.", _at_least(1)
    ),
    ConfigDef("transaction.state.log.min.isr", INT, 2, "min.insync.replicas of the transaction topic."),
    ConfigDef("transaction.state.log.segment.bytes", INT, 104857600, "Segment size of the transaction topic."),
    ConfigDef("transactional.id.expiration.ms", INT, 604800000, "Idle transactional ids expire after this."),
    ConfigDef("transaction.max.timeout.ms", INT, 900000, "The maximum allowed timeout for transactions."),
    ConfigDef("transaction.state.log.load.buffer.size", INT, 5242880, "Batch size for reading the transaction log."),
    ConfigDef(
        "transaction.abort.timed.out.transaction.cleanup.interval.ms",
        INT,
        10000,
        "The interval at which to roll back transactions that have timed out.",
        _at_least(1),
    ),
    ConfigDef(
        "transaction.remove.expired.transaction.cleanup.interval.ms",
        INT,
        3600000,
        "The interval at which to remove transactions that have expired due to transactional.id.expiration.ms.",
        _at_least(1),
    ),
    ConfigDef(
        "transaction.partition.verification.enable",
        B,
        True,
        "Verify that a partition was added to the transaction before writing transactional records to it.",
    ),
    ConfigDef("group.initial.rebalance.delay.ms", INT, 3000, "Wait for more consumers before the first rebalance."),
    ConfigDef("group.min.session.timeout.ms", INT, 6000, "The minimum allowed session timeout of consumers."),
    ConfigDef("group.max.session.timeout.ms", INT, 1800000, "The maximum allowed session timeout of consumers."),
    ConfigDef("group.max.size", INT, INT_MAX, "The maximum number of consumers in a single group.", _at_least(1)),
    ConfigDef("group.coordinator.rebalance.protocols", LI, ["classic", "consumer"], "Enabled group protocols."),
    ConfigDef("group.consumer.session.timeout.ms", INT, 45000, "Session timeout of consumer-protocol members."),
    ConfigDef("group.consumer.heartbeat.interval.ms", INT, 5000, "Heartbeat interval of consumer-protocol members."),
    ConfigDef("group.consumer.assignors", LI, ["uniform", "range"], "Server-side assignors, the first default."),
    ConfigDef("zookeeper.connect", S, None, "ZooKeeper connection string; unset runs a self-contained broker."),
    ConfigDef("zookeeper.session.timeout.ms", INT, 18000, "Zookeeper session timeout."),
    ConfigDef("zookeeper.connection.timeout.ms", INT, None, "Max time to wait to establish a ZooKeeper connection."),
    ConfigDef(
        "broker.id.generation.enable",
        B,
        True,
        "Enable automatic broker id generation (from /brokers/seqid) when broker.id is -1 in cluster mode.",
    ),
    ConfigDef(
        "reserved.broker.max.id",
        INT,
        1000,
        "Max number that can be used for a broker.id; generated ids start above it.",
        _at_least(0),
    ),
    ConfigDef("controlled.shutdown.enable", B, True, "Enable controlled shutdown of the server."),
    ConfigDef("controlled.shutdown.max.retries", INT, 3, "Attempts of a controlled shutdown before an unclean one."),
    ConfigDef(
        "controlled.shutdown.retry.backoff.ms", L, 5000, "Wait between controlled shutdown attempts.", _at_least(0)
    ),
    ConfigDef(
        "log.message.format.version",
        S,
        "3.0-IV1",
        "Deprecated (ignored since 3.0: every batch is written in format v2); stored and described only.",
        check=lambda v: _check_version(v),
    ),
    ConfigDef(
        "log.message.timestamp.difference.max.ms",
        L,
        LONG_MAX,
        "Deprecated: the before/after limits' value where those are not set.",
        _at_least(0),
    ),
    ConfigDef(
        "compression.gzip.level", INT, -1, "Broker-side gzip level; stored only (no recompression).", _gzip_level
    ),
    ConfigDef(
        "compression.lz4.level", INT, 9, "Broker-side lz4 level; stored only (no recompression).", _between(1, 17)
    ),
    ConfigDef(
        "compression.zstd.level",
        INT,
        3,
        "Broker-side zstd level; stored only (no recompression).",
        _between(-131072, 22),
    ),
    ConfigDef("log.local.retention.ms", L, -2, "Tiered storage's local retention; stored only.", _at_least(-2)),
    ConfigDef("log.local.retention.bytes", L, -2, "Tiered storage's local retention; stored only.", _at_least(-2)),
    ConfigDef("remote.log.storage.system.enable", B, False, "Tiered storage; kafkish has none, so it must stay false."),
    ConfigDef("sasl.kerberos.min.time.before.relogin", L, 60000, "Stored only: kafkish has no Kerberos."),
    ConfigDef("sasl.kerberos.ticket.renew.window.factor", D, 0.8, "Stored only: kafkish has no Kerberos."),
    ConfigDef("sasl.kerberos.ticket.renew.jitter", D, 0.05, "Stored only: kafkish has no Kerberos."),
    ConfigDef("sasl.kerberos.kinit.cmd", S, "/usr/bin/kinit", "Stored only: kafkish has no Kerberos."),
    ConfigDef("sasl.kerberos.service.name", S, None, "Stored only: kafkish has no Kerberos."),
    ConfigDef("sasl.kerberos.principal.to.local.rules", LI, ["DEFAULT"], "Stored only: kafkish has no Kerberos."),
    ConfigDef("sasl.login.refresh.window.factor", D, 0.8, "Stored only: no OAUTHBEARER."),
    ConfigDef("sasl.login.refresh.window.jitter", D, 0.05, "Stored only: no OAUTHBEARER."),
    ConfigDef("sasl.login.refresh.min.period.seconds", ConfigType.SHORT, 60, "Stored only: no OAUTHBEARER."),
    ConfigDef("sasl.login.refresh.buffer.seconds", ConfigType.SHORT, 300, "Stored only: no OAUTHBEARER."),
    ConfigDef(
        "principal.builder.class",
        ConfigType.CLASS,
        None,
        "Stored only: the default principals.",
    ),
    ConfigDef("log.cleaner.dedupe.buffer.size", L, 134217728, "Stored only: kafkish's cleaner sizes its own map."),
    ConfigDef("log.cleaner.io.buffer.size", INT, 524288, "Stored only.", _at_least(0)),
    ConfigDef("log.cleaner.io.buffer.load.factor", D, 0.9, "Stored only."),
    ConfigDef("log.cleaner.io.max.bytes.per.second", D, 1.7976931348623157e308, "Stored only."),
    ConfigDef("num.replica.fetchers", INT, 1, "Fetcher tasks per source broker of a follower.", _at_least(1)),
    ConfigDef("background.threads", INT, 10, "Stored only: one event loop does all.", _at_least(1)),
    ConfigDef("metric.reporters", LI, [], "Stored only: kafkish has no metric reporters."),
    ConfigDef(
        "kafkish.api.version.profile",
        S,
        "3.9",
        "kafkish only: the Kafka release whose ApiVersions maxima the broker advertises (broker.version_profiles).",
        choices=("2.4", "2.8", "3.0", "3.9"),
    ),
    ConfigDef(
        "unstable.api.versions.enable",
        B,
        False,
        "Advertise the API versions Kafka marks unstable (internal in Kafka): EndTxn v5 (KIP-890 part 2).",
    ),
    ConfigDef(
        "kafkish.fault.injection.enable",
        B,
        False,
        "kafkish only, for tests: serve the fault-injection endpoint and apply its rules (broker.fault_injection).",
    ),
    ConfigDef("kafkish.fault.injection.host", S, "127.0.0.1", "kafkish only: the fault-injection endpoint's address."),
    ConfigDef("kafkish.fault.injection.port", INT, 0, "kafkish only: its port (0: any free one).", _at_least(0)),
    ConfigDef("request.timeout.ms", INT, 30000, "The configuration controls the maximum time to wait for a reply."),
]

_TOPIC: list[ConfigDef] = [
    ConfigDef(
        "cleanup.policy",
        LI,
        ["delete"],
        "The retention policy to use on log segments: delete or compact.",
        choices=("compact", "delete"),
        synonyms=("log.cleanup.policy",),
    ),
    ConfigDef(
        "compression.type",
        S,
        "producer",
        "The final compression type for the topic.",
        choices=("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"),
        synonyms=("compression.type",),
    ),
    ConfigDef(
        "delete.retention.ms",
        L,
        86400000,
        "How long tombstones are kept for compacted topics.",
        _at_least(0),
        synonyms=("log.cleaner.delete.retention.ms",),
    ),
    ConfigDef(
        "file.delete.delay.ms",
        L,
        60000,
        "Time to wait before deleting a file from the filesystem.",
        _at_least(0),
        synonyms=("log.segment.delete.delay.ms",),
    ),
    ConfigDef(
        "flush.messages",
        L,
        LONG_MAX,
        "Force an fsync after this many messages.",
        _at_least(1),
        synonyms=("log.flush.interval.messages",),
    ),
    ConfigDef(
        "flush.ms",
        L,
        LONG_MAX,
        "Force an fsync after this much time.",
        _at_least(0),
        synonyms=("log.flush.interval.ms", "log.flush.scheduler.interval.ms"),
    ),
    ConfigDef(
        "index.interval.bytes",
        INT,
        4096,
        "How often an entry is added to the offset index.",
        _at_least(0),
        synonyms=("log.index.interval.bytes",),
    ),
    ConfigDef(
        "max.compaction.lag.ms",
        L,
        LONG_MAX,
        "Maximum time a message remains ineligible for compaction.",
        _at_least(1),
        synonyms=("log.cleaner.max.compaction.lag.ms",),
    ),
    ConfigDef(
        "max.message.bytes",
        INT,
        1048588,
        "The largest record batch size allowed.",
        _at_least(0),
        synonyms=("message.max.bytes",),
    ),
    ConfigDef(
        "message.downconversion.enable",
        B,
        True,
        "Whether down-conversion of messages is enabled.",
        synonyms=("log.message.downconversion.enable",),
    ),
    ConfigDef(
        "message.timestamp.type",
        S,
        "CreateTime",
        "Whether the timestamp is create or log append time.",
        choices=("CreateTime", "LogAppendTime"),
        synonyms=("log.message.timestamp.type",),
    ),
    ConfigDef(
        "message.timestamp.before.max.ms",
        L,
        LONG_MAX,
        "Allowed timestamp lag behind the broker.",
        _at_least(0),
        synonyms=("log.message.timestamp.before.max.ms",),
    ),
    ConfigDef(
        "message.timestamp.after.max.ms",
        L,
        LONG_MAX,
        "Allowed timestamp lead ahead of the broker.",
        _at_least(0),
        synonyms=("log.message.timestamp.after.max.ms",),
    ),
    ConfigDef(
        "min.cleanable.dirty.ratio",
        D,
        0.5,
        "Dirty ratio at which the log cleaner cleans a log.",
        _between(0, 1),
        synonyms=("log.cleaner.min.cleanable.ratio",),
    ),
    ConfigDef(
        "min.compaction.lag.ms",
        L,
        0,
        "Minimum time a message remains uncompacted.",
        _at_least(0),
        synonyms=("log.cleaner.min.compaction.lag.ms",),
    ),
    ConfigDef(
        "min.insync.replicas",
        INT,
        1,
        "Replicas that must acknowledge a write with acks=all.",
        _at_least(1),
        synonyms=("min.insync.replicas",),
    ),
    ConfigDef(
        "preallocate",
        B,
        False,
        "Preallocate the file on disk when creating a new log segment.",
        synonyms=("log.preallocate",),
    ),
    ConfigDef(
        "retention.bytes",
        L,
        -1,
        "The maximum size a partition can grow to before old segments go.",
        synonyms=("log.retention.bytes",),
    ),
    ConfigDef(
        "retention.ms",
        L,
        604800000,
        "The maximum time a log is retained; -1 means no limit.",
        _at_least(-1),
        synonyms=("log.retention.ms", "log.retention.minutes", "log.retention.hours"),
        scale=(1, 60000, 3600000),
    ),
    ConfigDef(
        "segment.bytes",
        INT,
        1073741824,
        "The segment file size for the log.",
        _at_least(14),
        synonyms=("log.segment.bytes",),
    ),
    ConfigDef(
        "segment.index.bytes",
        INT,
        10485760,
        "The size of the index that maps offsets to file positions.",
        _at_least(4),
        synonyms=("log.index.size.max.bytes",),
    ),
    ConfigDef(
        "segment.jitter.ms",
        L,
        0,
        "The maximum random jitter subtracted from segment.ms.",
        _at_least(0),
        synonyms=("log.roll.jitter.ms", "log.roll.jitter.hours"),
        scale=(1, 3600000),
    ),
    ConfigDef(
        "segment.ms",
        L,
        604800000,
        "Time after which Kafka rolls the log even if the segment isn't full.",
        _at_least(1),
        synonyms=("log.roll.ms", "log.roll.hours"),
        scale=(1, 3600000),
    ),
    ConfigDef(
        "compression.gzip.level",
        INT,
        -1,
        "The gzip level the broker would recompress with; stored only (no recompression).",
        _gzip_level,
        synonyms=("compression.gzip.level",),
    ),
    ConfigDef(
        "compression.lz4.level",
        INT,
        9,
        "The lz4 level the broker would recompress with; stored only (no recompression).",
        _between(1, 17),
        synonyms=("compression.lz4.level",),
    ),
    ConfigDef(
        "compression.zstd.level",
        INT,
        3,
        "The zstd level the broker would recompress with; stored only (no recompression).",
        _between(-131072, 22),
        synonyms=("compression.zstd.level",),
    ),
    ConfigDef(
        "follower.replication.throttled.replicas",
        LI,
        [],
        "Replicas (partition:broker, or *) whose fetches their follower throttles with "
        "follower.replication.throttled.rate while they are not in sync.",
        _check_throttled("follower.replication.throttled.replicas"),
    ),
    ConfigDef(
        "leader.replication.throttled.replicas",
        LI,
        [],
        "Replicas (partition:broker, or *) whose leader throttles what it sends to out-of-sync followers "
        "with leader.replication.throttled.rate.",
        _check_throttled("leader.replication.throttled.replicas"),
    ),
    ConfigDef(
        "local.retention.bytes",
        L,
        -2,
        "Tiered storage's local retention (-2: retention.bytes); stored only.",
        _at_least(-2),
        synonyms=("log.local.retention.bytes",),
    ),
    ConfigDef(
        "local.retention.ms",
        L,
        -2,
        "Tiered storage's local retention (-2: retention.ms); stored only.",
        _at_least(-2),
        synonyms=("log.local.retention.ms",),
    ),
    ConfigDef(
        "message.format.version",
        S,
        "3.0-IV1",
        "Deprecated; ignored since 3.0 (every batch is written in format v2): stored and described only.",
        check=lambda v: _check_version(v),
        synonyms=("log.message.format.version",),
    ),
    ConfigDef(
        "message.timestamp.difference.max.ms",
        L,
        LONG_MAX,
        "Deprecated: the before/after limits' value where those are not set.",
        _at_least(0),
        synonyms=("log.message.timestamp.difference.max.ms",),
    ),
    ConfigDef(
        "remote.log.copy.disable",
        B,
        False,
        "Tiered storage: stop copying to remote storage; stored only.",
    ),
    ConfigDef(
        "remote.log.delete.on.disable",
        B,
        False,
        "Tiered storage: delete remote data when disabled; stored only.",
    ),
    ConfigDef(
        "remote.storage.enable",
        B,
        False,
        "Tiered storage for this topic; kafkish has none, so only false is accepted.",
    ),
    ConfigDef(
        "unclean.leader.election.enable",
        B,
        False,
        "Allow out-of-ISR replicas to become leader.",
        synonyms=("unclean.leader.election.enable",),
    ),
]

P = ConfigType.PASSWORD
_TLS_PROTOCOLS = ("TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1", "TLS")
_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")

# Security (broker.security): each may also be set for one listener as listener.name.<listener>.<name>.
_SECURITY: list[ConfigDef] = [
    ConfigDef("ssl.keystore.type", S, "JKS", "The file format of the key store file: JKS, PKCS12 or PEM."),
    ConfigDef("ssl.keystore.location", S, None, "The location of the key store file."),
    ConfigDef("ssl.keystore.password", P, None, "The store password for the key store file.", sensitive=True),
    ConfigDef("ssl.key.password", P, None, "The password of the private key in the key store.", sensitive=True),
    ConfigDef("ssl.keystore.certificate.chain", P, None, "Certificate chain in PEM format.", sensitive=True),
    ConfigDef("ssl.keystore.key", P, None, "Private key in PEM format (PKCS#8).", sensitive=True),
    ConfigDef("ssl.truststore.type", S, "JKS", "The file format of the trust store file: JKS, PKCS12 or PEM."),
    ConfigDef("ssl.truststore.location", S, None, "The location of the trust store file."),
    ConfigDef("ssl.truststore.password", P, None, "The password for the trust store file.", sensitive=True),
    ConfigDef("ssl.truststore.certificates", P, None, "Trusted certificates in PEM format.", sensitive=True),
    ConfigDef(
        "ssl.client.auth",
        S,
        "none",
        "Whether clients must present a certificate.",
        choices=("required", "requested", "none"),
    ),
    ConfigDef("ssl.enabled.protocols", LI, ["TLSv1.2", "TLSv1.3"], "The TLS protocols.", choices=_TLS_PROTOCOLS),
    ConfigDef("ssl.protocol", S, "TLSv1.3", "The TLS protocol used to create the context.", choices=_TLS_PROTOCOLS),
    ConfigDef("ssl.cipher.suites", LI, [], "Cipher suites (IANA or OpenSSL names); empty: the defaults."),
    ConfigDef("ssl.principal.mapping.rules", S, "DEFAULT", "Rules mapping a certificate's DN to a principal name."),
    ConfigDef("ssl.endpoint.identification.algorithm", S, "https", "Server host name verification (clients)."),
    ConfigDef("ssl.keymanager.algorithm", S, "SunX509", "Accepted for compatibility; OpenSSL decides."),
    ConfigDef("ssl.trustmanager.algorithm", S, "PKIX", "Accepted for compatibility; OpenSSL decides."),
    ConfigDef("sasl.enabled.mechanisms", LI, ["GSSAPI"], "The SASL mechanisms enabled in the server."),
    ConfigDef("sasl.mechanism.inter.broker.protocol", S, "GSSAPI", "SASL mechanism between brokers."),
    ConfigDef("sasl.jaas.config", P, None, "JAAS login context parameters, in the JAAS file format.", sensitive=True),
    ConfigDef(
        "sasl.server.max.receive.size",
        INT,
        524288,
        "The largest frame accepted before SASL authentication.",
        _at_least(1),
    ),
    ConfigDef(
        "connection.failed.authentication.delay.ms",
        INT,
        100,
        "Delay before the connection is closed on failed authentication.",
        _at_least(0),
    ),
    ConfigDef("connections.max.reauth.ms", L, 0, "Longest session lifetime of a SASL connection (0: unbounded)."),
    ConfigDef("authorizer.class.name", S, "", "The authorizer's class name; empty: no authorizer."),
    ConfigDef("super.users", S, "", "Principals allowed everything by the authorizer (User:a;User:b)."),
    ConfigDef(
        "allow.everyone.if.no.acl.found",
        ConfigType.BOOLEAN,
        False,
        "Authorizer: allow a resource with no ACL at all to everyone.",
    ),
]

BROKER_CONFIGS: dict[str, ConfigDef] = {c.name: c for c in _BROKER + _SECURITY}
TOPIC_CONFIGS: dict[str, ConfigDef] = {c.name: c for c in sorted(_TOPIC, key=lambda c: c.name)}

# -- dynamic broker configs (Kafka 3.9, ZooKeeper mode: DynamicBrokerConfig.AllDynamicConfigs) ----------
# The log configs a topic inherits: each topic config's first broker synonym (DynamicLogConfig).
_DYNAMIC_LOG = {c.synonyms[0] for c in _TOPIC if c.synonyms}
_DYNAMIC_CLUSTER_WIDE = {
    # LogCleaner.ReconfigurableConfigs
    "log.cleaner.threads", "log.cleaner.dedupe.buffer.size", "log.cleaner.io.buffer.load.factor",
    "log.cleaner.io.buffer.size", "message.max.bytes", "log.cleaner.io.max.bytes.per.second",
    "log.cleaner.backoff.ms",
    # DynamicThreadPool, metric reporters, SocketServer, the producer state manager
    "num.io.threads", "num.replica.fetchers", "num.recovery.threads.per.data.dir", "background.threads",
    "metric.reporters", "max.connections.per.ip", "max.connections.per.ip.overrides",
    "producer.id.expiration.ms", "transaction.partition.verification.enable",
    # DynamicListenerConfig's cluster-level ones
    "max.connections", "max.connection.creation.rate", "num.network.threads",
    # DynamicConfig.Broker's quota configs (QuotaConfigs)
    "leader.replication.throttled.rate", "follower.replication.throttled.rate",
    "replica.alter.log.dirs.io.max.bytes.per.second",
}  # fmt: skip
_DYNAMIC_PER_BROKER = {
    # DynamicListenerConfig: listeners and their security (Kafka refuses them at the cluster level)
    "advertised.listeners", "listeners", "listener.security.protocol.map", "principal.builder.class",
    "sasl.mechanism.inter.broker.protocol", "sasl.jaas.config", "sasl.enabled.mechanisms",
    "sasl.kerberos.service.name", "sasl.kerberos.kinit.cmd", "sasl.kerberos.ticket.renew.window.factor",
    "sasl.kerberos.ticket.renew.jitter", "sasl.kerberos.min.time.before.relogin",
    "sasl.kerberos.principal.to.local.rules", "sasl.login.refresh.window.factor",
    "sasl.login.refresh.window.jitter", "sasl.login.refresh.min.period.seconds",
    "sasl.login.refresh.buffer.seconds",
}  # fmt: skip
PER_BROKER_CONFIGS: frozenset[str] = frozenset(_DYNAMIC_PER_BROKER & BROKER_CONFIGS.keys())
"""Dynamic configs Kafka accepts only for one broker (``Cannot update these configs at default cluster
level, broker id must be specified``)."""
DYNAMIC_BROKER_CONFIGS: frozenset[str] = frozenset(
    (_DYNAMIC_LOG | _DYNAMIC_CLUSTER_WIDE | _DYNAMIC_PER_BROKER) & BROKER_CONFIGS.keys()
)
"""Broker configs Kafka lets AlterConfigs change at run time (read_only false in DescribeConfigs)."""
APPLIED_DYNAMIC_CONFIGS: frozenset[str] = frozenset(_DYNAMIC_LOG & BROKER_CONFIGS.keys())
"""The dynamic configs that take effect here at once (every topic's inherited log config); the others
are stored and described, and read at the next start where the broker reads them at all."""

_SYNONYM_GROUPS: dict[str, tuple[str, ...]] = {
    name: c.synonyms
    for c in _TOPIC
    if len(c.synonyms) > 1
    for name in c.synonyms
    if name != "log.flush.scheduler.interval.ms"  # Kafka: its own group; it is only flush.ms's fallback
}


def broker_synonyms(name: str) -> tuple[str, ...]:
    """Kafka's ``DynamicBrokerConfig.brokerConfigSynonyms``: the broker configs that set the same value,
    in order of precedence (``log.retention.ms``, ``.minutes``, ``.hours``), or just ``name``."""
    return _SYNONYM_GROUPS.get(name, (name,))
