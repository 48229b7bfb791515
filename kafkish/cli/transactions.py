"""``kafkish transactions``: kafka-transactions.sh (Kafka 3.x) list, describe, describe-producers, abort,
find-hanging.

``kafkish transactions --bootstrap-server HOST:PORT [--command-config FILE] COMMAND ...`` (the two
connection options may also follow the command). Tables are the Java tool's: a header row of Kafka's
column names, each cell padded to its column's widest value and followed by a tab (so every line ends with
one). Absent values print ``None`` (a transaction's start time, a producer's transaction start offset)
or ``-1`` (a producer's coordinator epoch). ``abort`` prints nothing on success; failures print
``<what failed>: <Kafka's message>. Enable debug logging for additional detail.`` on standard error and
exit with 1.

Built on kafka-python's admin client (librdkafka has none of these APIs).
"""

from __future__ import annotations

import argparse
import time
from typing import Any, NoReturn

from kafkish.cli._common import ToolError, out
from kafkish.cli._kafka_python import admin_client, message

LIST_HEADERS = ["TransactionalId", "Coordinator", "ProducerId", "TransactionState"]
DESCRIBE_HEADERS = [
    "CoordinatorId", "TransactionalId", "ProducerId", "ProducerEpoch", "TransactionState", "TransactionTimeoutMs",
    "CurrentTransactionStartTimeMs", "TransactionDurationMs", "TopicPartitions",
]  # fmt: skip
PRODUCERS_HEADERS = [
    "ProducerId", "ProducerEpoch", "LatestCoordinatorEpoch", "LastSequence", "LastTimestamp",
    "CurrentTransactionStartOffset",
]  # fmt: skip
HANGING_HEADERS = [
    "Topic", "Partition", "ProducerId", "ProducerEpoch", "CoordinatorEpoch", "StartOffset", "LastTimestamp",
    "Duration(min)",
]  # fmt: skip


def add_parser(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "transactions", help="list, describe, abort transactions; describe producers; find hanging transactions"
    )
    _connection(p, argparse.SUPPRESS)
    sub = p.add_subparsers(dest="transactions_command", metavar="COMMAND", required=True)

    listing = sub.add_parser("list", help="list transactions")
    listing.add_argument("--duration-filter", type=int, help="only transactions running longer than this (ms)")
    listing.set_defaults(run=run_list)

    describe = sub.add_parser("describe", help="describe the state of an active transactional-id")
    describe.add_argument("--transactional-id", required=True)
    describe.set_defaults(run=run_describe)

    producers = sub.add_parser("describe-producers", help="the active producers of a topic partition")
    producers.add_argument("--broker-id", type=int)
    producers.add_argument("--topic", required=True)
    producers.add_argument("--partition", type=int, required=True)
    producers.set_defaults(run=run_describe_producers)

    abort = sub.add_parser("abort", help="abort a hanging transaction (requires administrative privileges)")
    abort.add_argument("--topic", required=True)
    abort.add_argument("--partition", type=int, required=True)
    abort.add_argument("--start-offset", type=int)
    abort.add_argument("--producer-id", type=int)
    abort.add_argument("--producer-epoch", type=int)
    abort.add_argument("--coordinator-epoch", type=int)
    abort.set_defaults(run=run_abort)

    hanging = sub.add_parser("find-hanging", help="find hanging transactions")
    hanging.add_argument("--broker-id", type=int)
    hanging.add_argument("--max-transaction-timeout", type=int, default=15, help="minutes (15)")
    hanging.add_argument("--topic")
    hanging.add_argument("--partition", type=int)
    hanging.set_defaults(run=run_find_hanging)
    for command in (listing, describe, producers, abort, hanging):
        _connection(command, argparse.SUPPRESS)
    p.set_defaults(bootstrap_server=None, command_config=None)


def _connection(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument("--bootstrap-server", metavar="HOST:PORT", default=default)
    parser.add_argument("--command-config", metavar="FILE", default=default, help="admin client properties")


def _client(args: argparse.Namespace) -> Any:
    if not args.bootstrap_server:
        raise ToolError("argument --bootstrap-server is required", prefix="kafkish transactions: error: ")
    return admin_client(args)


def _fail(what: str, exc: BaseException | None = None) -> NoReturn:
    if exc is None:
        raise ToolError(what, prefix="")
    raise ToolError(f"{what}: {message(exc).rstrip('.')}. Enable debug logging for additional detail.", prefix="")


def _table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(headers)]
    for row in [headers, *rows]:
        out("".join(cell.ljust(width) + "\t" for cell, width in zip(row, widths, strict=True)))


