"""TLS listeners with real clients: key stores in every form Kafka users hold them, client certificates
required, refused (missing, expired, from a foreign CA), several listeners side by side."""

from __future__ import annotations

import socket
import ssl
import time
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient

from tests.certs import PASSWORD, Pki
from tests.clients.secure_clients import (
    aiokafka_round_trip,
    client_ssl_context,
    confluent_round_trip,
    kafka_python_round_trip,
    kcat,
)
from tests.security_broker import SecuredBroker


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki.make(tmp_path_factory.mktemp("pki"))


def keystore_settings(pki: Pki, form: str, prefix: str = "listener.name.ssl.") -> dict[str, str]:
    if form == "pem-file":
        return {f"{prefix}ssl.keystore.type": "PEM", f"{prefix}ssl.keystore.location": pki.broker_pem_file("kp"),
                f"{prefix}ssl.key.password": "kp"}  # fmt: skip
    if form == "pem-inline":
        return {
            f"{prefix}ssl.keystore.type": "PEM",
            f"{prefix}ssl.keystore.certificate.chain": (pki.broker.cert_pem + pki.ca.cert_pem).replace("\n", "\\n"),
            f"{prefix}ssl.keystore.key": pki.broker.key_pem().replace("\n", "\\n"),
        }
    if form == "pkcs12":
        return {f"{prefix}ssl.keystore.type": "PKCS12", f"{prefix}ssl.keystore.location": pki.broker_pkcs12(),
                f"{prefix}ssl.keystore.password": PASSWORD}  # fmt: skip
    return {f"{prefix}ssl.keystore.location": pki.broker_jks(), f"{prefix}ssl.keystore.password": PASSWORD}


def ssl_client(pki: Pki, broker: SecuredBroker, listener: str = "SSL") -> dict[str, Any]:
    return {"bootstrap.servers": broker.bootstrap_of(listener), "security.protocol": "SSL",
            "ssl.ca.location": pki.path("ca.pem")}  # fmt: skip


@pytest.mark.parametrize("form", ["pem-file", "pem-inline", "pkcs12", "jks"])
def test_every_keystore_form_serves_tls(tmp_path: Path, pki: Pki, form: str) -> None:
    with SecuredBroker(tmp_path, {"PLAINTEXT": "PLAINTEXT", "SSL": "SSL"}, keystore_settings(pki, form)) as broker:
        assert confluent_round_trip(ssl_client(pki, broker), "t1") == b"hello"


