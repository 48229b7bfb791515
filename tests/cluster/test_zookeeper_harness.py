"""The ZooKeeper the cluster tests need is there, and where it is not, they fail saying how to get it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from broker.local_cluster import LaunchError, zookeeper_command
from kafkish.testing import zookeeper as kit
from kafkish.zookeeper_install import CLASSPATH_VARIABLES
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
        env={**_without_classpath(), "ZOOKEEPER_HOME": "/nonexistent/zookeeper"},
    )  # fmt: skip
    assert result.returncode != 0, result.stdout
    assert "ZOOKEEPER_HOME=/nonexistent/zookeeper has no lib/*.jar" in result.stdout
    assert "skipped" not in result.stdout


def _without_classpath() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in CLASSPATH_VARIABLES}


@pytest.mark.parametrize("variable", ["KAFKISH_ZOOKEEPER_CLASSPATH", "ZOOKEEPER_CLASSPATH"])
def test_every_launcher_takes_either_classpath_variable(variable: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CLASSPATH_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, "/opt/zk/a.jar:/opt/zk/b.jar")
    assert zookeeper_classpath() == kit.classpath() == "/opt/zk/a.jar:/opt/zk/b.jar"
    command = zookeeper_command(Path("zoo.cfg"))  # make cluster's
    assert command[command.index("-cp") + 1] == "/opt/zk/a.jar:/opt/zk/b.jar" and command[-1] == "zoo.cfg"


def test_zookeeper_home_is_its_lib_jars_everywhere_and_an_empty_one_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in CLASSPATH_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "lib").mkdir()
    monkeypatch.setenv("ZOOKEEPER_HOME", str(tmp_path))
    with pytest.raises(LaunchError, match=r"has no lib/\*\.jar"):
        zookeeper_command(Path("zoo.cfg"))
    for jar in ("zookeeper-3.8.4.jar", "jute-3.8.4.jar"):
        (tmp_path / "lib" / jar).write_bytes(b"")
    expected = f"{tmp_path}/lib/jute-3.8.4.jar:{tmp_path}/lib/zookeeper-3.8.4.jar"
    assert zookeeper_classpath() == kit.classpath() == expected
