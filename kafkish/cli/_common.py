"""What every ``kafkish`` tool shares: the admin client, Kafka's ``--command-config`` properties files,
and turning a client library's error into one plain line and exit code 1, as Kafka's scripts do.

Admin calls are bounded as in Kafka's admin client: by ``default.api.timeout.ms`` (60000 unless the
``--command-config`` file says otherwise). A call that finds no broker in that time fails with Kafka's
``Timed out waiting for a node assignment. Call: <call>``. librdkafka has no such property, so it is
taken out of the properties before they reach the client library.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from typing import Any, NoReturn


class ToolError(Exception):
    """A failure the tool reports in one line (``Error: ...`` or the tool's own prefix) before exiting with 1."""

    def __init__(self, message: str, prefix: str = "Error: ") -> None:
        super().__init__(message)
        self.prefix = prefix


def fail(message: str) -> NoReturn:
    raise ToolError(message)


def read_properties(path: str | None) -> dict[str, str]:
    """A Java properties file (``key=value`` or ``key: value`` lines, ``#``/``!`` comments)."""
    if path is None:
        return {}
    props: dict[str, str] = {}
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")
    for raw in lines:
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        cut = min((i for i in (line.find("="), line.find(":")) if i >= 0), default=-1)
        if cut < 0:
            props[line] = ""
        else:
            props[line[:cut].strip()] = line[cut + 1 :].strip()
    return props


def key_values(items: Iterable[str], what: str) -> dict[str, str]:
    """``key=value`` arguments (``--property``, ``--config``, ``--producer-property``)."""
    props: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            fail(f"{what} expects key=value, got {item!r}")
        props[key] = value
    return props


DEFAULT_API_TIMEOUT_MS = 60000  # Kafka's AdminClientConfig default for default.api.timeout.ms
_JAVA_ONLY = ("default.api.timeout.ms",)  # Java client properties librdkafka would reject


def client_config(args: argparse.Namespace, extra: dict[str, str] | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {"bootstrap.servers": args.bootstrap_server, "log_level": 0}
    config.update(read_properties(getattr(args, "command_config", None)))
    config.update(extra or {})
    for key in _JAVA_ONLY:
        config.pop(key, None)
    return config


def api_timeout(args: argparse.Namespace) -> float:
    """``default.api.timeout.ms`` of the ``--command-config`` file (Kafka's default otherwise), in seconds."""
    value = read_properties(getattr(args, "command_config", None)).get("default.api.timeout.ms")
    try:
        ms = DEFAULT_API_TIMEOUT_MS if value is None else int(value)
    except ValueError:
        fail(f"Invalid value {value} for configuration default.api.timeout.ms: Not a number of type INT")
    if ms < 0:
        fail(f"Invalid value {ms} for configuration default.api.timeout.ms: Value must be at least 0")
    return ms / 1000


def list_topics(client: Any, args: argparse.Namespace, prefix: str = "Error: ") -> Any:
    """The cluster's topics (``ClusterMetadata``) within the API timeout, or Kafka's error for no broker."""
    try:
        return client.list_topics(timeout=api_timeout(args))
    except Exception as exc:  # KafkaException: _TRANSPORT or _TIMED_OUT when no broker answered in time
        code = getattr(exc.args[0] if exc.args else None, "code", None)
        if callable(code) and code() in _no_broker_codes():
            raise ToolError("Timed out waiting for a node assignment. Call: listTopics", prefix) from None
        raise ToolError(describe_error(exc), prefix) from None


def _no_broker_codes() -> frozenset[int]:
    from confluent_kafka import KafkaError

    return frozenset((KafkaError._TRANSPORT, KafkaError._TIMED_OUT, KafkaError._ALL_BROKERS_DOWN))


def admin_names(*names: str) -> tuple[Any, ...]:
    """Classes of ``confluent_kafka.admin``, looked up by name: its type hints re-export them implicitly."""
    import confluent_kafka.admin

    return tuple(getattr(confluent_kafka.admin, name) for name in names)


def admin(args: argparse.Namespace) -> Any:
    (admin_client,) = admin_names("AdminClient")
    return admin_client(client_config(args))


def add_bootstrap(parser: argparse.ArgumentParser, admin_config: bool = True) -> None:
    parser.add_argument("--bootstrap-server", required=True, metavar="HOST:PORT", help="the broker(s) to connect to")
    if admin_config:
        parser.add_argument("--command-config", metavar="FILE", help="admin client properties")


def result(future: Any, timeout: float = 30.0) -> Any:
    """A client library future's result, its error turned into a ToolError."""
    try:
        return future.result(timeout)
    except Exception as exc:  # confluent-kafka raises KafkaException (or KafkaError) with the broker's error
        fail(describe_error(exc))


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError) and not str(exc):
        return "no answer from the brokers in time (is the bootstrap server reachable? try: kafkish doctor)"
    error = exc.args[0] if exc.args else exc
    name = getattr(error, "name", None)
    text = getattr(error, "str", None)
    if callable(name) and callable(text):  # a KafkaError: Kafka's exception name and the broker's message
        return f"{text()} ({name()})"
    return str(exc)


def out(line: str = "") -> None:
    sys.stdout.write(line + "\n")


def err(line: str) -> None:
    sys.stderr.write(line + "\n")