def _handshake(broker: SecuredBroker, context: ssl.SSLContext) -> bytes:
    """A TLS handshake and an ApiVersions v0 request: the answer's first bytes, or raises."""
    with (
        socket.create_connection(("127.0.0.1", broker.ports["SSL"]), timeout=20) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(bytes.fromhex("0000000a00120000000000010000"))
        data = tls.recv(4)
        if not data:
            raise ConnectionError("closed by the broker")
        return data


def test_client_certificates_required(tmp_path: Path, pki: Pki) -> None:
    settings = {
        **keystore_settings(pki, "jks"),
        "listener.name.ssl.ssl.truststore.location": pki.truststore_jks(),
        "listener.name.ssl.ssl.truststore.password": PASSWORD,
        "listener.name.ssl.ssl.client.auth": "required",
    }
    with SecuredBroker(tmp_path, {"PLAINTEXT": "PLAINTEXT", "SSL": "SSL"}, settings) as broker:
        good = {**ssl_client(pki, broker), "ssl.certificate.location": pki.path("client.crt"),
                "ssl.key.location": pki.path("client.key")}  # fmt: skip
        assert confluent_round_trip(good, "t2") == b"hello"
        good_context = client_ssl_context(pki.path("ca.pem"), pki.path("client.crt"), pki.path("client.key"))
        assert len(_handshake(broker, good_context)) == 4
        for name in (None, "expired_client", "foreign_client"):
            context = client_ssl_context(
                pki.path("ca.pem"), name and pki.path(f"{name}.crt"), name and pki.path(f"{name}.key")
            )
            with pytest.raises((ssl.SSLError, ConnectionError)):
                _handshake(broker, context)
        deadline = time.monotonic() + 10
        while broker.output.count("SSL handshake failed") < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert broker.output.count("SSL handshake failed") >= 3


def test_several_listeners_each_advertise_their_own_endpoint(tmp_path: Path, pki: Pki) -> None:
    with SecuredBroker(tmp_path, {"PLAINTEXT": "PLAINTEXT", "SSL": "SSL"}, keystore_settings(pki, "pkcs12")) as broker:
        plain: dict[str, Any] = {"bootstrap.servers": broker.bootstrap}
        for listener, config in (
            ("PLAINTEXT", plain),
            ("SSL", ssl_client(pki, broker)),
        ):
            metadata = AdminClient(config).list_topics(timeout=20)
            assert [(str(b.host), b.port) for b in metadata.brokers.values()] == [("127.0.0.1", broker.ports[listener])]


def test_kafka_python_aiokafka_and_kcat_over_tls(tmp_path: Path, pki: Pki) -> None:
    settings = keystore_settings(pki, "pem-file")
    with SecuredBroker(tmp_path, {"PLAINTEXT": "PLAINTEXT", "SSL": "SSL"}, settings) as broker:
        context = client_ssl_context(pki.path("ca.pem"))
        common = {"bootstrap_servers": broker.bootstrap_of("SSL"), "security_protocol": "SSL", "ssl_context": context}
        assert kafka_python_round_trip(common, "kp", b"from kafka-python") == b"from kafka-python"
        assert aiokafka_round_trip(common, "aio", b"from aiokafka") == b"from aiokafka"
        settings = {"security.protocol": "SSL", "ssl.ca.location": pki.path("ca.pem")}
        produced = kcat(broker.bootstrap_of("SSL"), settings, "-P", "-t", "kc", stdin=b"from kcat\n")
        assert produced.returncode == 0, produced.stderr.decode()
        consumed = kcat(broker.bootstrap_of("SSL"), settings, "-C", "-t", "kc", "-o", "beginning", "-e")
        assert consumed.stdout.strip() == b"from kcat", consumed.stderr.decode()


def test_enabled_protocols_ciphers_and_requested_client_auth(tmp_path: Path, pki: Pki) -> None:
    settings = {
        **keystore_settings(pki, "pem-file"),
        "listener.name.ssl.ssl.enabled.protocols": "TLSv1.2",
        "listener.name.ssl.ssl.cipher.suites": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "listener.name.ssl.ssl.truststore.type": "PKCS12",
        "listener.name.ssl.ssl.truststore.location": pki.truststore_pkcs12(),
        "listener.name.ssl.ssl.truststore.password": PASSWORD,
        "listener.name.ssl.ssl.client.auth": "requested",
    }
    with SecuredBroker(tmp_path, {"PLAINTEXT": "PLAINTEXT", "SSL": "SSL"}, settings) as broker:
        only_13 = client_ssl_context(pki.path("ca.pem"))
        only_13.minimum_version = ssl.TLSVersion.TLSv1_3
        with pytest.raises((ssl.SSLError, ConnectionError)):
            _handshake(broker, only_13)
        other_cipher = client_ssl_context(pki.path("ca.pem"))
        other_cipher.maximum_version = ssl.TLSVersion.TLSv1_2
        other_cipher.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256")
        with pytest.raises((ssl.SSLError, ConnectionError)):
            _handshake(broker, other_cipher)
        # requested: a client without a certificate is let in, one with a foreign certificate is not
        assert len(_handshake(broker, client_ssl_context(pki.path("ca.pem")))) == 4
        foreign = client_ssl_context(pki.path("ca.pem"), pki.path("foreign_client.crt"), pki.path("foreign_client.key"))
        with pytest.raises((ssl.SSLError, ConnectionError)):
            _handshake(broker, foreign)
        assert confluent_round_trip(ssl_client(pki, broker), "tls12") == b"hello"


def test_a_certificate_no_mapping_rule_applies_to_is_refused(tmp_path: Path, pki: Pki) -> None:
    settings = {
        **keystore_settings(pki, "pkcs12"),
        "listener.name.ssl.ssl.truststore.type": "PEM",
        "listener.name.ssl.ssl.truststore.location": pki.path("ca.pem"),
        "listener.name.ssl.ssl.client.auth": "required",
        "listener.name.ssl.ssl.principal.mapping.rules": "RULE:^CN=(.*?),OU=ops,.*$/$1/L",
    }
    with SecuredBroker(tmp_path, {"PLAINTEXT": "PLAINTEXT", "SSL": "SSL"}, settings) as broker:
        context = client_ssl_context(pki.path("ca.pem"), pki.path("client.crt"), pki.path("client.key"))
        with pytest.raises((ssl.SSLError, ConnectionError)):
            _handshake(broker, context)
        deadline = time.monotonic() + 10
        expected = "No rules apply to CN=client,OU=eng,O=Acme,C=US"
        while expected not in broker.output and time.monotonic() < deadline:
            time.sleep(0.05)
        assert expected in broker.output
