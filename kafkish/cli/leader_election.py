"""``kafkish leader-election``: kafka-leader-election.sh (Kafka 3.x).

``--election-type preferred|unclean`` and exactly one of ``--topic T --partition P``,
``--all-topic-partitions`` or ``--path-to-json-file F`` (``{"partitions": [{"topic": "t", "partition": 0}]}``).
Prints what the Java tool prints: ``Successfully completed leader election (PREFERRED) for partitions t-0,
t-1``, ``Valid replica already elected for partitions t-2`` (ELECTION_NOT_NEEDED), and for each failed
partition ``Error completing leader election (PREFERRED) for partition: t-3:
org.apache.kafka.common.errors.<Exception>: <message>``, then ``N replica(s) could not be elected`` on
standard error and exit code 1. With ``--all-topic-partitions`` the broker leaves out the partitions that
need no election, so nothing may be printed.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from kafkish.cli._common import ToolError, admin, describe_error, out, read_properties

# Kafka's exception classes of the errors an election answers whose names do not follow from the error's
ELECTION_NOT_NEEDED = 84
EXCEPTIONS = {
    3: "UnknownTopicOrPartitionException",
    41: "NotControllerException",
    80: "PreferredLeaderNotAvailableException",
    83: "EligibleLeadersNotAvailableException",
    7: "TimeoutException",
    31: "ClusterAuthorizationException",
}


def add_parser(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser("leader-election", help="elect preferred or unclean leaders")
    p.add_argument("--bootstrap-server", metavar="HOST:PORT", help="the broker(s) to connect to")
    p.add_argument("--admin.config", "--command-config", dest="command_config", metavar="FILE",
                   help="admin client properties")  # fmt: skip
    p.add_argument("--election-type", metavar="preferred|unclean")
    p.add_argument("--topic")
    p.add_argument("--partition", type=int)
    p.add_argument("--all-topic-partitions", action="store_true")
    p.add_argument("--path-to-json-file", metavar="FILE")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    election = _validate(args)
    wanted: list[tuple[str, int]] | None = None
    if args.path_to_json_file:
        wanted = _from_json(args.path_to_json_file)
    elif args.topic is not None:
        wanted = [(args.topic, args.partition)]
    read_properties(args.command_config)  # an unreadable file fails before connecting
    import confluent_kafka

    client = admin(args)
    partitions = None if wanted is None else [confluent_kafka.TopicPartition(t, p) for t, p in wanted]
    kind = confluent_kafka.ElectionType[election]
    try:
        results = client.elect_leaders(kind, partitions).result(30.0)
    except Exception as exc:
        error = exc.args[0] if exc.args else None
        if getattr(error, "code", lambda: None)() == 31:
            out("Not authorized to perform leader election")
        elif isinstance(exc, TimeoutError):
            out("Timeout waiting for election results")
        raise ToolError(describe_error(exc)) from exc
    done, noop, failed = [], [], []
    for tp, error in sorted(results.items(), key=lambda item: (item[0].topic, item[0].partition)):
        name = f"{tp.topic}-{tp.partition}"
        if error is None:
            done.append(name)
        elif error.code() == ELECTION_NOT_NEEDED:
            noop.append(name)
        else:
            failed.append((name, error))
    if done:
        out(f"Successfully completed leader election ({election}) for partitions {', '.join(done)}")
    if noop:
        out(f"Valid replica already elected for partitions {', '.join(noop)}")
    for name, error in failed:
        out(f"Error completing leader election ({election}) for partition: {name}: {_exception(error)}")
    if failed:
        raise ToolError(f"{len(failed)} replica(s) could not be elected", prefix="")
    return 0


def _validate(args: argparse.Namespace) -> str:
    """The Java tool's checks and messages; the election type in capitals."""
    missing = [flag for flag, value in (("bootstrap-server", args.bootstrap_server),
                                        ("election-type", args.election_type)) if not value]  # fmt: skip
    if missing:
        raise ToolError(f"Missing required option(s): {', '.join(missing)}", prefix="")
    election = str(args.election_type).upper()
    if election not in ("PREFERRED", "UNCLEAN"):
        raise ToolError(f"Value [{args.election_type}] is not one of [PREFERRED, UNCLEAN]", prefix="")
    chosen = [args.topic is not None, args.all_topic_partitions, args.path_to_json_file is not None]
    if sum(chosen) != 1:
        raise ToolError(
            "One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file",
            prefix="",
        )
    if args.topic is not None and args.partition is None:
        raise ToolError("Missing required option(s): partition", prefix="")
    if args.topic is None and args.partition is not None:
        raise ToolError("Option partition is only allowed if topic is used", prefix="")
    return election


def _from_json(path: str) -> list[tuple[str, int]]:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise ToolError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        data = json.loads(text) if text.strip() else None
    except ValueError as exc:
        raise ToolError(f"{path} is not JSON: {exc}") from exc
    if data is None:
        raise ToolError("Replica election data is empty", prefix="")
    if not isinstance(data, dict) or "partitions" not in data:
        raise ToolError('Replica election data is missing "partitions" field', prefix="")
    try:
        wanted = [(str(p["topic"]), int(p["partition"])) for p in data["partitions"]]
    except (TypeError, KeyError, ValueError) as exc:
        raise ToolError(f"Replica election data is malformed: {exc}", prefix="") from exc
    duplicates = sorted({f"{t}-{p}" for t, p in wanted if wanted.count((t, p)) > 1})
    if duplicates:
        raise ToolError(f"Replica election data contains duplicate partitions: [{', '.join(duplicates)}]", prefix="")
    return list(dict.fromkeys(wanted))


def _exception(error: Any) -> str:
    """A partition's error as the Java tool prints the exception: class name and message."""
    code = error.code()
    name = EXCEPTIONS.get(code)
    if name is None:
        words = error.name().split("_")
        if words[-2:] == ["AUTHORIZATION", "FAILED"]:
            words[-1] = ""
        name = "".join(w.capitalize() for w in words if w not in ("EXCEPTION",)) + "Exception"
    text = str(error.str())
    return f"org.apache.kafka.common.errors.{name}: {text}"