def _tp(topic: str, partition: int) -> Any:
    from kafka import TopicPartition

    return TopicPartition(topic, partition)


def run_list(args: argparse.Namespace) -> int:
    from kafka.errors import KafkaError

    client = _client(args)
    filter_ms = args.duration_filter if args.duration_filter is not None and args.duration_filter >= 0 else None
    try:
        by_broker = client.list_transactions(duration_filter_ms=filter_ms)
    except KafkaError as exc:
        _fail("Failed to list transactions", exc)
    rows = [
        [listing.transactional_id, str(broker), str(listing.producer_id), listing.state.value]
        for broker, listings in sorted(by_broker.items())
        for listing in listings
    ]
    _table(LIST_HEADERS, rows)
    return 0


def run_describe(args: argparse.Namespace) -> int:
    from kafka.errors import KafkaError

    client = _client(args)
    txn_id = args.transactional_id
    try:
        description = client.describe_transactions([txn_id])[txn_id]
    except KafkaError as exc:
        # the Java admin client's messages for these two errors
        why = {105: "because the ID could not be found", 53: "due to authorization failure"}.get(_code(exc))
        if why is not None:
            _fail(
                f"Failed to describe transaction state of transactional-id `{txn_id}`: DescribeTransactions request "
                f"for transactionalId `{txn_id}` failed {why}. Enable debug logging for additional detail."
            )
        _fail(f"Failed to describe transaction state of transactional-id `{txn_id}`", exc)
    started = description.transaction_start_time_ms
    partitions = sorted(description.topic_partitions)
    _table(DESCRIBE_HEADERS, [[
        str(description.coordinator_id), txn_id, str(description.producer_id), str(description.producer_epoch),
        description.state.value, str(description.transaction_timeout_ms),
        "None" if started < 0 else str(started), "None" if started < 0 else str(_now_ms() - started),
        ",".join(f"{tp.topic}-{tp.partition}" for tp in partitions),
    ]])  # fmt: skip
    return 0


def run_describe_producers(args: argparse.Namespace) -> int:
    client = _client(args)
    tp = _tp(args.topic, args.partition)
    where = f"broker {args.broker_id}" if args.broker_id is not None else "leader"
    states = _producers(
        client, [tp], args.broker_id, f"Failed to describe producers for partition {_name(tp)} on {where}"
    )
    rows = [
        [str(p.producer_id), str(p.producer_epoch), str(p.coordinator_epoch), str(p.last_sequence),
         str(p.last_timestamp), _offset(p.current_transaction_start_offset)]
        for p in states[tp].active_producers
    ]  # fmt: skip
    _table(PRODUCERS_HEADERS, rows)
    return 0


def run_abort(args: argparse.Namespace) -> int:
    from kafka.admin import AbortTransactionSpec
    from kafka.errors import KafkaError

    if args.start_offset is None and args.producer_id is None:
        _fail(
            "The transaction to abort must be identified either with --start-offset (for brokers on 3.0 or above) "
            "or with --producer-id, --producer-epoch, and --coordinator-epoch (for older brokers)"
        )
    client = _client(args)
    tp = _tp(args.topic, args.partition)
    if args.start_offset is None:
        if args.producer_epoch is None:
            _fail("Missing required argument --producer-epoch")
        if args.coordinator_epoch is None:
            _fail("Missing required argument --coordinator-epoch")
        spec = AbortTransactionSpec(tp, args.producer_id, args.producer_epoch, max(args.coordinator_epoch, 0))
    else:
        states = _producers(client, [tp], None, f"Failed to validate producer state for partition {_name(tp)}")
        found = [p for p in states[tp].active_producers if p.current_transaction_start_offset == args.start_offset]
        if not found:
            _fail(f"Could not find any open transactions starting at offset {args.start_offset} on partition "
                  f"{_name(tp)}")  # fmt: skip
        producer = found[0]
        spec = AbortTransactionSpec(
            tp, producer.producer_id, producer.producer_epoch, max(producer.coordinator_epoch, 0)
        )
    try:
        client.abort_transaction(spec)
    except KafkaError as exc:
        _fail(
            f"Failed to abort transaction AbortTransactionSpec(topicPartition={_name(tp)}, "
            f"producerId={spec.producer_id}, producerEpoch={spec.producer_epoch}, "
            f"coordinatorEpoch={spec.coordinator_epoch})",
            exc,
        )
    return 0


