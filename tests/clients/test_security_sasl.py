"""SASL listeners with real clients: PLAIN users from the JAAS property, SCRAM-SHA-256/512 users made with
AlterUserScramCredentials, refused credentials with Kafka's messages, and the protocol rules before
authentication (raw requests on real sockets)."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._scram import (
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from protocol.errors import ErrorCode
from protocol.messages.metadata import MetadataRequest
from protocol.messages.sasl_authenticate import SaslAuthenticateRequest
from protocol.messages.sasl_handshake import SaslHandshakeRequest
from tests.certs import PASSWORD, Pki
from tests.clients.secure_clients import (
    aiokafka_round_trip,
    client_ssl_context,
    confluent_auth_error,
    confluent_round_trip,
    kafka_python_round_trip,
    kcat,
)
from tests.raw_client import RawClient
from tests.security_broker import SecuredBroker

JAAS = (
    "org.apache.kafka.common.security.plain.PlainLoginModule required "
    'username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";'
)
SASL_HANDSHAKE, SASL_AUTHENTICATE, METADATA = 17, 36, 3


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki.make(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[SecuredBroker]:
    listeners = {"PLAINTEXT": "PLAINTEXT", "SASL_PLAINTEXT": "SASL_PLAINTEXT", "SASL_SSL": "SASL_SSL"}
    settings = {
        "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS,
        "listener.name.sasl_ssl.plain.sasl.jaas.config": JAAS,
        "listener.name.sasl_ssl.ssl.keystore.type": "PKCS12",
        "listener.name.sasl_ssl.ssl.keystore.location": pki.broker_pkcs12(),
        "listener.name.sasl_ssl.ssl.keystore.password": PASSWORD,
        "connection.failed.authentication.delay.ms": "50",
    }
    with SecuredBroker(tmp_path_factory.mktemp("broker"), listeners, settings) as process:
        admin = AdminClient({"bootstrap.servers": process.bootstrap})
        alterations: list[Any] = [
            UserScramCredentialUpsertion("carol", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 8192), b"carol-pw"),
            UserScramCredentialUpsertion("carol", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), b"carol-pw"),
            UserScramCredentialUpsertion("dave", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), b"dave-pw"),
        ]
        for future in admin.alter_user_scram_credentials(alterations).values():
            future.result(timeout=30)
        yield process
        (tmp_path_factory.getbasetemp() / "sasl-broker.log").write_text(process.output)
        assert "Traceback" not in process.output and " ERROR " not in process.output


def sasl_config(broker: SecuredBroker, pki: Pki, listener: str, mechanism: str, user: str, pw: str) -> dict[str, Any]:
    config = {"bootstrap.servers": broker.bootstrap_of(listener), "security.protocol": listener,
              "sasl.mechanism": mechanism, "sasl.username": user, "sasl.password": pw}  # fmt: skip
    if listener == "SASL_SSL":
        config["ssl.ca.location"] = pki.path("ca.pem")
    return config


@pytest.mark.parametrize("listener", ["SASL_PLAINTEXT", "SASL_SSL"])
@pytest.mark.parametrize(
    ("mechanism", "user", "pw"),
    [("PLAIN", "alice", "alice-secret"), ("SCRAM-SHA-256", "carol", "carol-pw"), ("SCRAM-SHA-512", "dave", "dave-pw")],
)
def test_confluent_authenticates(
    broker: SecuredBroker, pki: Pki, listener: str, mechanism: str, user: str, pw: str
) -> None:
    topic = f"c-{listener}-{mechanism}".lower()
    assert confluent_round_trip(sasl_config(broker, pki, listener, mechanism, user, pw), topic) == b"hello"


@pytest.mark.parametrize(
    ("mechanism", "user", "pw", "message"),
    [
        ("PLAIN", "alice", "wrong", "Authentication failed: Invalid username or password"),
        ("PLAIN", "mallory", "alice-secret", "Authentication failed: Invalid username or password"),
        ("SCRAM-SHA-256", "carol", "wrong",
         "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256"),
        ("SCRAM-SHA-256", "dave", "dave-pw",  # dave has no SCRAM-SHA-256 credential
         "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256"),
        ("SCRAM-SHA-512", "nobody", "pw",
         "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"),
    ],
)  # fmt: skip
def test_refused_credentials_get_kafkas_message(
    broker: SecuredBroker, pki: Pki, mechanism: str, user: str, pw: str, message: str
) -> None:
    assert message in confluent_auth_error(sasl_config(broker, pki, "SASL_PLAINTEXT", mechanism, user, pw))


@pytest.mark.parametrize(
    ("mechanism", "user", "pw"), [("PLAIN", "alice", "alice-secret"), ("SCRAM-SHA-512", "dave", "dave-pw")]
)
def test_kafka_python_and_aiokafka(broker: SecuredBroker, pki: Pki, mechanism: str, user: str, pw: str) -> None:
    for listener in ("SASL_PLAINTEXT", "SASL_SSL"):
        config: dict[str, Any] = {
            "bootstrap_servers": broker.bootstrap_of(listener), "security_protocol": listener,
            "sasl_mechanism": mechanism, "sasl_plain_username": user, "sasl_plain_password": pw,
        }  # fmt: skip
        if listener == "SASL_SSL":
            config["ssl_context"] = client_ssl_context(pki.path("ca.pem"))
        topic = f"py-{listener}-{mechanism}".lower()
        assert kafka_python_round_trip(config, topic, b"kafka-python") == b"kafka-python"
        assert aiokafka_round_trip(config, topic + "-aio", b"aiokafka") == b"aiokafka"


def test_kafka_python_wrong_password_is_refused(broker: SecuredBroker) -> None:
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    # kafka-python 3 retries a refused bootstrap for bootstrap_timeout_ms (30 s by default) before it gives up
    shorter = {"bootstrap_timeout_ms": 5000} if "bootstrap_timeout_ms" in KafkaProducer.DEFAULT_CONFIG else {}
    with pytest.raises((KafkaError, OSError)):
        KafkaProducer(
            bootstrap_servers=broker.bootstrap_of("SASL_PLAINTEXT"), security_protocol="SASL_PLAINTEXT",
            sasl_mechanism="SCRAM-SHA-256", sasl_plain_username="carol", sasl_plain_password="wrong",
            max_block_ms=10000, **shorter,
        ).send("x", b"x").get(timeout=10)  # fmt: skip


def test_kcat(broker: SecuredBroker, pki: Pki) -> None:
    settings = {"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-256", "sasl.username": "carol",
                "sasl.password": "carol-pw", "ssl.ca.location": pki.path("ca.pem")}  # fmt: skip
    bootstrap = broker.bootstrap_of("SASL_SSL")
    produced = kcat(bootstrap, settings, "-P", "-t", "kcat-sasl", stdin=b"over sasl_ssl\n")
    assert produced.returncode == 0, produced.stderr.decode()
    consumed = kcat(bootstrap, settings, "-C", "-t", "kcat-sasl", "-o", "beginning", "-e")
    assert consumed.stdout.strip() == b"over sasl_ssl", consumed.stderr.decode()
    refused = kcat(bootstrap, {**settings, "sasl.password": "nope"}, "-L")
    assert refused.returncode != 0
    assert b"Authentication failed during authentication due to invalid credentials" in refused.stderr


def test_scram_credentials_admin(broker: SecuredBroker) -> None:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    described = admin.describe_user_scram_credentials(["carol", "dave"])
    assert isinstance(described, dict)
    infos = described["carol"].result(timeout=30).scram_credential_infos
    carol = sorted(((i.mechanism, i.iterations) for i in infos), key=lambda item: item[0].value)
    assert carol == [(ScramMechanism.SCRAM_SHA_256, 8192), (ScramMechanism.SCRAM_SHA_512, 4096)]
    nobody = admin.describe_user_scram_credentials(["nobody"])
    assert isinstance(nobody, dict)
    with pytest.raises(KafkaException, match="does not exist"):
        nobody["nobody"].result(timeout=30)
    futures = admin.alter_user_scram_credentials([
        UserScramCredentialUpsertion("erin", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 1000), b"pw"),
        UserScramCredentialDeletion("nobody", ScramMechanism.SCRAM_SHA_256),
    ])  # fmt: skip
    with pytest.raises(KafkaException, match="Too few iterations"):
        futures["erin"].result(timeout=30)
    with pytest.raises(KafkaException, match="does not exist"):
        futures["nobody"].result(timeout=30)
    upsert = UserScramCredentialUpsertion("frank", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096), b"f-pw")
    admin.alter_user_scram_credentials([upsert])["frank"].result(timeout=30)
    config = {"bootstrap.servers": broker.bootstrap_of("SASL_PLAINTEXT"), "security.protocol": "SASL_PLAINTEXT",
              "sasl.mechanism": "SCRAM-SHA-256", "sasl.username": "frank", "sasl.password": "f-pw"}  # fmt: skip
    assert confluent_round_trip(config, "frank-topic") == b"hello"
    deletion = UserScramCredentialDeletion("frank", ScramMechanism.SCRAM_SHA_256)
    admin.alter_user_scram_credentials([deletion])["frank"].result(timeout=30)
    assert "Authentication failed during authentication" in confluent_auth_error(config)


def raw(broker: SecuredBroker, listener: str = "SASL_PLAINTEXT") -> RawClient:
    return RawClient(broker, port=broker.ports[listener], timeout_s=10)


def wait_for_log(broker: SecuredBroker, text: str) -> None:
    deadline = time.monotonic() + 10
    while text not in broker.output and time.monotonic() < deadline:
        time.sleep(0.05)
    assert text in broker.output


def test_requests_before_authentication_close_the_connection(broker: SecuredBroker) -> None:
    client = raw(broker)
    client.send(METADATA, 1, MetadataRequest(topics=None))
    assert client.reads_eof()
    wait_for_log(broker, "Unexpected Kafka request of type METADATA during SASL handshake.")
    client = raw(broker)
    assert client.request(SASL_HANDSHAKE, 1, SaslHandshakeRequest(mechanism="PLAIN")).error_code == 0
    client.send(METADATA, 1, MetadataRequest(topics=None))  # only SaslAuthenticate now
    assert client.reads_eof()


def test_v1_handshake_then_authenticate_then_requests(broker: SecuredBroker) -> None:
    client = raw(broker)
    handshake = client.request(SASL_HANDSHAKE, 1, SaslHandshakeRequest(mechanism="PLAIN"))
    assert (handshake.error_code, handshake.mechanisms) == (0, ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
    answer = client.request(SASL_AUTHENTICATE, 2, SaslAuthenticateRequest(auth_bytes=b"\0alice\0alice-secret"))
    assert (answer.error_code, answer.error_message) == (0, None)
    assert client.request(METADATA, 1, MetadataRequest(topics=None)).brokers[0].port == broker.ports["SASL_PLAINTEXT"]
    again = client.request(SASL_AUTHENTICATE, 2, SaslAuthenticateRequest(auth_bytes=b"\0alice\0alice-secret"))
    assert again.error_code == ErrorCode.ILLEGAL_SASL_STATE
    assert again.error_message == "SaslAuthenticate request received after successful authentication"
    assert (
        client.request(SASL_HANDSHAKE, 1, SaslHandshakeRequest(mechanism="PLAIN")).error_code
        == ErrorCode.ILLEGAL_SASL_STATE
    )


def test_v0_handshake_then_bare_tokens(broker: SecuredBroker) -> None:
    client = raw(broker)
    assert client.request(SASL_HANDSHAKE, 0, SaslHandshakeRequest(mechanism="PLAIN")).error_code == 0
    token = b"\0alice\0alice-secret"
    client.send_bytes(struct.pack(">i", len(token)) + token)
    assert client.read_frame() == b""  # PLAIN's empty answer, as a bare frame
    assert client.request(METADATA, 1, MetadataRequest(topics=None)).brokers
    client = raw(broker)
    client.request(SASL_HANDSHAKE, 0, SaslHandshakeRequest(mechanism="PLAIN"))
    token = b"\0alice\0wrong"
    client.send_bytes(struct.pack(">i", len(token)) + token)
    assert client.reads_eof()  # no answer: the connection closes


def test_bad_tokens_close_that_connection_only(broker: SecuredBroker) -> None:
    bystander = raw(broker, "PLAINTEXT")
    client = raw(broker)
    client.request(SASL_HANDSHAKE, 1, SaslHandshakeRequest(mechanism="PLAIN"))
    answer = client.request(SASL_AUTHENTICATE, 1, SaslAuthenticateRequest(auth_bytes=b"garbage without separators"))
    assert answer.error_code == ErrorCode.SASL_AUTHENTICATION_FAILED
    assert answer.error_message == (
        "Authentication failed during authentication due to invalid credentials with SASL mechanism PLAIN"
    )
    assert client.reads_eof()
    wait_for_log(broker, "Invalid SASL/PLAIN response: expected 3 tokens, got 1")
    client = raw(broker)
    client.request(SASL_HANDSHAKE, 1, SaslHandshakeRequest(mechanism="PLAIN"))
    client.send_bytes(struct.pack(">i", 600_000) + b"x" * 1000)  # over sasl.server.max.receive.size
    assert client.reads_eof()
    wait_for_log(broker, "over sasl.server.max.receive.size=524288")
    time.sleep(0.5)  # anything more it would log about these two connections comes at once
    assert broker.output.count("expected 3 tokens") == 1  # one line each, nothing else
    assert broker.output.count("sasl.server.max.receive.size") == 1
    assert "Traceback" not in broker.output
    client = raw(broker)
    refused = client.request(SASL_HANDSHAKE, 1, SaslHandshakeRequest(mechanism="GSSAPI"))
    assert (refused.error_code, refused.mechanisms) == (
        ErrorCode.UNSUPPORTED_SASL_MECHANISM, ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"],
    )  # fmt: skip
    assert client.reads_eof()
    assert bystander.request(METADATA, 1, MetadataRequest(topics=None)).brokers


def test_handshake_on_a_plaintext_listener_is_illegal(broker: SecuredBroker) -> None:
    client = raw(broker, "PLAINTEXT")
    assert client.request(SASL_HANDSHAKE, 1, SaslHandshakeRequest(mechanism="PLAIN")).error_code == 34
    assert client.request(METADATA, 1, MetadataRequest(topics=None)).brokers


def test_scram_credentials_survive_a_restart(tmp_path: Path) -> None:
    listeners = {"PLAINTEXT": "PLAINTEXT", "SASL_PLAINTEXT": "SASL_PLAINTEXT"}
    with SecuredBroker(tmp_path, listeners, {"sasl.enabled.mechanisms": "SCRAM-SHA-256"}) as broker:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        upsert = UserScramCredentialUpsertion("gina", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096), b"g-pw")
        admin.alter_user_scram_credentials([upsert])["gina"].result(timeout=30)
        broker.restart()
        config = {"bootstrap.servers": broker.bootstrap_of("SASL_PLAINTEXT"), "security.protocol": "SASL_PLAINTEXT",
                  "sasl.mechanism": "SCRAM-SHA-256", "sasl.username": "gina", "sasl.password": "g-pw"}  # fmt: skip
        assert confluent_round_trip(config, "after-restart") == b"hello"
        stored = (broker.log_dir / "user-scram-credentials.json").read_text()
        assert "g-pw" not in stored and '"SCRAM-SHA-256": "salt=' in stored


JS = Path(__file__).resolve().parent / "js"
NODE = shutil.which("node")


def kafkajs(*args: str) -> dict[str, Any]:
    assert NODE is not None
    done = subprocess.run([NODE, str(JS / "secure.js"), *args], capture_output=True, text=True, timeout=90, cwd=JS)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.skipif(
    not os.environ.get("CI") and (NODE is None or not (JS / "node_modules" / "kafkajs").is_dir()),
    reason="needs node and kafkajs: `npm ci --prefix tests/clients/js` (make unit does it)",
)
def test_kafkajs(broker: SecuredBroker, pki: Pki) -> None:
    plain = broker.bootstrap_of("SASL_PLAINTEXT")
    assert kafkajs(plain, "js-plain", "js-g1", "PLAIN", "alice", "alice-secret") == {"value": "from kafkajs"}
    tls = broker.bootstrap_of("SASL_SSL")
    ca = pki.path("ca.pem")
    assert kafkajs(tls, "js-scram", "js-g2", "SCRAM-SHA-256", "carol", "carol-pw", ca) == {"value": "from kafkajs"}
    refused = kafkajs(plain, "js-no", "js-g3", "PLAIN", "alice", "wrong")
    assert "Authentication failed: Invalid username or password" in refused["error"]
    refused = kafkajs(tls, "js-no", "js-g3", "SCRAM-SHA-512", "dave", "wrong", ca)
    assert "invalid credentials with SASL mechanism SCRAM-SHA-512" in refused["error"]
