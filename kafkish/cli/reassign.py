"""``kafkish reassign-partitions``: kafka-reassign-partitions.sh (Kafka 3.x) --execute, --verify, --cancel
and --list with a ``--reassignment-json-file`` (``{"version":1,"partitions":[{"topic":"t","partition":0,
"replicas":[1,2]}]}``).

Output is the Java tool's: ``--execute`` prints the current assignment of the partitions named (as
reassignment JSON, to save for a rollback) then ``Successfully started partition reassignment(s) for
t-0,...``; ``--verify`` prints ``Status of partition reassignment:`` and a line per partition (``is
completed.``, ``is still in progress.`` or ``There is no active reassignment ..., but replica set is ...``),
and once nothing is moving clears the replication throttles of every broker and of the topics
(``Clearing broker-level throttles on brokers 0,1``); ``--list`` prints ``Current partition
reassignments:`` with a line per partition, or ``No partition reassignments found.``.

``--generate`` proposes a plan for ``--topics-to-move-json-file`` over ``--broker-list`` (those of them in
the cluster) with Kafka's own assignment (``kafkish.assignment``, the broker controller's code) from a
random start: rack-aware when the brokers have racks (from DescribeCluster), unless
``--disable-rack-aware``; some brokers with a rack and some without is Kafka's error. ``--execute
--throttle N`` first sets the moving replicas' throttled replica lists on their topics and the rates on
the brokers involved, as Kafka's tool does (``reassign_throttle``). Not here:
``--replica-alter-log-dirs-throttle`` and moves between log directories (``log_dirs`` other than ``any``).
Reassignments go through kafka-python (librdkafka has no AlterPartitionReassignments); throttles are cleared
through confluent-kafka.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, NoReturn

from kafkish.assignment import AssignmentError, BrokerRack, assign_replicas
from kafkish.cli import reassign_throttle
from kafkish.cli._common import ToolError, add_bootstrap, admin, admin_names, out, result
from kafkish.cli._kafka_python import admin_client, message

BROKER_THROTTLES = (
    "leader.replication.throttled.rate",
    "follower.replication.throttled.rate",
    "replica.alter.log.dirs.io.max.bytes.per.second",
)
TOPIC_THROTTLES = ("leader.replication.throttled.replicas", "follower.replication.throttled.replicas")
EXISTING = (
    "Cannot execute because there is an existing partition assignment.  Use --additional to override this and "
    "create a new partition assignment in addition to the existing one. The --additional flag can also be used "
    "to change the throttle by resubmitting the current reassignment."
)

Plan = dict[tuple[str, int], list[int]]


def add_parser(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser("reassign-partitions", help="move partitions between brokers")
    add_bootstrap(p)
    action = p.add_mutually_exclusive_group(required=True)
    for name in ("generate", "execute", "verify", "cancel", "list"):
        action.add_argument(f"--{name}", action="store_true")
    p.add_argument("--reassignment-json-file", metavar="FILE")
    p.add_argument("--topics-to-move-json-file", metavar="FILE", help='{"version":1,"topics":[{"topic":"t"}]}')
    p.add_argument("--broker-list", metavar="0,1,2", help="with --generate: the brokers to spread replicas over")
    p.add_argument("--disable-rack-aware", action="store_true", help="with --generate: ignore the brokers' racks")
    p.add_argument(
        "--throttle", type=int, default=-1, metavar="BYTES/S",
        help="with --execute: throttle replication between brokers for the moving replicas to this rate",
    )  # fmt: skip
    p.add_argument("--additional", action="store_true", help="--execute while other reassignments run")
    p.add_argument("--preserve-throttles", action="store_true")
    p.set_defaults(run=run)


def _fail(text: str) -> NoReturn:
    raise ToolError(text, prefix="")


def run(args: argparse.Namespace) -> int:
    from kafka.errors import KafkaError

    client = admin_client(args)
    try:
        if args.list:
            _list(client)
            return 0
        if args.generate:
            _generate(client, args)
            return 0
        if not args.reassignment_json_file:
            _fail('Missing required argument "[reassignment-json-file]"')
        plan = _read_plan(args.reassignment_json_file)
        if args.execute:
            _execute(client, args, plan)
        elif args.verify:
            _verify(client, args, plan)
        else:
            _cancel(client, args, plan)
    except KafkaError as exc:
        raise ToolError(f"{message(exc)} ({exc.message})") from exc
    return 0


def _tp(topic: str, partition: int) -> Any:
    from kafka import TopicPartition

    return TopicPartition(topic, partition)


def _read_plan(path: str) -> Plan:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as exc:
        raise ToolError(f"cannot read {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise ToolError(f"{path} is not JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("partitions"), list):
        _fail("Partition reassignment list cannot be empty")
    plan: Plan = {}
    for entry in data["partitions"]:
        key = (str(entry["topic"]), int(entry["partition"]))
        if key in plan:
            _fail(f"Partition reassignment contains duplicate topic partitions: {key[0]}-{key[1]}")
        replicas = [int(r) for r in entry["replicas"]]
        if len(set(replicas)) != len(replicas):
            _fail(f"Partition replica lists may not contain duplicate entries: {key[0]}-{key[1]} contains multiple "
                  f"entries for {sorted({r for r in replicas if replicas.count(r) > 1})}")  # fmt: skip
        if any(d != "any" for d in entry.get("log_dirs", [])):
            _fail("kafkish reassign-partitions does not move replicas between log directories (log_dirs)")
        plan[key] = replicas
    if not plan:
        _fail("Partition reassignment list cannot be empty")
    return dict(sorted(plan.items()))


def _as_json(plan: Plan) -> str:
    partitions = [
        {"topic": t, "partition": p, "replicas": replicas, "log_dirs": ["any"] * len(replicas)}
        for (t, p), replicas in sorted(plan.items())
    ]
    return json.dumps({"version": 1, "partitions": partitions}, separators=(",", ":"))


def _names(parts: list[tuple[str, int]]) -> str:
    return ",".join(f"{t}-{p}" for t, p in sorted(parts))


def _reassigning(client: Any) -> dict[tuple[str, int], dict[str, list[int]]]:
    return {(tp.topic, tp.partition): state for tp, state in client.list_partition_reassignments().items()}


def _current_replicas(client: Any, topics: set[str]) -> Plan:
    from kafka.errors import for_code

    found: Plan = {}
    for topic in client.describe_topics(sorted(topics)):
        if topic.get("error_code"):
            raise for_code(topic["error_code"])(f"Topic {topic['name']}")
        for partition in topic["partitions"]:
            found[(topic["name"], partition["partition_index"])] = list(partition["replica_nodes"])
    return found


def _broker_ids(client: Any) -> set[int]:
    return {int(b["broker_id"]) for b in client.describe_cluster()["brokers"]}


def _list(client: Any) -> None:
    lines = []
    for (t, p), state in sorted(_reassigning(client).items()):
        line = f"{t}-{p}: replicas: {','.join(map(str, state['replicas']))}."
        if state.get("adding_replicas"):
            line += f" adding: {','.join(map(str, state['adding_replicas']))}."
        if state.get("removing_replicas"):
            line += f" removing: {','.join(map(str, state['removing_replicas']))}."
        lines.append(line)
    out("Current partition reassignments:\n" + "\n".join(lines) if lines else "No partition reassignments found.")


def _execute(client: Any, args: argparse.Namespace, plan: Plan) -> None:
    running = _reassigning(client)
    if not args.additional and running:
        _fail(EXISTING)
    brokers = _broker_ids(client)
    unknown = [b for replicas in plan.values() for b in replicas if b not in brokers]
    if unknown:
        raise ToolError(f"Unknown broker id {unknown[0]}")
    current = _current_replicas(client, {t for t, _ in plan})
    missing = [key for key in plan if key not in current]
    if missing:
        _fail(f"Topic {missing[0][0]} not found" if all(t != missing[0][0] for t, _ in current)
              else f"Unable to find partition: {missing[0][0]}-{missing[0][1]}")  # fmt: skip
    now = {key: current[key] for key in plan}
    out(f"Current partition replica assignment\n\n{_as_json(now)}\n\n"
        "Save this to use as the --reassignment-json-file option during rollback")  # fmt: skip
    if args.throttle >= 0:
        out(reassign_throttle.VERIFY_WARNING)
        reassign_throttle.apply(args, reassign_throttle.proposed_moves(running, plan, now), args.throttle)
    errors = client.alter_partition_reassignments({_tp(t, p): replicas for (t, p), replicas in plan.items()})
    failed = sorted((tp.topic, tp.partition, error) for tp, error in errors.items() if error is not None)
    if failed:
        _fail(
            "Error reassigning partition(s):\n" + "\n".join(f"{t}-{p}: {error.description}" for t, p, error in failed)
        )
    out(f"Successfully started partition reassignment{'' if len(plan) == 1 else 's'} for {_names(list(plan))}")


def _generate(client: Any, args: argparse.Namespace) -> None:
    """Kafka's proposal: each topic's partitions spread over ``--broker-list`` (those of them in the
    cluster) with its current replication factor, by Kafka's assignment from a random start."""
    if not args.topics_to_move_json_file or not args.broker_list:
        _fail('Missing required argument "[topics-to-move-json-file, broker-list]"')
    try:
        wanted = [int(b) for b in args.broker_list.split(",")]
    except ValueError:
        _fail(f"--broker-list expects broker ids separated by commas, got {args.broker_list}")
    twice = sorted({b for b in wanted if wanted.count(b) > 1})
    if twice:
        raise ToolError(f"Broker list contains duplicate entries: [{', '.join(map(str, twice))}]")
    try:
        with open(args.topics_to_move_json_file, encoding="utf-8") as f:
            data = json.load(f)
        topics = [str(t["topic"]) for t in data.get("topics", [])]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ToolError(f"cannot read {args.topics_to_move_json_file}: {exc}") from exc
    if data.get("version", 1) != 1:
        _fail(f"Not supported version field value {data['version']}")
    repeated = sorted({t for t in topics if topics.count(t) > 1})
    if repeated:
        raise ToolError(f"List of topics to reassign contains duplicate entries: [{', '.join(repeated)}]")
    current = _current_replicas(client, set(topics))
    brokers = broker_racks(client.describe_cluster()["brokers"], wanted, rack_aware=not args.disable_rack_aware)
    try:
        proposed = propose(current, brokers)
    except AssignmentError as exc:
        raise ToolError(str(exc)) from None
    out(f"Current partition replica assignment\n{_as_json(current)}\n")
    out(f"Proposed partition reassignment configuration\n{_as_json(proposed)}")


