"""Builds and runs ``tests/clients/go/``: a Go program that drives Shopify/sarama against kafkish.

sarama comes from Debian (``golang-github-shopify-sarama-dev`` 1.22.1 and its dependencies, under
/usr/share/gocode; ``make system-deps`` installs them with ``golang-go``), so the program builds in
GOPATH mode with no network at all. It is built once per test session (under a lock, for pytest-xdist's
workers) into ``build/go/`` (ignored by git), with Go's build cache beside it.

Like kcat, Go is a required tool: without it these tests fail, they never skip.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
GO_PATH = ROOT / "tests" / "clients" / "go"
SARAMA = Path("/usr/share/gocode/src/github.com/Shopify/sarama")
BUILD = ROOT / "build" / "go"
BINARY = BUILD / "saramaclient"


def go_missing() -> str:
    """Why the program cannot be built here ('' when it can)."""
    if shutil.which("go") is None or not SARAMA.is_dir():
        return (
            "Go or sarama is missing: run `make system-deps` "
            "(apt-get install golang-go golang-github-shopify-sarama-dev)"
        )
    return ""


@cache
def binary() -> Path:
    """Build the program (once per process; the lock makes parallel workers wait for one build)."""
    missing = go_missing()
    assert not missing, missing
    BUILD.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "GO111MODULE": "off",
        "GOPATH": f"{GO_PATH}:/usr/share/gocode",
        "GOPROXY": "off",
        "GOFLAGS": "",
        "GOCACHE": str(BUILD / "cache"),
    }
    with open(BUILD / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        built = subprocess.run(
            ["go", "build", "-o", str(BINARY), "saramaclient"],
            env=env,
            cwd=GO_PATH,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    assert built.returncode == 0, f"go build failed:\n{built.stderr}"
    return BINARY


def sarama(command: str, bootstrap: str, *args: object, timeout_s: float = 90) -> Any:
    """Run one command of the program; return the JSON object it printed last (fail on a non-zero exit)."""
    done = subprocess.run(
        [str(binary()), command, bootstrap, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    assert done.returncode == 0, f"saramaclient {command} exited {done.returncode}:\n{done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1])
