"""How to start the broker as a process, wherever kafkish is installed.

In a source checkout the broker's packages (``broker``, ``protocol``, ``storage``) sit beside
``kafkish/``; in an installed wheel they live in ``kafkish/_server/`` (see setup.py), out of the way of
an application's own top-level packages. Either way the broker process gets exactly that folder first on
``sys.path`` and runs with ``-P`` (no current directory on the path), so the application's working
directory or PYTHONPATH can never put its own ``storage`` or ``broker`` in place of ours.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent

# The broker's entry point, run with the server folder first on the path.
_BOOT = "import sys; sys.path.insert(0, sys.argv.pop(1)); from broker.__main__ import main; sys.exit(main())"


def server_root() -> Path:
    """The folder that holds the broker's ``broker``, ``protocol`` and ``storage`` packages."""
    for root in (_HERE / "_server", _HERE.parent):
        if (root / "broker" / "__main__.py").is_file() and (root / "storage").is_dir():
            return root
    raise RuntimeError(f"kafkish's broker code is missing beside {_HERE} (a broken install?)")


def broker_command(args: list[str], python: str | None = None) -> list[str]:
    """The command line that starts a broker, like ``kafka-server-start.sh`` with ``args``."""
    return [python or sys.executable, "-P", "-c", _BOOT, str(server_root()), *args]