def broker_racks(described: list[dict[str, Any]], wanted: list[int], rack_aware: bool) -> list[BrokerRack]:
    """Kafka's ``getBrokerMetadata``: the brokers of ``wanted`` that DescribeCluster lists (by id), with
    their racks when ``rack_aware``; only some of them with a rack is an error."""
    chosen = set(wanted)
    brokers = sorted(
        (
            BrokerRack(int(b["broker_id"]), b.get("rack") if rack_aware else None)
            for b in described
            if int(b["broker_id"]) in chosen
        ),
        key=lambda b: b.id,
    )
    rackless = sum(1 for b in brokers if b.rack is None)
    if rack_aware and 0 < rackless < len(brokers):
        raise ToolError(
            "Not all brokers have rack information. Add --disable-rack-aware in command line to make replica "
            "assignment without rack information."
        )
    return brokers


def propose(current: Plan, brokers: list[BrokerRack], fixed_start_index: int = -1) -> Plan:
    """Kafka's ``calculateAssignment``: each topic's partitions over ``brokers`` with the replication
    factor of its first partition, from a random start (``fixed_start_index``: that one, for tests).
    Raises AssignmentError."""
    proposed: Plan = {}
    for topic in sorted({t for t, _ in current}):
        partitions = sorted(p for t, p in current if t == topic)
        factor = len(current[(topic, partitions[0])])
        plan = assign_replicas(brokers, len(partitions), factor, fixed_start_index=fixed_start_index)
        for index, replicas in enumerate(plan):
            proposed[(topic, index)] = replicas
    return proposed


