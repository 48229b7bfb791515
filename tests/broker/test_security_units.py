"""broker.security in-process: listener settings, principal mapping, cipher names, JAAS, SCRAM against
kafka-python's own SCRAM client, the credentials file."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kafka.net.sasl.scram import ScramClient

from broker.config import BrokerConfig, ConfigError
from broker.listeners import inter_broker_listener, parse_listeners
from broker.security.authenticator import ListenerSecurity, SaslAuthenticator, kafka_api_name
from broker.security.jaas import parse_jaas
from broker.security.keystores import load_keystore, load_truststore
from broker.security.listener_config import ListenerConfig
from broker.security.principal import NoMatchingRule, PrincipalMapper, distinguished_name
from broker.security.sasl import (
    PlainServer,
    SaslAuthenticationFailed,
    SaslFailed,
    ScramServer,
    credential_from_salted_password,
    salted_password,
)
from broker.security.scram_store import FILE_NAME, LogDirScramStore
from broker.security.tls import openssl_cipher_name


def config(**props: str) -> BrokerConfig:
    return BrokerConfig.from_properties(props)


def test_listeners_get_their_security_protocols() -> None:
    listeners = parse_listeners(
        config(
            listeners="PLAINTEXT://:9092,INTERNAL://127.0.0.1:9093,EXTERNAL://:9094",
            **{"listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,INTERNAL:SASL_PLAINTEXT,EXTERNAL:SASL_SSL"},
        )
    )
    assert [(lst.name, lst.security_protocol) for lst in listeners] == [
        ("PLAINTEXT", "PLAINTEXT"), ("INTERNAL", "SASL_PLAINTEXT"), ("EXTERNAL", "SASL_SSL"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"listeners": "CLIENT://:9092,PLAINTEXT://:9093"}, "No security protocol defined for listener CLIENT"),
        ({"listeners": "PLAINTEXT://:9092,PLAINTEXT://:9093"}, "different name"),
        ({"listeners": "PLAINTEXT://:9092,SSL://:9092"}, "different port"),
        ({"listeners": "PLAINTEXT://:9092", "listener.security.protocol.map": "PLAINTEXT:TLS"}, "unknown security"),
        ({"listeners": "SSL://:9093,SASL_SSL://:9094"}, "inter.broker.listener.name must be a listener name"),
        ({"listeners": "PLAINTEXT://:9092", "inter.broker.listener.name": "OTHER"}, "inter.broker.listener.name"),
        (
            {"listeners": "PLAINTEXT://:9092", "inter.broker.listener.name": "PLAINTEXT",
             "security.inter.broker.protocol": "PLAINTEXT"},
            "Only one of",
        ),
    ],
)  # fmt: skip
def test_listener_settings_refused_as_kafka_refuses_them(props: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_listeners(config(**props))


def test_inter_broker_listener_by_name_or_protocol() -> None:
    c = config(
        listeners="PLAINTEXT://:9092,REPL://:9093",
        **{"listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,REPL:SSL", "inter.broker.listener.name": "repl"},
    )
    assert inter_broker_listener(c, parse_listeners(c)).name == "REPL"
    c = config(listeners="PLAINTEXT://:9092,SSL://:9093", **{"security.inter.broker.protocol": "SSL"})
    assert inter_broker_listener(c, parse_listeners(c)).name == "SSL"


def test_listener_prefixed_settings_win_and_are_validated() -> None:
    c = config(
        **{
            "ssl.client.auth": "requested",
            "listener.name.internal.ssl.client.auth": "required",
            "listener.name.internal.plain.sasl.jaas.config": "x required;",
            "sasl.jaas.config": "y required;",
        }
    )
    assert ListenerConfig(c, "INTERNAL").get("ssl.client.auth") == "required"
    assert ListenerConfig(c, "EXTERNAL").get("ssl.client.auth") == "requested"
    assert ListenerConfig(c, "INTERNAL").jaas_config("PLAIN") == "x required;"
    assert ListenerConfig(c, "INTERNAL").jaas_config("SCRAM-SHA-256") == "y required;"
    with pytest.raises(ConfigError, match=r"ssl\.client\.auth"):
        ListenerConfig(config(**{"listener.name.a.ssl.client.auth": "always"}), "A")


def test_sasl_listener_needs_supported_mechanisms_and_a_jaas_entry() -> None:
    with pytest.raises(ConfigError, match="GSSAPI is not supported"):
        ListenerSecurity.build(config(), "SASL_PLAINTEXT", "SASL_PLAINTEXT")
    with pytest.raises(ConfigError, match=r"plain\.sasl\.jaas\.config"):
        ListenerSecurity.build(config(**{"sasl.enabled.mechanisms": "PLAIN"}), "SASL_PLAINTEXT", "SASL_PLAINTEXT")
    security = ListenerSecurity.build(
        config(**{
            "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-512",
            "listener.name.sasl_plaintext.plain.sasl.jaas.config":
                'org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" '
                'password="admin-secret" user_admin="admin-secret" user_alice="alice secret";',
        }),
        "SASL_PLAINTEXT", "SASL_PLAINTEXT",
    )  # fmt: skip
    assert security.mechanisms == ["PLAIN", "SCRAM-SHA-512"]
    assert security.plain_users == {"admin": "admin-secret", "alice": "alice secret"}


def test_jaas_parsing() -> None:
    module = parse_jaas('com.example.Login optional a=b c="d;e" f="g\\"h";')
    assert (module.name, module.flag) == ("com.example.Login", "optional")
    assert module.options == {"a": "b", "c": "d;e", "f": 'g"h'}
    for bad in ("com.example.Login required a=b", "com.example.Login sometimes;", "a required; b required;", "x y z;"):
        with pytest.raises(ConfigError):
            parse_jaas(bad)


PEERCERT = {
    "subject": ((("countryName", "US"),), (("organizationName", "Acme, Inc"),), (("organizationalUnitName", "eng"),),
                (("commonName", "alice"),), (("emailAddress", "a@x.io"),)),
}  # fmt: skip


def test_distinguished_name_as_java_writes_it() -> None:
    assert distinguished_name(PEERCERT) == "1.2.840.113549.1.9.1=#16066140782e696f,CN=alice,OU=eng,O=Acme\\, Inc,C=US"


def test_principal_mapping_rules() -> None:
    dn = "CN=alice,OU=ServiceUsers,O=Acme,C=US"
    assert PrincipalMapper("DEFAULT").name(dn) == dn
    rules = "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/U, RULE:^CN=(.*?),OU=(.*?),O=(.*?),C=(.*?)$/$1@$2/L,DEFAULT"
    assert PrincipalMapper(rules).name(dn) == "ALICE"
    assert PrincipalMapper(rules).name("CN=Bob,OU=Eng,O=Acme,C=US") == "bob@eng"
    assert PrincipalMapper(rules).name("CN=x") == "CN=x"
    with pytest.raises(NoMatchingRule, match="No rules apply to CN=x"):
        PrincipalMapper("RULE:^CN=(.*?),OU=.*$/$1/").name("CN=x")
    with pytest.raises(ConfigError):
        PrincipalMapper("RULE:broken")


@pytest.mark.parametrize(
    ("iana", "openssl"),
    [
        ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"),
        ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "ECDHE-ECDSA-AES128-SHA256"),
        ("TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"),
        ("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "DHE-RSA-AES128-GCM-SHA256"),
        ("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"),
        ("ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256"),
    ],
)
def test_kafka_cipher_suite_names_become_openssl_names(iana: str, openssl: str) -> None:
    assert openssl_cipher_name(iana) == openssl


def test_plain_mechanism() -> None:
    users = {"alice": "secret"}
    server = PlainServer(users)
    assert server.evaluate(b"\0alice\0secret") == b"" and server.complete and server.username == "alice"
    for token, message in [
        (b"\0alice\0wrong", "Authentication failed: Invalid username or password"),
        (b"\0bob\0secret", "Authentication failed: Invalid username or password"),
        (b"\0\0secret", "Authentication failed: username not specified"),
        (b"bob\0alice\0secret", "different from username"),
    ]:
        with pytest.raises(SaslAuthenticationFailed, match=message):
            PlainServer(users).evaluate(token)
    with pytest.raises(SaslFailed):
        PlainServer(users).evaluate(b"garbage")


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_scram_against_kafka_pythons_client(mechanism: str) -> None:
    salt = b"0123456789abcdef"
    credential = credential_from_salted_password(mechanism, salted_password(mechanism, "pw", salt, 4096), salt, 4096)
    lookup = {("alice", mechanism): credential}

    def exchange(password: str) -> ScramServer:
        client = ScramClient("alice", password, mechanism)
        server = ScramServer(mechanism, lambda u, m: lookup.get((u, m)))
        client.process_server_first_message(server.evaluate(client.first_message()))
        client.process_server_final_message(server.evaluate(client.final_message()))
        return server

    assert exchange("pw").complete
    with pytest.raises(SaslFailed, match="Invalid client credentials"):
        exchange("wrong")
    with pytest.raises(SaslFailed, match="Invalid user credentials"):
        ScramServer(mechanism, lambda u, m: None).evaluate(ScramClient("bob", "pw", mechanism).first_message())


def test_credentials_file_keeps_kafkas_form(tmp_path: Path) -> None:
    store = LogDirScramStore(str(tmp_path))
    salt = b"salt-salt-salt"
    credential = credential_from_salted_password("SCRAM-SHA-256", b"k" * 32, salt, 8192)
    store.alter({("alice", "SCRAM-SHA-256"): credential}, set())
    document = json.loads((tmp_path / FILE_NAME).read_text())
    assert document["alice"]["version"] == 1
    assert document["alice"]["config"]["SCRAM-SHA-256"].startswith("salt=c2FsdC1zYWx0LXNhbHQ=,stored_key=")
    assert document["alice"]["config"]["SCRAM-SHA-256"].endswith(",iterations=8192")
    again = LogDirScramStore(str(tmp_path))
    again.load()
    assert again.get("alice", "SCRAM-SHA-256") == credential
    again.alter({}, {("alice", "SCRAM-SHA-256")})
    assert json.loads((tmp_path / FILE_NAME).read_text()) == {}


def test_unexpected_requests_before_authentication_close() -> None:
    security = ListenerSecurity("SASL_PLAINTEXT", "SASL_PLAINTEXT", mechanisms=["PLAIN"], plain_users={"a": "b"})
    from broker.security.scram_store import ScramCredentialStore

    sasl = SaslAuthenticator(security, ScramCredentialStore(), "/127.0.0.1")
    sasl.check_request(18, "ApiVersions")
    sasl.api_versions_answered()
    from broker.security.authenticator import UnexpectedRequest

    with pytest.raises(UnexpectedRequest, match=r"Unexpected Kafka request of type METADATA during SASL handshake\."):
        sasl.check_request(3, "Metadata")
    assert kafka_api_name("DescribeUserScramCredentials") == "DESCRIBE_USER_SCRAM_CREDENTIALS"


def test_default_store_type_jks_reads_pkcs12_files_as_the_jvm_does(tmp_path: Path) -> None:
    from tests.certs import PASSWORD, Pki

    pki = Pki.make(tmp_path)
    lc = ListenerConfig(
        config(**{"ssl.keystore.location": pki.broker_pkcs12(), "ssl.keystore.password": PASSWORD,
                  "ssl.truststore.location": pki.truststore_pkcs12(), "ssl.truststore.password": PASSWORD}),
        "SSL",
    )  # fmt: skip
    material = load_keystore(lc)
    assert material is not None and pki.broker.cert_pem in material.chain_pem
    assert load_truststore(lc) == pki.ca.cert_pem
    jks_lc = ListenerConfig(
        config(**{"ssl.keystore.location": pki.broker_jks(), "ssl.keystore.password": PASSWORD,
                  "ssl.truststore.location": pki.truststore_jks(), "ssl.truststore.password": PASSWORD}),
        "SSL",
    )  # fmt: skip
    jks_material = load_keystore(jks_lc)
    assert jks_material is not None and pki.broker.cert_pem in jks_material.chain_pem
    assert load_truststore(jks_lc) == pki.ca.cert_pem
    with pytest.raises(ConfigError, match=r"cannot decrypt|cannot read"):
        load_keystore(ListenerConfig(config(**{"ssl.keystore.location": pki.broker_jks(),
                                               "ssl.keystore.password": "wrong"}), "SSL"))  # fmt: skip


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_any_token_is_an_answer_or_a_sasl_failure(token: bytes) -> None:
    """Bytes from a client never break a mechanism: an answer, or SaslFailed (the client's fault)."""
    salt = b"s" * 16
    credential = credential_from_salted_password("SCRAM-SHA-256", b"k" * 32, salt, 4096)
    for server in (PlainServer({"a": "b"}), ScramServer("SCRAM-SHA-256", lambda u, m: credential)):
        with contextlib.suppress(SaslFailed):
            server.evaluate(token)
    scram = ScramServer("SCRAM-SHA-256", lambda u, m: credential)
    scram.evaluate(b"n,,n=a,r=abc")
    with contextlib.suppress(SaslFailed):
        scram.evaluate(token)


@given(st.text(max_size=120))
@settings(max_examples=300, deadline=None)
def test_any_jaas_or_rules_text_parses_or_is_a_config_error(text: str) -> None:
    with contextlib.suppress(ConfigError):
        parse_jaas(text)
    with contextlib.suppress(ConfigError, NoMatchingRule):
        PrincipalMapper(text).name("CN=a")
