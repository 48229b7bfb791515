"""``kafkish broker [server.properties] [--override key=value ...]``: start a broker, like
kafka-server-start.sh. The broker runs as a child process from kafkish's own copy of its code
(``kafkish._launch``), so it never imports an application's packages of the same names; the command
waits for it and passes SIGINT/SIGTERM on for a clean shutdown. Exit code: the broker's.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
from types import FrameType
from typing import Any

from kafkish._launch import broker_command


def add_parser(commands: Any) -> None:
    """Listed for --help only: ``kafkish.cli.main`` hands ``kafkish broker ...`` to ``start`` untouched."""
    p: argparse.ArgumentParser = commands.add_parser("broker", help="start a broker (as kafka-server-start.sh)")
    p.add_argument("broker_args", nargs="*", help="[server.properties] [--override KEY=VALUE ...]")


def start(broker_args: list[str]) -> int:
    process = subprocess.Popen(broker_command(broker_args))

    def forward(signum: int, _frame: FrameType | None) -> None:
        process.send_signal(signum)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, forward)
    return process.wait()