def _verify(client: Any, args: argparse.Namespace, plan: Plan) -> None:
    moving = _reassigning(client)
    current = _current_replicas(client, {t for t, _ in plan})
    lines = ["Status of partition reassignment:"]
    for (t, p), target in sorted(plan.items()):
        if (t, p) in moving:
            lines.append(f"Reassignment of partition {t}-{p} is still in progress.")
        elif current.get((t, p)) == target:
            lines.append(f"Reassignment of partition {t}-{p} is completed.")
        else:
            now = ",".join(map(str, current.get((t, p), [])))
            lines.append(f"There is no active reassignment of partition {t}-{p}, but replica set is {now} rather "
                         f"than {','.join(map(str, target))}.")  # fmt: skip
    out("\n".join(lines))
    out()  # the (empty) status of moves between log directories
    if not moving and not args.preserve_throttles:
        _clear_throttles(args, client, plan)


def _cancel(client: Any, args: argparse.Namespace, plan: Plan) -> None:
    moving = _reassigning(client)
    active = [key for key in plan if key in moving and (not moving[key].get("adding_replicas")
                                                      or moving[key].get("removing_replicas"))]  # fmt: skip
    if active:
        errors = client.alter_partition_reassignments({_tp(t, p): None for t, p in active})
        failed = sorted((tp.topic, tp.partition, error) for tp, error in errors.items() if error is not None)
        if failed:
            _fail(f"Error cancelling partition reassignment{'' if len(failed) == 1 else 's'} for:\n"
                  + "\n".join(f"{t}-{p}: {error.description}" for t, p, error in failed))  # fmt: skip
        out(f"Successfully cancelled partition reassignment{'' if len(active) == 1 else 's'} for: {_names(active)}")
    else:
        out("None of the specified partition reassignments are active.")
    sys.stdout.write("None of the specified partition moves are active.")  # print, not println, in Kafka's tool
    if not args.preserve_throttles:
        _clear_throttles(args, client, plan)


