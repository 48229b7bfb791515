"""``python -m bench.broker.security``: one kafkish broker with PLAINTEXT, SSL and SASL_SSL (SCRAM-SHA-256)
listeners; in the same run, produce and consume over each, and SASL_SSL connection set-up with SCRAM.

TLS cannot ``sendfile``: the broker reads file chunks into the TLS transport (``broker.zerocopy``), so the
figure to watch is consume over SSL against consume over PLAINTEXT (target: at least 0.5x). Set-up
rate: TCP connect, TLS handshake, SaslHandshake and the two SCRAM rounds, over raw sockets with
kafka-python's SCRAM client, one connection after the other.
"""

from __future__ import annotations

import argparse
import os
import socket
import ssl
import struct
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from confluent_kafka.admin._scram import ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion
from kafka.net.sasl.scram import ScramClient

from bench.broker.clients import admin, create_topic, produce_n, producer
from bench.broker.workloads import consume, produce
from protocol.headers import RequestHeader, decode_response, encode_request
from protocol.messages.sasl_authenticate import SASL_AUTHENTICATE, SaslAuthenticateRequest
from protocol.messages.sasl_handshake import SASL_HANDSHAKE, SaslHandshakeRequest
from tests.certs import PASSWORD, Pki
from tests.security_broker import SecuredBroker

USER, USER_PASSWORD = "bench", "bench-secret"


def client_settings(pki: Pki, listener: str) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    if listener != "PLAINTEXT":
        settings |= {"security.protocol": listener, "ssl.ca.location": pki.path("ca.pem")}
    if listener == "SASL_SSL":
        settings |= {"sasl.mechanism": "SCRAM-SHA-256", "sasl.username": USER, "sasl.password": USER_PASSWORD}
    return settings


def scram_connections(port: int, ca: str, seconds: float) -> float:
    """Authenticated SASL_SSL connections per second, one after the other."""
    context = ssl.create_default_context(cafile=ca)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        with (
            socket.create_connection(("127.0.0.1", port)) as raw,
            context.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            correlation = 0

            def call(api: Any, version: int, body: Any) -> Any:
                nonlocal correlation
                correlation += 1
                header = RequestHeader(request_api_key=api.key, request_api_version=version, correlation_id=correlation)
                tls.sendall(encode_request(header, body))
                size = struct.unpack(">i", _exactly(tls, 4))[0]
                return decode_response(api, version, _exactly(tls, size))[1]

            assert call(SASL_HANDSHAKE, 1, SaslHandshakeRequest(mechanism="SCRAM-SHA-256")).error_code == 0
            client = ScramClient(USER, USER_PASSWORD, "SCRAM-SHA-256")
            first = call(SASL_AUTHENTICATE, 2, SaslAuthenticateRequest(auth_bytes=client.first_message()))
            client.process_server_first_message(first.auth_bytes)
            final = call(SASL_AUTHENTICATE, 2, SaslAuthenticateRequest(auth_bytes=client.final_message()))
            assert final.error_code == 0, final.error_message
            client.process_server_final_message(final.auth_bytes)
        count += 1
    return count / (time.perf_counter() - started)


def _cpu_s(pid: int) -> float:
    """The broker process's CPU time (user + system): robust where wall-clock rates are not (a busy host)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _exactly(sock: ssl.SSLSocket, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise ConnectionError("closed")
        out += chunk
    return bytes(out)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.broker.security", description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--setup-seconds", type=float, default=5.0)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    listeners = {"PLAINTEXT": "PLAINTEXT", "SSL": "SSL", "SASL_SSL": "SASL_SSL"}
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        pki = Pki.make(Path(tmp) / "pki")
        settings = {"sasl.enabled.mechanisms": "SCRAM-SHA-256", "ssl.keystore.type": "PKCS12",
                    "ssl.keystore.location": pki.broker_pkcs12(), "ssl.keystore.password": PASSWORD}  # fmt: skip
        with SecuredBroker(Path(tmp), listeners, settings) as broker:
            upsert = UserScramCredentialUpsertion(USER, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096),
                                                  USER_PASSWORD.encode())  # fmt: skip
            client = admin(broker.bootstrap)  # kept: a collected client fails its futures
            client.alter_user_scram_credentials([upsert])[USER].result(timeout=30)
            topic = "bench-secure-consume"
            create_topic(broker.bootstrap, topic)
            produce_n(producer(broker.bootstrap), topic, b"x" * args.size, args.records, timeout_s=300)
            for run in range(args.runs):
                for listener in listeners:
                    extra = client_settings(pki, listener)
                    bootstrap = broker.bootstrap_of(listener)
                    assert broker.process is not None
                    cpu = _cpu_s(broker.process.pid)
                    got = consume(bootstrap, topic, args.size, args.records, **extra)
                    results.setdefault(f"consume {listener} MB/s", []).append(got["mb_s"])
                    used = (_cpu_s(broker.process.pid) - cpu) / (args.records * args.size / 1e9)
                    results.setdefault(f"consume {listener} broker CPU s/GB", []).append(used)
                    got = produce(
                        bootstrap, f"bench-produce-{listener}-{run}".lower(), args.size, "1", args.records, **extra
                    )
                    results.setdefault(f"produce {listener} MB/s", []).append(got["mb_s"])
            rate = scram_connections(broker.ports["SASL_SSL"], pki.path("ca.pem"), args.setup_seconds)
            results["SASL_SSL SCRAM connections/s"] = [rate]
    medians = {name: sorted(values)[len(values) // 2] for name, values in results.items()}
    medians["consume SSL / PLAINTEXT"] = medians["consume SSL MB/s"] / medians["consume PLAINTEXT MB/s"]
    medians["consume SASL_SSL / PLAINTEXT"] = medians["consume SASL_SSL MB/s"] / medians["consume PLAINTEXT MB/s"]
    print(f"{args.records} records of {args.size} bytes, median of {args.runs} runs")
    for name, value in medians.items():
        print(f"  {name:<34} {value:10.2f}")
    return medians


if __name__ == "__main__":
    main()
