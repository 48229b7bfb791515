"""Run the ``kafkish`` command as a user does (a new process) and capture what it prints."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


def kafkish(*args: str, stdin: str | None = None, timeout: float = 60.0, cwd: Path | None = None) -> Run:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "kafkish", *args], input=stdin, capture_output=True, text=True, timeout=timeout,
        cwd=cwd or ROOT, env=env,
    )  # fmt: skip
    return Run(done.returncode, done.stdout, done.stderr)