def _clear_throttles(args: argparse.Namespace, client: Any, plan: Plan) -> None:
    """Delete the replication throttles of every broker and of the plan's topics, as Kafka's tool does once
    nothing moves (it cannot tell which brokers a finished reassignment throttled)."""
    live = _broker_ids(client)
    brokers = sorted(live | {b for r in plan.values() for b in r})
    topics = sorted({t for t, _ in plan})
    resource, resource_type, config_entry, op_type = admin_names(
        "ConfigResource", "ResourceType", "ConfigEntry", "AlterConfigOpType"
    )

    def deletions(names: tuple[str, ...]) -> list[Any]:
        return [config_entry(name, None, incremental_operation=op_type.DELETE) for name in names]

    confluent = admin(args)
    out(f"Clearing broker-level throttles on broker{'' if len(brokers) == 1 else 's'} {','.join(map(str, brokers))}")
    for broker in brokers:  # librdkafka takes one broker resource per call; an unknown broker has none to clear
        if broker in live:
            alter = [resource(resource_type.BROKER, str(broker), incremental_configs=deletions(BROKER_THROTTLES))]
            for future in confluent.incremental_alter_configs(alter).values():
                result(future)
    out(f"Clearing topic-level throttles on topic{'' if len(topics) == 1 else 's'} {','.join(topics)}")
    resources = [resource(resource_type.TOPIC, t, incremental_configs=deletions(TOPIC_THROTTLES)) for t in topics]
    for future in confluent.incremental_alter_configs(resources).values():
        result(future)
