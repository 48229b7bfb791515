"""``kafkish acls``: kafka-acls.sh (Kafka 3.x, ``--bootstrap-server`` mode) --add, --remove, --list.

Resources come from ``--topic``/``--group``/``--transactional-id`` (repeatable) and ``--cluster`` (the
resource ``kafka-cluster``), each with ``--resource-pattern-type`` (``literal`` by default; ``prefixed``
when adding; ``any`` and ``match`` only when listing or removing). Entries are every combination of the
principals (``--allow-principal``/``--deny-principal``), their hosts (``--allow-host``/``--deny-host``,
``*`` by default) and the operations (``--operation``, repeatable, ``All`` by default); ``--producer`` and
``--consumer`` stand for Kafka's sets (WRITE, DESCRIBE, CREATE on topics and WRITE, DESCRIBE on
transactional ids; READ, DESCRIBE on topics and READ on groups; ``--idempotent`` adds IDEMPOTENT_WRITE
on the cluster).

Output is the Java tool's: for each resource ``Adding ACLs for resource `ResourcePattern(...)`: `` then
the entries, one per line after a tab, as ``(principal=User:alice, host=*, operation=READ,
permissionType=ALLOW)``, then the same for ``Current ACLs for resource`` after every action (only
resources that have ACLs are listed). ``--remove`` asks before deleting unless ``--force``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kafkish.cli._common import ToolError, add_bootstrap, admin, admin_names, out, result
from kafkish.cli._kafka_python import admin_client, message

CLUSTER_NAME = "kafka-cluster"
OPERATIONS = (
    "ALL", "READ", "WRITE", "CREATE", "DELETE", "ALTER", "DESCRIBE", "CLUSTER_ACTION", "DESCRIBE_CONFIGS",
    "ALTER_CONFIGS", "IDEMPOTENT_WRITE",
)  # fmt: skip
# AclEntry.supportedOperations of Kafka, per resource type (ALL is valid everywhere)
SUPPORTED = {
    "TOPIC": ("READ", "WRITE", "CREATE", "DESCRIBE", "DELETE", "ALTER", "DESCRIBE_CONFIGS", "ALTER_CONFIGS"),
    "GROUP": ("READ", "DESCRIBE", "DELETE"),
    "CLUSTER": ("CREATE", "CLUSTER_ACTION", "DESCRIBE_CONFIGS", "ALTER_CONFIGS", "IDEMPOTENT_WRITE", "ALTER",
                "DESCRIBE"),
    "TRANSACTIONAL_ID": ("DESCRIBE", "WRITE"),
}  # fmt: skip
PATTERN_TYPES = ("LITERAL", "PREFIXED", "MATCH", "ANY")


@dataclass(frozen=True)
class Pattern:
    """A resource pattern (add) or pattern filter (list, remove): Kafka's ResourcePattern(Filter)."""

    resource_type: str
    name: str
    pattern_type: str

    def text(self) -> str:
        """Kafka's ResourcePattern.toString (its ResourcePatternFilter prints the same)."""
        return f"ResourcePattern(resourceType={self.resource_type}, name={self.name}, patternType={self.pattern_type})"


@dataclass(frozen=True)
class Entry:
    """An access control entry, printed as Kafka's AccessControlEntry."""

    principal: str
    host: str
    operation: str
    permission: str

    def __str__(self) -> str:
        return (
            f"(principal={self.principal}, host={self.host}, operation={self.operation}, "
            f"permissionType={self.permission})"
        )


def usage(message: str) -> ToolError:
    return ToolError(message, prefix="")


