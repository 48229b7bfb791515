"""Re-authentication (KIP-368, ``connections.max.reauth.ms``): sessions expire, clients re-authenticate on
the same connection, an expired session is closed, and a re-authentication cannot change the principal."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Producer

from protocol.errors import ErrorCode
from protocol.messages.metadata import MetadataRequest
from protocol.messages.sasl_authenticate import SaslAuthenticateRequest
from protocol.messages.sasl_handshake import SaslHandshakeRequest
from tests.raw_client import RawClient
from tests.security_broker import SecuredBroker

JAAS = (
    'org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret" user_bob="bob-secret";'
)
REAUTH_MS = 1500
SASL_HANDSHAKE, SASL_AUTHENTICATE, METADATA = 17, 36, 3


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredBroker]:
    settings = {
        "sasl.enabled.mechanisms": "PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS,
        "connections.max.reauth.ms": str(REAUTH_MS),
    }
    listeners = {"PLAINTEXT": "PLAINTEXT", "SASL_PLAINTEXT": "SASL_PLAINTEXT"}
    with SecuredBroker(tmp_path_factory.mktemp("broker"), listeners, settings) as process:
        yield process


def authenticated(broker: SecuredBroker, user: str = "alice", password: str = "alice-secret") -> RawClient:
    client = RawClient(broker, port=broker.ports["SASL_PLAINTEXT"], timeout_s=10)
    assert client.request(SASL_HANDSHAKE, 1, SaslHandshakeRequest(mechanism="PLAIN")).error_code == 0
    answer = client.request(SASL_AUTHENTICATE, 2, SaslAuthenticateRequest(auth_bytes=f"\0{user}\0{password}".encode()))
    assert (answer.error_code, answer.session_lifetime_ms) == (0, REAUTH_MS)
    return client


def test_an_expired_session_is_closed_at_its_next_request(broker: SecuredBroker) -> None:
    client = authenticated(broker)
    assert client.request(METADATA, 1, MetadataRequest(topics=None)).brokers
    time.sleep(REAUTH_MS / 1000 + 0.3)
    client.send(METADATA, 1, MetadataRequest(topics=None))
    assert client.reads_eof()


def test_reauthentication_extends_the_session_and_keeps_the_principal(broker: SecuredBroker) -> None:
    client = authenticated(broker)
    for _ in range(3):
        time.sleep(REAUTH_MS / 1000 * 0.6)
        assert client.request(SASL_HANDSHAKE, 1, SaslHandshakeRequest(mechanism="PLAIN")).error_code == 0
        again = client.request(SASL_AUTHENTICATE, 2, SaslAuthenticateRequest(auth_bytes=b"\0alice\0alice-secret"))
        assert (again.error_code, again.session_lifetime_ms) == (0, REAUTH_MS)
        assert client.request(METADATA, 1, MetadataRequest(topics=None)).brokers
    client.request(SASL_HANDSHAKE, 1, SaslHandshakeRequest(mechanism="PLAIN"))
    other = client.request(SASL_AUTHENTICATE, 2, SaslAuthenticateRequest(auth_bytes=b"\0bob\0bob-secret"))
    assert other.error_code == ErrorCode.SASL_AUTHENTICATION_FAILED
    assert other.error_message == "Cannot change principals during re-authentication from User:alice: User:bob"
    assert client.reads_eof()


def test_librdkafka_reauthenticates_while_producing(broker: SecuredBroker) -> None:
    expired_before = broker.output.count("without re-authentication")
    errors: list[Any] = []
    producer = Producer({
        "bootstrap.servers": broker.bootstrap_of("SASL_PLAINTEXT"), "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "PLAIN", "sasl.username": "alice", "sasl.password": "alice-secret",
        "error_cb": errors.append, "linger.ms": 0,
    })  # fmt: skip
    delivered: list[Any] = []
    deadline = time.monotonic() + REAUTH_MS / 1000 * 4
    while time.monotonic() < deadline:
        producer.produce("reauth", b"x", on_delivery=lambda err, msg: delivered.append(err))
        producer.poll(0.1)
    assert producer.flush(30) == 0
    assert delivered and all(err is None for err in delivered)
    assert broker.output.count("without re-authentication") == expired_before
    assert errors == []
