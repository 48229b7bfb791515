"""docker-compose.yml: ZooKeeper and three brokers, each advertised to the host and to the compose network.

No Docker engine runs here, so the file is checked the way Docker reads it: ``docker compose config``
(or Debian's ``docker-compose``) resolves it, and each broker's command line is then built by the image's
own ENTRYPOINT (a real ``sh`` expands it with the service's environment) and parsed by the broker's own
configuration code, so the test sees the listeners a container would really advertise. Skipped only
where there is no docker client at all.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from broker.__main__ import load_config, parse_args
from broker.config import BrokerConfig
from tests.harness import ROOT

BROKERS = {"kafkish0": 0, "kafkish1": 1, "kafkish2": 2}


def compose_command() -> list[str]:
    if shutil.which("docker") is None:
        pytest.skip("no docker client on this machine")
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose") is not None:
        return ["docker-compose"]
    pytest.fail("docker has no compose: `make system-deps` installs Debian's docker-compose", pytrace=False)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    done = subprocess.run(
        [*compose_command(), "-f", str(ROOT / "docker-compose.yml"), "config"],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    parsed: dict[str, Any] = yaml.safe_load(done.stdout)
    return parsed


def published_ports(service: dict[str, Any]) -> dict[int, int]:
    """host port -> container port, from either form `config` prints."""
    ports: dict[int, int] = {}
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            ports[int(entry["published"])] = int(entry["target"])
        else:
            host, _, container = str(entry).rpartition(":")
            ports[int(host)] = int(container)
    return ports


def entrypoint_argv(service: dict[str, Any]) -> list[str]:
    """The broker's arguments as the image's ENTRYPOINT builds them, expanded by a real shell."""
    line = next(
        x for x in (ROOT / "Dockerfile").read_text().replace("\\\n", "").splitlines() if x.startswith("ENTRYPOINT")
    )
    shell, flag, script, dollar0 = json.loads(line.removeprefix("ENTRYPOINT"))
    assert script.startswith("exec python -m broker ")  # the same entry point as `python -m broker`
    probe = script.replace("exec python -m broker ", "exec printf '%s\\n' ", 1)
    environment = {**os.environ, **{k: str(v) for k, v in (service.get("environment") or {}).items()}}
    done = subprocess.run(
        [shell, flag, probe, dollar0, *service.get("command", [])], capture_output=True, text=True, env=environment
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def broker_config(service: dict[str, Any]) -> BrokerConfig:
    argv = entrypoint_argv(service)
    assert argv[0] == "/opt/kafkish/config/server.properties"  # the image copies config/ to /opt/kafkish
    argv[0] = str(ROOT / "config" / "server.properties")
    return load_config(parse_args(argv))


def test_services_are_zookeeper_and_three_brokers_from_this_image(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"zookeeper", *BROKERS}
    assert services["zookeeper"]["image"].startswith("zookeeper:")  # the official image
    for name in BROKERS:
        service = services[name]
        assert Path(service["build"]["context"]).resolve() == ROOT
        assert "zookeeper" in service["depends_on"]
        assert service["hostname"] == name


def test_each_broker_advertises_the_host_and_the_compose_network(compose: dict[str, Any]) -> None:
    seen_ports = []
    for name, broker_id in BROKERS.items():
        service = compose["services"][name]
        config = broker_config(service)
        assert config.node_id == broker_id
        assert config.get("zookeeper.connect") == "zookeeper:2181"
        assert config.get("offsets.topic.replication.factor") == 3
        assert config.get("log.dirs") == ["/var/lib/kafkish"]
        listeners = dict(re.fullmatch(r"(\w+)://(.*)", x).groups() for x in config.get("listeners"))  # type: ignore[union-attr, misc]
        advertised = dict(re.fullmatch(r"(\w+)://(.*)", x).groups() for x in config.get("advertised.listeners"))  # type: ignore[union-attr, misc]
        assert listeners == {"EXTERNAL": "0.0.0.0:9092", "INTERNAL": "0.0.0.0:29092"}
        host_port = 9092 + broker_id
        # From the host: the published port, under the address the host reaches it by.
        assert advertised["EXTERNAL"] == f"localhost:{host_port}"
        assert published_ports(service) == {host_port: 9092}
        # From other services (and between brokers): the service's name on the compose network.
        assert advertised["INTERNAL"] == f"{name}:29092"
        assert config.get("inter.broker.listener.name") == "INTERNAL"
        assert config.get("listener.security.protocol.map") == ["EXTERNAL:PLAINTEXT", "INTERNAL:PLAINTEXT"]
        seen_ports.append(host_port)
    assert seen_ports == [9092, 9093, 9094]
