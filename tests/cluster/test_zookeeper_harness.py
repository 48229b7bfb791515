"""The ZooKeeper the cluster tests need is there, and where it is not, they fail saying how to get it."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.harness import ROOT
from tests.zookeeper import ZooKeeperServer, zookeeper_classpath


def test_zookeeper_is_installed() -> None:
    assert zookeeper_classpath(), "ZooKeeper is missing: run `make system-deps` (apt-get install zookeeper)"


def test_the_server_answers_and_serves(zookeeper: ZooKeeperServer) -> None:
    status = zookeeper.srvr()
    assert "Mode: standalone" in status and status.startswith("Zookeeper version: 3.")


def test_without_zookeeper_the_cluster_tests_fail_not_skip() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfE",
         "tests/cluster/test_zookeeper_harness.py::test_the_server_answers_and_serves"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "ZOOKEEPER_HOME": "/nonexistent/zookeeper"},
    )  # fmt: skip
    assert result.returncode != 0, result.stdout
    assert "ZOOKEEPER_HOME=/nonexistent/zookeeper has no lib/*.jar" in result.stdout
    assert "skipped" not in result.stdout
