"""Fixtures for cluster mode: one real ZooKeeper server for the session, a fresh chroot per test.

Where ZooKeeper cannot be found, every test here fails (not skips) saying how to install it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.zookeeper import ZooKeeperMissing, ZooKeeperServer, java_binary, zookeeper_classpath


def _require_zookeeper() -> None:
    try:
        zookeeper_classpath()
        java_binary()
        missing = ""
    except ZooKeeperMissing as e:
        missing = str(e)
    if missing:
        pytest.fail(missing, pytrace=False)


@pytest.fixture(scope="session")
def zookeeper(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZooKeeperServer]:
    """Shared by the tests that do not stop it; each of them works below its own chroot."""
    _require_zookeeper()
    with ZooKeeperServer(tmp_path_factory.mktemp("zk")) as server:
        yield server


@pytest.fixture
def own_zookeeper(tmp_path: Path) -> Iterator[ZooKeeperServer]:
    """A server of this test alone, for tests that stop or restart it."""
    _require_zookeeper()
    with ZooKeeperServer(tmp_path) as server:
        yield server


@pytest.fixture
def zk_connect(zookeeper: ZooKeeperServer) -> str:
    """``zookeeper.connect`` with a chroot of this test's own: tests never see each other's znodes."""
    return f"{zookeeper.connect}/test-{uuid.uuid4().hex[:12]}"