def add_parser(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser("acls", help="add, remove, list ACLs")
    add_bootstrap(p)
    action = p.add_mutually_exclusive_group(required=True)
    action.add_argument("--add", action="store_true")
    action.add_argument("--remove", action="store_true")
    action.add_argument("--list", action="store_true")
    p.add_argument("--topic", action="append", default=[])
    p.add_argument("--group", action="append", default=[])
    p.add_argument("--transactional-id", action="append", default=[])
    p.add_argument("--cluster", action="store_true")
    p.add_argument("--resource-pattern-type", default="literal", metavar="|".join(t.lower() for t in PATTERN_TYPES))
    p.add_argument("--operation", action="append", default=[])
    p.add_argument("--allow-principal", action="append", default=[])
    p.add_argument("--deny-principal", action="append", default=[])
    p.add_argument("--allow-host", action="append", default=[])
    p.add_argument("--deny-host", action="append", default=[])
    p.add_argument("--principal", action="append", default=[], help="with --list: only this principal's ACLs")
    p.add_argument("--producer", action="store_true")
    p.add_argument("--consumer", action="store_true")
    p.add_argument("--idempotent", action="store_true")
    p.add_argument("--force", action="store_true", help="remove without asking")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    _check(args)
    try:
        _run(admin(args), args)
    except ToolError as exc:
        if exc.prefix != "Error: ":
            raise
        raise ToolError(str(exc), prefix="Error while executing ACL command: ") from exc
    return 0


def _run(client: Any, args: argparse.Namespace) -> None:
    if args.add:
        patterns = _patterns_to_entries(args)
        if args.resource_pattern_type.upper() not in ("LITERAL", "PREFIXED"):
            raise usage(
                f"A '--resource-pattern-type' value of '{args.resource_pattern_type.upper()}' is not valid "
                "when adding acls."
            )
        if any(not entries for entries in patterns.values()):
            raise usage("You must specify one of: --allow-principal, --deny-principal when trying to add ACLs.")
        for pattern, entries in patterns.items():
            out(f"Adding ACLs for resource `{pattern.text()}`: \n {_lines(entries)} \n")
            futures = client.create_acls([_binding(pattern, entry) for entry in entries])
            for future in futures.values():
                result(future)
    elif args.remove:
        for pattern, entries in _patterns_to_entries(args).items():
            if entries:
                question = (
                    f"Are you sure you want to remove ACLs: \n {_lines(entries)} \n from resource filter "
                    f"`{pattern.text()}`? (y/n)"
                )
            else:
                question = f"Are you sure you want to delete all ACLs for resource filter `{pattern.text()}`? (y/n)"
            if args.force or _confirm(question):
                filters = [_filter(pattern, entry) for entry in entries] or [_filter(pattern, None)]
                for future in client.delete_acls(filters).values():
                    result(future)
    _list(args)


def _check(args: argparse.Namespace) -> None:
    """The Java tool's argument checks, with its messages."""
    if args.resource_pattern_type.upper() not in PATTERN_TYPES:
        raise usage(f"Unknown resource-pattern-type: {args.resource_pattern_type}")
    for operation in args.operation:
        _operation(operation)
    if args.list and (args.producer or args.consumer or args.allow_host or args.allow_principal or args.deny_host
                      or args.deny_principal):  # fmt: skip
        raise usage("Option \"[list]\" can't be used with option \"[producer, consumer, allow-host, "
                    "allow-principal, deny-host, deny-principal]\"")  # fmt: skip
    for convenience in ("producer", "consumer"):
        if getattr(args, convenience) and (args.operation or args.deny_principal or args.deny_host):
            raise usage(f'Option "[{convenience}]" can\'t be used with option "[operation, deny-principal, deny-host]"')
    if args.principal and not args.list:
        raise usage("The --principal option is only available if --list is set")
    if args.producer and not args.topic:
        raise usage("With --producer you must specify a --topic")
    if args.idempotent and not args.producer:
        raise usage("The --idempotent option is only available if --producer is set")
    if args.consumer and (
        not args.topic or not args.group or (not args.producer and (args.cluster or args.transactional_id))
    ):
        raise usage(
            "With --consumer you must specify a --topic and a --group and no --cluster or --transactional-id "
            "option should be specified."
        )


def _operation(name: str) -> str:
    wanted = name.strip().replace("_", "").lower()
    for operation in OPERATIONS:
        if operation.replace("_", "").lower() == wanted:
            return operation
    raise usage(f"Unknown operation: {name}")


def _operation_name(operation: str) -> str:
    return "".join(part.capitalize() for part in operation.split("_"))


def _principal(text: str) -> str:
    kind, sep, name = text.strip().partition(":")
    if not sep or not kind or not name:
        raise usage(f"expected a string in format principalType:principalName but got {text.strip()}")
    return f"{kind}:{name}"


def _resources(args: argparse.Namespace, required: bool = True) -> list[Pattern]:
    kind = args.resource_pattern_type.upper()
    patterns = [Pattern("TOPIC", t.strip(), kind) for t in args.topic]
    if kind == "LITERAL" and (args.cluster or args.idempotent):
        patterns.append(Pattern("CLUSTER", CLUSTER_NAME, "LITERAL"))
    patterns += [Pattern("GROUP", g.strip(), kind) for g in args.group]
    patterns += [Pattern("TRANSACTIONAL_ID", t, kind) for t in args.transactional_id]
    if not patterns and required:
        raise usage("You must provide at least one resource: --topic <topic> or --cluster or --group <group> or "
                    "--delegation-token <Delegation Token ID>")  # fmt: skip
    return list(dict.fromkeys(patterns))


def _entries(args: argparse.Namespace, operations: Iterable[str]) -> list[Entry]:
    ops = list(dict.fromkeys(operations))
    entries: list[Entry] = []
    for principals, hosts, permission in (
        (args.allow_principal, args.allow_host, "ALLOW"),
        (args.deny_principal, args.deny_host, "DENY"),
    ):
        for principal in dict.fromkeys(_principal(p) for p in principals):
            for operation in ops:
                for host in dict.fromkeys(h.strip() for h in hosts or ["*"]):
                    entries.append(Entry(principal, host, operation, permission))
    return entries


def _patterns_to_entries(args: argparse.Namespace) -> dict[Pattern, list[Entry]]:
    out_: dict[Pattern, list[Entry]] = {}
    if not args.producer and not args.consumer:
        entries = _entries(args, [_operation(o) for o in args.operation] or ["ALL"])
        out_.update((pattern, list(entries)) for pattern in _resources(args))
    if args.producer:
        for pattern in _resources(args):
            if pattern.resource_type == "TOPIC":
                out_[pattern] = _entries(args, ("WRITE", "DESCRIBE", "CREATE"))
            elif pattern.resource_type == "TRANSACTIONAL_ID":
                out_[pattern] = _entries(args, ("WRITE", "DESCRIBE"))
        if args.idempotent:
            out_[Pattern("CLUSTER", CLUSTER_NAME, "LITERAL")] = _entries(args, ("IDEMPOTENT_WRITE",))
    if args.consumer:
        for pattern in _resources(args):
            ops = {"TOPIC": ("READ", "DESCRIBE"), "GROUP": ("READ",)}.get(pattern.resource_type)
            if ops is not None:
                out_[pattern] = list(dict.fromkeys(_entries(args, ops) + out_.get(pattern, [])))
    for pattern, entries in out_.items():
        valid = (*SUPPORTED[pattern.resource_type], "ALL")
        if any(entry.operation not in valid for entry in entries):
            raise usage(f"ResourceType {pattern.resource_type} only supports operations "
                        f"{', '.join(_operation_name(o) for o in valid)}")  # fmt: skip
    return out_


def _list(args: argparse.Namespace) -> None:
    """DescribeAcls through kafka-python: librdkafka drops that response's top-level error (a principal
    without DESCRIBE on the cluster would see an empty list where Kafka's tool fails)."""
    from kafka.admin import ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourcePatternFilter
    from kafka.admin import ResourceType as KafkaPythonResourceType
    from kafka.errors import KafkaError

    patterns: list[Pattern | None] = [*_resources(args, required=False)] or [None]
    client = admin_client(args)
    acls: dict[Pattern, list[Entry]] = {}
    for pattern in patterns:
        wanted = ResourcePatternFilter(
            KafkaPythonResourceType[pattern.resource_type] if pattern else KafkaPythonResourceType.ANY,
            pattern.name if pattern else None,
            ACLResourcePatternType[pattern.pattern_type] if pattern else ACLResourcePatternType.ANY,
        )
        try:
            found, _ = client.describe_acls(ACLFilter(None, None, ACLOperation.ANY, ACLPermissionType.ANY, wanted))
        except KafkaError as exc:
            raise ToolError(f"{exc.args[0] if exc.args and exc.args[0] else message(exc)} ({exc.message})") from exc
        for binding in found:
            resource = binding.resource_pattern
            key = Pattern(resource.resource_type.name, resource.resource_name, resource.pattern_type.name)
            entry = Entry(binding.principal, binding.host, binding.operation.name, binding.permission_type.name)
            if entry not in acls.setdefault(key, []):
                acls[key].append(entry)
    if not args.principal:
        _print_current(acls)
        return
    for principal in dict.fromkeys(_principal(p) for p in args.principal):
        out(f"ACLs for principal `{principal}`")
        mine = {p: [e for e in entries if e.principal == principal] for p, entries in acls.items()}
        _print_current({p: entries for p, entries in mine.items() if entries})


def _print_current(acls: dict[Pattern, list[Entry]]) -> None:
    for pattern, entries in acls.items():
        out(f"Current ACLs for resource `{pattern.text()}`: \n {_lines(entries)} \n")


def _lines(entries: list[Entry]) -> str:
    return "\n".join(f"\t{entry}" for entry in entries)


def _confirm(question: str) -> bool:
    out(question)
    sys.stdout.flush()
    return sys.stdin.readline().strip().lower() == "y"


def _binding(pattern: Pattern, entry: Entry) -> Any:
    binding, restype, pattern_type, operation, permission = admin_names(
        "AclBinding", "ResourceType", "ResourcePatternType", "AclOperation", "AclPermissionType"
    )
    return binding(
        restype[pattern.resource_type], pattern.name, pattern_type[pattern.pattern_type], entry.principal,
        entry.host, operation[entry.operation], permission[entry.permission],
    )  # fmt: skip


def _filter(pattern: Pattern | None, entry: Entry | None) -> Any:
    """An AclBindingFilter: the pattern's (None: any resource) and the entry's (None: any entry)."""
    binding_filter, restype, pattern_type, operation, permission = admin_names(
        "AclBindingFilter", "ResourceType", "ResourcePatternType", "AclOperation", "AclPermissionType"
    )
    return binding_filter(
        restype[pattern.resource_type] if pattern else restype.ANY,
        pattern.name if pattern else None,
        pattern_type[pattern.pattern_type] if pattern else pattern_type.ANY,
        entry.principal if entry else None,
        entry.host if entry else None,
        operation[entry.operation] if entry else operation.ANY,
        permission[entry.permission] if entry else permission.ANY,
    )
