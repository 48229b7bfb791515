"""``kafkish doctor --bootstrap-server HOST:PORT``: connect as a client would and say in plain words
what stands in the way.

A client first asks any bootstrap server for metadata, then connects to each broker at the address that
broker advertises (``advertised.listeners``). Most "cannot connect" reports about Kafka images are the
second step failing: a container name that does not resolve outside Docker, ``localhost`` advertised to
clients on other machines, a port that is not published, or one broker advertising another's address.
The doctor walks both steps for every bootstrap server and every advertised broker and prints one line
per check (``ok``, ``warning`` or ``PROBLEM``) with what to change. Exit code: 0 without problems, else 1.
PLAINTEXT listeners only, for now.
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
from dataclasses import dataclass
from typing import Any

from kafkish.cli._common import add_bootstrap, out


def add_parser(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser("doctor", help="diagnose connection and listener problems")
    add_bootstrap(p, admin_config=False)
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


@dataclass
class Metadata:
    cluster_id: str | None
    brokers: dict[int, tuple[str, int]]


def _metadata(args: argparse.Namespace, bootstrap: str) -> Metadata:
    """Metadata as the broker at ``bootstrap`` answers it, over one connection to that address (aiokafka's
    connection and codecs). A full client (librdkafka) would hop to the advertised addresses it learns and
    answer from there, which is exactly what the doctor must not do."""
    import asyncio

    from aiokafka.conn import create_conn
    from aiokafka.protocol.metadata import MetadataRequest

    host, port = _split(bootstrap)

    async def ask() -> Metadata:
        conn = await create_conn(host, port, request_timeout_ms=int(args.timeout * 1000))
        try:
            answer = await conn.send(MetadataRequest([]))
        finally:
            conn.close()
        brokers = {int(b[0]): (str(b[1]), int(b[2])) for b in answer.brokers}
        return Metadata(getattr(answer, "cluster_id", None), brokers)

    async def bounded() -> Metadata:
        return await asyncio.wait_for(ask(), args.timeout)

    return asyncio.run(bounded())


def run(args: argparse.Namespace) -> int:
    report = Report()
    servers = [s for s in args.bootstrap_server.split(",") if s.strip()]
    metadata: Metadata | None = None
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
                f"bootstrap: connected, but no Kafka metadata within {args.timeout:g}s ({type(exc).__name__}). "
                "Is this a Kafka listener (not ZooKeeper or HTTP)? TLS and SASL listeners are not checked yet."
            )
            continue
        report.ok(f"bootstrap: Kafka answers (cluster {answer.cluster_id}, {len(answer.brokers)} broker(s))")
        metadata = metadata or answer
    if metadata is None:
        out(f"\n{report.problems} problem(s): no bootstrap server gave metadata, so clients cannot start.")
        return 1
    advertisers: dict[tuple[str, int], list[int]] = {}
    for node_id, (host, port) in sorted(metadata.brokers.items()):
        advertisers.setdefault((host, port), []).append(node_id)
        _check_broker(args, report, node_id, host, port, bootstrap_loopback, metadata.cluster_id)
    for (host, port), nodes in advertisers.items():
        if len(nodes) > 1:
            report.problem(
                f"brokers {', '.join(map(str, nodes))} all advertise {host}:{port}: clients send every one's "
                "partitions to the one broker there, which answers NOT_LEADER_OR_FOLLOWER for the others'. "
                "Give each broker its own address in advertised.listeners."
            )
    if report.problems:
        out(f"\n{report.problems} problem(s): clients bootstrap but fail when they connect to the brokers above.")
        return 1
    out("\nno problems: clients can bootstrap and reach every broker at its advertised address.")
    return 0


def _check_broker(
    args: argparse.Namespace,
    report: Report,
    node_id: int,
    host: str,
    port: int,
    bootstrap_loopback: bool,
    cluster_id: str | None,
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
    if answer.cluster_id != cluster_id:
        report.problem(
            f"{who}: {host}:{port} is a broker of another cluster ({answer.cluster_id}, not {cluster_id}): "
            f"advertised.listeners of broker {node_id} names another broker's address. {fix}"
        )
        return
    report.ok(f"{who}: Kafka answers at its advertised address")
