"""``kafkish configs``: kafka-configs.sh --describe and --alter (--add-config, --delete-config) for
topics, brokers and broker-loggers.

``--describe`` prints ``Dynamic configs for topic NAME are:`` (``All configs for ...`` with ``--all``)
and one line per config: ``  key=value sensitive=false synonyms={SOURCE:key=value, ...}``;
``--alter`` prints ``Completed updating config for topic NAME.`` (or ``broker 0``) and changes configs
incrementally (IncrementalAlterConfigs), leaving the others as they are.
"""

from __future__ import annotations

import argparse
from typing import Any

from kafkish.cli._common import add_bootstrap, admin, admin_names, fail, out, result

ENTITY = {"topics": "topic", "brokers": "broker", "broker-loggers": "broker-logger"}
DYNAMIC_SOURCES = {1, 2, 3, 6}  # DYNAMIC_TOPIC_CONFIG, DYNAMIC_BROKER_CONFIG, its default, broker logger


def add_parser(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser("configs", help="describe and alter configs")
    add_bootstrap(p)
    action = p.add_mutually_exclusive_group(required=True)
    action.add_argument("--describe", action="store_true")
    action.add_argument("--alter", action="store_true")
    p.add_argument("--entity-type", choices=sorted(ENTITY), required=True)
    p.add_argument("--entity-name")
    p.add_argument("--entity-default", action="store_true")
    p.add_argument("--all", action="store_true")
    p.add_argument("--add-config", default="", metavar="K1=V1,K2=[V2,V3]")
    p.add_argument("--delete-config", default="", metavar="K1,K2")
    p.set_defaults(run=run)


def _resource_type(entity_type: str) -> Any:
    (ResourceType,) = admin_names("ResourceType")

    return {"topics": ResourceType.TOPIC, "brokers": ResourceType.BROKER, "broker-loggers": ResourceType.BROKER}[
        entity_type
    ]


def _name(args: argparse.Namespace, client: Any) -> str:
    if args.entity_name:
        return str(args.entity_name)
    if args.entity_default and args.entity_type == "brokers":
        return ""
    if args.entity_type == "brokers":
        return str(result(client.describe_cluster()).nodes[0].id)
    fail("--entity-name must be specified with --describe or --alter of topics")


def split_add_config(text: str) -> dict[str, str]:
    """``k1=v1,k2=[a,b]``: Kafka's --add-config syntax, square brackets for values with commas."""
    props: dict[str, str] = {}
    i = 0
    while i < len(text):
        eq = text.find("=", i)
        if eq < 0:
            fail(f'Invalid entity config: all configs to be added must be in the format "key=val": {text}')
        key = text[i:eq].strip()
        if text.startswith("[", eq + 1):
            end = text.find("]", eq + 2)
            if end < 0:
                fail(f"unclosed [ in --add-config: {text}")
            props[key] = text[eq + 2 : end]
            i = end + 2
        else:
            end = text.find(",", eq + 1)
            end = len(text) if end < 0 else end
            props[key] = text[eq + 1 : end]
            i = end + 1
    return props


def run(args: argparse.Namespace) -> int:
    AlterConfigOpType, ConfigEntry, ConfigResource = admin_names("AlterConfigOpType", "ConfigEntry", "ConfigResource")

    client = admin(args)
    name = _name(args, client)
    kind = ENTITY[args.entity_type]
    resource_type = _resource_type(args.entity_type)
    if args.alter:
        entries = [
            ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET)
            for k, v in split_add_config(args.add_config).items()
        ]
        entries += [
            ConfigEntry(k.strip(), None, incremental_operation=AlterConfigOpType.DELETE)
            for k in args.delete_config.split(",")
            if k.strip()
        ]
        if not entries:
            fail("At least one of --add-config or --delete-config must be specified with --alter")
        resource = ConfigResource(resource_type, name, incremental_configs=entries)
        for future in client.incremental_alter_configs([resource]).values():
            result(future)
        out(
            f"Completed updating config for {kind} {name}."
            if name
            else "Completed updating default config for brokers in the cluster."
        )
        return 0
    resource = ConfigResource(resource_type, name)
    described = next(iter(result(f) for f in client.describe_configs([resource]).values()))
    shown = sorted(
        (e for e in described.values() if args.all or int(e.source) in DYNAMIC_SOURCES), key=lambda e: e.name
    )
    if name:
        out(f"{'All' if args.all else 'Dynamic'} configs for {kind} {name} are:")
    else:
        out("Default configs for brokers in the cluster are:")
    for e in shown:
        out(f"  {e.name}={_value(e)} sensitive={str(e.is_sensitive).lower()} synonyms={{{_synonyms(e)}}}")
    return 0


def _value(entry: Any) -> str:
    return "null" if entry.is_sensitive or entry.value is None else str(entry.value)


def _synonyms(entry: Any) -> str:
    (ConfigSource,) = admin_names("ConfigSource")

    return ", ".join(f"{ConfigSource(int(s.source)).name}:{s.name}={_value(s)}" for s in entry.synonyms.values())
