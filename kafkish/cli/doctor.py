"""``kafkish doctor --bootstrap-server HOST:PORT``: connect as a client would and say in plain words
what stands in the way.

A client first asks any bootstrap server for metadata, then connects to each broker at the address that
broker advertises (``advertised.listeners``). Most "cannot connect" reports about Kafka images are the
second step failing: a container name that does not resolve outside Docker, ``localhost`` advertised to
clients on other machines, a port that is not published, or one broker advertising another's address.
The doctor walks both steps for every bootstrap server and every advertised broker and prints one line
per check (``ok``, ``warning`` or ``PROBLEM``) with what to change. Exit code: 0 without problems, else 1.
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
from typing import Any

from kafkish.cli._common import add_bootstrap, admin_names, client_config, out


def add_parser(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser("doctor", help="diagnose connection and listener problems")
    add_bootstrap(p)
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for each step (default 5)")
    p.set_defaults(run=run)


class Report:
    def __init__(self) -> None:
        self.problems = 0

    def ok(self, text: str) -> None:
        out(f"  ok       {text}")

    def warn(self, text: str) -> None:
        out(f"  warning  {text}")

    def problem(self, text: str) -> None:
        self.problems += 1
        out(f"  PROBLEM  {text}")


def _split(server: str) -> tuple[str, int]:
    host, _, port = server.strip().rpartition(":")
    return host.strip("[]"), int(port)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _reach(host: str, port: int, timeout: float, report: Report, who: str, advice_refused: str) -> bool:
    """Resolve and TCP-connect every address of host:port; True when at least one connects."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        report.problem(f"{who}: the host name '{host}' does not resolve from this machine.")
        return False
    addresses = sorted({str(info[4][0]) for info in infos})
    report.ok(f"{who}: '{host}' resolves to {', '.join(addresses)}")
    reached = False
    for info in infos:
        address = info[4]
        try:
            with socket.socket(info[0], socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout)
                sock.connect(address)
            report.ok(f"{who}: TCP connection to {address[0]} port {port}")
            reached = True
        except ConnectionRefusedError:
            report.problem(f"{who}: nothing listens on {address[0]} port {port} (connection refused). {advice_refused}")
        except OSError as exc:
            report.problem(
                f"{who}: no TCP connection to {address[0]} port {port} within {timeout:g}s ({exc.strerror or exc}): "
                "a firewall, a host that drops packets, or a port not published from a container."
            )
    return reached


def _metadata(args: argparse.Namespace, bootstrap: str) -> Any:
    (AdminClient,) = admin_names("AdminClient")

    client = AdminClient(client_config(args, {"bootstrap.servers": bootstrap}))
    return client.list_topics(timeout=args.timeout)


def run(args: argparse.Namespace) -> int:
    report = Report()
    servers = [s for s in args.bootstrap_server.split(",") if s.strip()]
    metadata: Any = None
    bootstrap_loopback = True
    for server in servers:
        host, port = _split(server)
        bootstrap_loopback = bootstrap_loopback and _is_loopback(host)
        out(f"bootstrap server {host}:{port}")
        if not _reach(host, port, args.timeout, report, "bootstrap", "Is the broker running, and is this the port of "
                      "one of its listeners (listeners=...)?"):  # fmt: skip
            continue
        try:
            answer = _metadata(args, f"{host}:{port}")
        except Exception as exc:
            report.problem(
                f"bootstrap: connected, but no Kafka metadata within {args.timeout:g}s ({exc}). Is this a Kafka "
                "listener (not ZooKeeper or HTTP), and does it need TLS or SASL (--command-config)?"
            )
            continue
        report.ok(f"bootstrap: Kafka answers (cluster {answer.cluster_id}, {len(answer.brokers)} broker(s))")
        metadata = metadata or answer
    if metadata is None:
        out(f"\n{report.problems} problem(s): no bootstrap server gave metadata, so clients cannot start.")
        return 1
    for node_id, broker in sorted(metadata.brokers.items()):
        _check_broker(args, report, node_id, broker.host, broker.port, bootstrap_loopback)
    if report.problems:
        out(f"\n{report.problems} problem(s): clients bootstrap but fail when they connect to the brokers above.")
        return 1
    out("\nno problems: clients can bootstrap and reach every broker at its advertised address.")
    return 0


def _check_broker(
    args: argparse.Namespace, report: Report, node_id: int, host: str, port: int, bootstrap_loopback: bool
) -> None:
    who = f"broker {node_id}"
    out(f"broker {node_id} advertises {host}:{port}")
    if host in ("0.0.0.0", "::", ""):
        report.problem(
            f"{who}: advertises the meta-address '{host}', which no client can connect to. Set "
            "advertised.listeners to the host name or address clients use to reach the broker."
        )
        return
    if _is_loopback(host) and not bootstrap_loopback:
        report.warn(
            f"{who}: advertises the loopback address '{host}': only clients on the broker's own machine (inside "
            "its container, when it runs in one) can use it. Clients elsewhere connect to themselves instead."
        )
    fix = (
        "Clients take this address from the broker's advertised.listeners: set it to a host:port clients can "
        "reach (in Docker: a published port, and the host's name or localhost for clients on the host)."
    )
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        report.problem(
            f"{who}: its advertised host '{host}' does not resolve from this machine (a container or internal "
            f"host name?). The bootstrap works, but every produce and fetch goes to this address. {fix}"
        )
        return
    if not _reach(host, port, args.timeout, report, who, fix):
        return
    try:
        answer = _metadata(args, f"{host}:{port}")
    except Exception as exc:
        report.problem(f"{who}: connected to {host}:{port}, but no Kafka answer ({exc}). {fix}")
        return
    if answer.orig_broker_id != node_id:
        report.problem(
            f"{who}: {host}:{port} answers as broker {answer.orig_broker_id}, not {node_id}: "
            f"advertised.listeners of broker {node_id} names another broker's address. {fix}"
        )
        return
    report.ok(f"{who}: Kafka answers at its advertised address")
