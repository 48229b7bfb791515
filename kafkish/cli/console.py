"""``kafkish console-producer`` and ``kafkish console-consumer``: Kafka's console tools.

The producer sends one record per line of standard input; with ``--property parse.key=true`` a line is
split at the first ``key.separator`` (default a tab) into key and value, and ``parse.headers=true``
reads ``headers.delimiter``-separated ``k:v,k2:v2`` headers first, as Kafka's LineMessageReader.

The consumer prints records as Kafka's DefaultMessageFormatter: optional ``print.timestamp``
(``CreateTime:123``), ``print.partition`` (``Partition:0``), ``print.offset`` (``Offset:5``),
``print.headers``, ``print.key`` and ``print.value`` (default true), separated by ``key.separator``
(default a tab), each record ending with ``line.separator``; ``null.literal`` stands for null. On exit
it writes ``Processed a total of N messages`` to standard error.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from typing import Any

from kafkish.cli._common import add_bootstrap, client_config, describe_error, err, fail, key_values, read_properties

TRUE = ("true", "1", "yes")


def add_parsers(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser("console-producer", help="records from standard input")
    add_bootstrap(p, admin_config=False)
    p.add_argument("--topic", required=True)
    p.add_argument("--property", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--producer-property", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--producer.config", dest="producer_config", metavar="FILE")
    p.add_argument("--request-required-acks", default=None)
    p.add_argument("--compression-codec", nargs="?", const="gzip", default=None)
    p.set_defaults(run=produce)

    c: argparse.ArgumentParser = commands.add_parser("console-consumer", help="records to standard output")
    add_bootstrap(c, admin_config=False)
    c.add_argument("--topic", required=True)
    c.add_argument("--group")
    c.add_argument("--from-beginning", action="store_true")
    c.add_argument("--partition", type=int)
    c.add_argument("--offset", default="latest", help="earliest, latest or an offset (with --partition)")
    c.add_argument("--max-messages", type=int)
    c.add_argument("--timeout-ms", type=int)
    c.add_argument("--isolation-level", choices=["read_committed", "read_uncommitted"], default="read_uncommitted")
    c.add_argument("--property", action="append", default=[], metavar="KEY=VALUE")
    c.add_argument("--consumer-property", action="append", default=[], metavar="KEY=VALUE")
    c.add_argument("--consumer.config", dest="consumer_config", metavar="FILE")
    c.set_defaults(run=consume)


def _unescape(text: str) -> str:
    return text.encode("utf-8").decode("unicode_escape") if "\\" in text else text


def produce(args: argparse.Namespace) -> int:
    from confluent_kafka import Producer

    props = {key: _unescape(value) for key, value in key_values(args.property, "--property").items()}
    extra = {**read_properties(args.producer_config), **key_values(args.producer_property, "--producer-property")}
    if args.request_required_acks is not None:
        extra["acks"] = args.request_required_acks
    if args.compression_codec is not None:
        extra["compression.type"] = args.compression_codec
    producer = Producer(client_config(args, extra))
    parse_key = props.get("parse.key", "false").lower() in TRUE
    parse_headers = props.get("parse.headers", "false").lower() in TRUE
    key_separator = props.get("key.separator", "\t")
    headers_delimiter = props.get("headers.delimiter", "\t")
    failures: list[str] = []

    def delivered(error: Any, _message: Any) -> None:
        if error is not None:
            failures.append(error.str())

    for number, raw in enumerate(sys.stdin, 1):
        line = raw.rstrip("\n")
        headers: list[tuple[str, str | bytes | None]] = []
        if parse_headers:
            head, sep, line = line.partition(headers_delimiter)
            if not sep:
                fail(f"No headers delimiter found on line number {number}: '{raw.rstrip()}'")
            for pair in filter(None, head.split(",")):
                name, _, value = pair.partition(":")
                headers.append((name, value.encode()))
        key: str | None = None
        if parse_key:
            key, sep, line = line.partition(key_separator)
            if not sep:
                fail(f"No key separator found on line number {number}: '{raw.rstrip()}'")
        while True:
            try:
                producer.produce(args.topic, value=line.encode(), key=None if key is None else key.encode(),
                                 headers=headers or None, on_delivery=delivered)  # fmt: skip
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    producer.flush(60)
    for failure in failures[:10]:
        err(f"Error when sending message to topic {args.topic}: {failure}")
    return 1 if failures else 0


class Formatter:
    """Kafka's DefaultMessageFormatter."""

    def __init__(self, props: dict[str, str]) -> None:
        self.flags = {
            name: props.get(f"print.{name}", "true" if name == "value" else "false").lower() in TRUE
            for name in ("timestamp", "partition", "offset", "headers", "key", "value")
        }
        self.key_separator = props.get("key.separator", "\t")
        self.line_separator = props.get("line.separator", "\n")
        self.headers_separator = props.get("headers.separator", ",")
        self.headers_key_separator = props.get("headers.key.separator", ":")
        self.null = props.get("null.literal", "null")

    def format(self, message: Any) -> str:
        fields: list[str] = []
        if self.flags["timestamp"]:
            kind, stamp = message.timestamp()
            fields.append({1: f"CreateTime:{stamp}", 2: f"LogAppendTime:{stamp}"}.get(kind, "NO_TIMESTAMP"))
        if self.flags["partition"]:
            fields.append(f"Partition:{message.partition()}")
        if self.flags["offset"]:
            fields.append(f"Offset:{message.offset()}")
        if self.flags["headers"]:
            headers = message.headers() or []
            fields.append(
                self.headers_separator.join(f"{k}{self.headers_key_separator}{self._text(v)}" for k, v in headers)
                or "NO_HEADERS"
            )
        if self.flags["key"]:
            fields.append(self._text(message.key()))
        if self.flags["value"]:
            fields.append(self._text(message.value()))
        return self.key_separator.join(fields) + self.line_separator

    def _text(self, data: bytes | None) -> str:
        return self.null if data is None else data.decode("utf-8", "replace")


def consume(args: argparse.Namespace) -> int:
    from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, KafkaError, TopicPartition

    props = {key: _unescape(value) for key, value in key_values(args.property, "--property").items()}
    extra = {**read_properties(args.consumer_config), **key_values(args.consumer_property, "--consumer-property")}
    group = args.group or extra.get("group.id") or f"console-consumer-{uuid.uuid4().int % 100000}"
    config = {
        "group.id": group,
        "auto.offset.reset": "earliest" if args.from_beginning else "latest",
        "isolation.level": args.isolation_level,
        "enable.partition.eof": False,
        **extra,
    }
    consumer = Consumer(client_config(args, config))
    if args.partition is not None:
        named = {"earliest": OFFSET_BEGINNING, "latest": OFFSET_END}
        offset = named.get(args.offset)
        if offset is None:
            offset = int(args.offset)
        if args.from_beginning:
            offset = OFFSET_BEGINNING
        consumer.assign([TopicPartition(args.topic, args.partition, offset)])
    else:
        consumer.subscribe([args.topic])
    formatter = Formatter(props)
    count = 0
    idle_since = time.monotonic()
    try:
        while args.max_messages is None or count < args.max_messages:
            message = consumer.poll(0.1)
            if message is None:
                if args.timeout_ms is not None and (time.monotonic() - idle_since) * 1000 >= args.timeout_ms:
                    break  # Kafka's tool: no record within --timeout-ms ends the run
                continue
            idle_since = time.monotonic()
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    continue
                err(describe_error(Exception(error)))
                return 1
            sys.stdout.write(formatter.format(message))
            sys.stdout.flush()
            count += 1
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
        err(f"Processed a total of {count} messages")
    return 0