def run_find_hanging(args: argparse.Namespace) -> int:
    """Kafka's search: open transactions (a producer with a transaction start offset) on the partitions of
    ``--topic`` or of ``--broker-id``, idle longer than the maximum transaction timeout, whose producer has
    no transactional id, or one whose coordinator does not list the partition in its transaction."""
    from kafka.errors import KafkaError, TransactionalIdNotFoundError

    if args.topic is None and args.broker_id is None:
        _fail("The `find-hanging` command requires either --topic or --broker-id to limit the scope of the search")
    if args.partition is not None and args.topic is None:
        _fail("The --partition argument requires --topic to be provided")
    client = _client(args)
    limit_ms = args.max_transaction_timeout * 60_000
    partitions = _partitions_to_search(client, args)
    where = f"broker {args.broker_id}" if args.broker_id is not None else "their leaders"
    what = f"Failed to describe producers for {len(partitions)} partitions on {where}"
    states = _producers(client, partitions, args.broker_id, what) if partitions else {}
    now = _now_ms()
    candidates = [
        (tp, p)
        for tp, state in states.items()
        for p in state.active_producers
        if p.current_transaction_start_offset >= 0 and now - p.last_timestamp > limit_ms
    ]
    hanging = []
    if candidates:
        producer_ids = sorted({p.producer_id for _, p in candidates})
        try:
            listed = client.list_transactions(producer_id_filters=producer_ids)
        except KafkaError as exc:
            _fail(f"Failed to list transactions for {len(producer_ids)} producers", exc)
        txn_ids = {t.producer_id: t.transactional_id for ts in listed.values() for t in ts}
        descriptions: dict[str, Any] = {}
        for txn_id in set(txn_ids.values()):
            try:
                descriptions[txn_id] = client.describe_transactions([txn_id])[txn_id]
            except TransactionalIdNotFoundError:
                descriptions[txn_id] = None
            except KafkaError as exc:
                _fail(f"Failed to describe {len(set(txn_ids.values()))} transactions", exc)
        for tp, p in candidates:
            description = descriptions.get(txn_ids.get(p.producer_id, ""))
            if description is None or tp not in description.topic_partitions:
                hanging.append((tp, p))
    rows = [
        [tp.topic, str(tp.partition), str(p.producer_id), str(p.producer_epoch), str(p.coordinator_epoch),
         str(p.current_transaction_start_offset), str(p.last_timestamp), str((now - p.last_timestamp) // 60_000)]
        for tp, p in hanging
    ]  # fmt: skip
    _table(HANGING_HEADERS, rows)
    return 0


def _partitions_to_search(client: Any, args: argparse.Namespace) -> list[Any]:
    from kafka.errors import KafkaError

    if args.topic is not None and args.partition is not None:
        return [_tp(args.topic, args.partition)]
    try:
        topics = [args.topic] if args.topic is not None else client.list_topics()
        described = client.describe_topics(topics)
    except KafkaError as exc:
        _fail("Failed to describe topics", exc)
    found = []
    for topic in described:
        if topic.get("error_code"):
            from kafka.errors import for_code

            _fail("Failed to describe 1 topics", for_code(topic["error_code"])())
        for partition in topic["partitions"]:
            if args.broker_id is None or args.broker_id in partition["replica_nodes"]:
                found.append(_tp(topic["name"], partition["partition_index"]))
    return sorted(found)


def _producers(client: Any, partitions: list[Any], broker_id: int | None, what: str) -> dict[Any, Any]:
    from kafka.errors import KafkaError

    try:
        return dict(client.describe_producers(partitions, broker_id=broker_id))
    except KafkaError as exc:
        _fail(what, exc)


def _code(exc: BaseException) -> int:
    return int(getattr(exc, "errno", -1) or -1)


def _name(tp: Any) -> str:
    return f"{tp.topic}-{tp.partition}"


def _offset(offset: int) -> str:
    return "None" if offset < 0 else str(offset)


def _now_ms() -> int:
    return int(time.time() * 1000)
