"""``python -m broker``: what an operator sees when starting and stopping the broker by hand."""

from __future__ import annotations

import signal
import socket
import struct
import subprocess
import sys
from pathlib import Path

from tests.harness import ROOT, BrokerProcess, free_port

RUN_TIMEOUT_S = 30.0
SHIPPED_CONFIG = ROOT / "config" / "server.properties"


def run_broker(*args: str) -> subprocess.CompletedProcess[str]:
    """Run a broker that is expected to exit by itself (an invalid configuration)."""
    return subprocess.run(
        [sys.executable, "-m", "broker", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )


def test_invalid_property_value_exits_1_naming_the_property(tmp_path: Path) -> None:
    result = run_broker("--override", f"log.dirs={tmp_path}", "--override", "num.partitions=many")
    assert result.returncode == 1
    assert "num.partitions" in result.stderr
    assert "many" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "meta.properties").exists()


def test_invalid_value_in_a_properties_file_exits_1(tmp_path: Path) -> None:
    properties = tmp_path / "server.properties"
    properties.write_text(f"log.dirs={tmp_path / 'logs'}\nlisteners=PLAINTEXT://127.0.0.1:0\nnode.id=x\n")
    result = run_broker(str(properties))
    assert result.returncode == 1
    assert "node.id" in result.stderr
    assert "Traceback" not in result.stderr


def test_override_that_is_not_key_value_exits_1(tmp_path: Path) -> None:
    result = run_broker("--override", f"log.dirs={tmp_path}", "--override", "num.partitions")
    assert result.returncode == 1
    assert "KEY=VALUE" in result.stderr


def test_listener_port_out_of_range_exits_1(tmp_path: Path) -> None:
    result = run_broker("--override", "listeners=PLAINTEXT://127.0.0.1:219092", "--override", f"log.dirs={tmp_path}")
    assert result.returncode == 1
    assert "219092" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_properties_file_exits_1(tmp_path: Path) -> None:
    result = run_broker(str(tmp_path / "nowhere.properties"))
    assert result.returncode == 1
    assert "nowhere.properties" in result.stderr


def test_port_in_use_exits_1(tmp_path: Path) -> None:
    (tmp_path / "first").mkdir()
    with BrokerProcess(tmp_path / "first") as first:
        result = run_broker("--override", f"listeners=PLAINTEXT://127.0.0.1:{first.port}", "--override",
                            f"log.dirs={tmp_path / 'second'}")  # fmt: skip
    assert result.returncode == 1
    assert str(first.port) in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_property_is_a_warning_and_the_broker_runs(tmp_path: Path) -> None:
    with BrokerProcess(tmp_path, overrides={"no.such.property": "42"}) as broker:
        warnings = [line for line in broker.output.splitlines() if "no.such.property" in line]
        assert len(warnings) == 1
        assert "WARN" in warnings[0]
        assert broker.process is not None and broker.process.poll() is None


def test_first_line_says_where_it_listens_and_where_data_lives(tmp_path: Path) -> None:
    """The first line comes before the listeners bind, so it holds even if a parallel test took the port."""
    port = free_port()
    with BrokerProcess(tmp_path, {"listeners": f"PLAINTEXT://127.0.0.1:{port}"}) as broker:
        first = broker.output.splitlines()[0]
        assert f"127.0.0.1:{port}" in first
        assert str(broker.log_dir) in first


def test_sigterm_exits_0_after_a_clean_shutdown(tmp_path: Path) -> None:
    """Right after the ready line, as a supervisor would: the signal must already be handled."""
    with BrokerProcess(tmp_path) as broker:
        assert broker.process is not None
        broker.process.send_signal(signal.SIGTERM)
        assert broker.stop(timeout_s=10) == 0
        assert "shut down cleanly" in broker.output.splitlines()[-1]


def test_sigterm_with_an_idle_client_connected_is_a_clean_shutdown(tmp_path: Path) -> None:
    """An idle connection is closed by the shutdown, not torn down with an error in the log."""
    with BrokerProcess(tmp_path) as broker, socket.create_connection(("127.0.0.1", broker.port), 10) as idle:
        api_versions_v0 = struct.pack(">hhih", 18, 0, 1, 4) + b"test"
        idle.sendall(struct.pack(">i", len(api_versions_v0)) + api_versions_v0)
        assert idle.recv(4)  # answered: the broker is serving and handles signals
        assert broker.stop(timeout_s=10) == 0
        assert "shut down cleanly" in broker.output.splitlines()[-1]
        assert "ERROR" not in broker.output
        assert "Traceback" not in broker.output


def test_sigint_exits_0(tmp_path: Path) -> None:
    with BrokerProcess(tmp_path) as broker:
        assert broker.process is not None
        broker.process.send_signal(signal.SIGINT)
        assert broker.process.wait(10) == 0


def test_shipped_server_properties_is_all_known_names(tmp_path: Path) -> None:
    """config/server.properties starts a broker with no warnings (only listeners and log.dirs moved).
    The first line comes before the listener binds: no race with a parallel test for the port."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "broker", str(SHIPPED_CONFIG),
         "--override", f"listeners=PLAINTEXT://127.0.0.1:{port}", "--override", f"log.dirs={tmp_path}"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stderr is not None
    try:
        first = process.stderr.readline()
        assert f"127.0.0.1:{port}" in first, first
        assert str(tmp_path) in first
    finally:
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=RUN_TIMEOUT_S)
    assert "WARN" not in first + rest


def test_unroutable_advertised_address_exits_1(tmp_path: Path) -> None:
    """Kafka refuses to tell clients to connect to 0.0.0.0; so do we."""
    result = run_broker("--override", "listeners=PLAINTEXT://0.0.0.0:0", "--override", f"log.dirs={tmp_path}")
    assert result.returncode == 1
    assert "nonroutable meta-address 0.0.0.0" in result.stderr
    assert "Traceback" not in result.stderr
