"""The ``kafkish`` command: Kafka's command-line tools as subcommands, for people without a JVM.

    kafkish topics --bootstrap-server localhost:9092 --describe --topic orders
    kafkish console-consumer --bootstrap-server localhost:9092 --topic orders --from-beginning \\
        --property print.key=true
    kafkish broker config/server.properties --override log.dirs=/tmp/kafkish

Subcommands carry the names and flags of Kafka's scripts without ``kafka-`` and ``.sh``, and print what
they print, so scripts that parse their output keep working. They talk to brokers through
confluent-kafka (librdkafka), and kafka-python where librdkafka lacks an API (``transactions``), never
through the broker's own code.

Starting a broker is ``kafkish broker [server.properties] [--override k=v ...]``. The older
``kafkish server.properties`` / ``kafkish --override ...`` (no subcommand) still starts one, and
``python -m broker`` keeps working in a source checkout.
"""

from __future__ import annotations

import argparse
import sys

from kafkish.cli import (
    acls,
    api_versions,
    configs,
    console,
    doctor,
    faults,
    groups,
    leader_election,
    offsets,
    perf,
    reassign,
    serve,
    topics,
    transactions,
)
from kafkish.cli._common import ToolError, describe_error, err


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="kafkish", description="Kafka's command-line tools, and a Kafka broker.")
    commands = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve.add_parser(commands)
    topics.add_parser(commands)
    console.add_parsers(commands)
    groups.add_parser(commands)
    configs.add_parser(commands)
    offsets.add_parsers(commands)
    api_versions.add_parser(commands)
    acls.add_parser(commands)
    leader_election.add_parser(commands)
    transactions.add_parser(commands)
    reassign.add_parser(commands)
    perf.add_parser(commands)
    doctor.add_parser(commands)
    faults.add_parser(commands)
    return top


def _starts_broker(argv: list[str]) -> bool:
    """``kafkish broker ...``, or the pre-subcommand form ``kafkish [server.properties] [--override ...]``."""
    if not argv:
        return False
    return argv[0] == "broker" or argv[0].endswith(".properties") or argv[0] == "--override"


def main(argv: list[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else argv
    if _starts_broker(args_list):
        return serve.start(args_list[1:] if args_list[0] == "broker" else args_list)
    args = parser().parse_args(args_list)
    try:
        return int(args.run(args))
    except ToolError as exc:
        err(f"{exc.prefix}{exc}")
        return 1
    except Exception as exc:
        if not _from_client_library(exc):
            raise
        err(f"Error: {describe_error(exc)}")  # e.g. no broker reachable: one line, not a traceback
        return 1
    except ImportError as exc:
        err(f"Error: {exc.name or exc} is missing: pip install 'kafkish[tools]'")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


def _from_client_library(exc: BaseException) -> bool:
    module = type(exc).__module__ or ""
    return module.startswith(("cimpl", "confluent_kafka", "aiokafka", "kafka.")) or isinstance(
        exc, (OSError, TimeoutError)
    )
