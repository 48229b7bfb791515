"""What a listener requires of its connections, and where each connection stands, before requests run.

``ListenerSecurity`` is built once per listener at start-up (bad settings stop the broker there): its
security protocol, its ``ssl.SSLContext`` and principal mapping for SSL/SASL_SSL, its SASL mechanisms
and PLAIN users for SASL_PLAINTEXT/SASL_SSL.

``SaslAuthenticator`` is one connection's SASL state machine, as Kafka's ``SaslServerAuthenticator``:

    HANDSHAKE_OR_VERSIONS --ApiVersions--> HANDSHAKE --SaslHandshake v1--> AUTHENTICATE --done--> COMPLETE
              \\--------------SaslHandshake v0--------------------------> AUTHENTICATE_RAW --done--/
    any state --failure--> FAILED (the answer, if any, is sent, then the connection closes)

Before COMPLETE only those requests are let through; anything else closes the connection with Kafka's
"Unexpected Kafka request of type <API> during SASL handshake." In AUTHENTICATE_RAW (a v0 handshake, as
pre-KIP-152 clients do) frames carry bare SASL tokens and the answers are bare tokens too.
"""

from __future__ import annotations

import enum
import logging
import re
import ssl
import time
from dataclasses import dataclass, field

from broker.config import BrokerConfig, ConfigError
from broker.security.jaas import parse_jaas
from broker.security.listener_config import ListenerConfig
from broker.security.principal import ANONYMOUS, PrincipalMapper
from broker.security.sasl import (
    SCRAM_MECHANISMS,
    Mechanism,
    PlainServer,
    SaslAuthenticationFailed,
    SaslFailed,
    ScramServer,
    generic_failure,
)
from broker.security.scram_store import ScramCredentialStore
from broker.security.tls import server_context

log = logging.getLogger(__name__)

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", *SCRAM_MECHANISMS)
_PLAIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule"


@dataclass(slots=True)
class ListenerSecurity:
    listener: str
    protocol: str
    ssl_context: ssl.SSLContext | None = None
    principal_mapper: PrincipalMapper | None = None
    mechanisms: list[str] = field(default_factory=list)
    plain_users: dict[str, str] = field(default_factory=dict)
    max_receive_size: int = 524288
    failed_delay_s: float = 0.1
    max_reauth_ms: int = 0  # connections.max.reauth.ms: > 0, sessions expire and clients re-authenticate

    @property
    def sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    @classmethod
    def build(cls, config: BrokerConfig, listener: str, protocol: str) -> ListenerSecurity:
        if protocol not in PROTOCOLS:
            raise ConfigError(f"listener {listener}: unknown security protocol {protocol}")
        lc = ListenerConfig(config, listener)
        security = cls(listener, protocol)
        if protocol in ("SSL", "SASL_SSL"):
            security.ssl_context = server_context(lc)
            security.principal_mapper = PrincipalMapper(lc.get("ssl.principal.mapping.rules"))
        if security.sasl:
            security._configure_sasl(lc)
        return security

    def _configure_sasl(self, lc: ListenerConfig) -> None:
        self.mechanisms = [m.upper() for m in lc.get("sasl.enabled.mechanisms") or []]
        if not self.mechanisms:
            raise ConfigError(f"listener {self.listener}: sasl.enabled.mechanisms is empty")
        for mechanism in self.mechanisms:
            if mechanism not in MECHANISMS:
                raise ConfigError(
                    f"listener {self.listener}: SASL mechanism {mechanism} is not supported "
                    f"(set {lc.prefix}sasl.enabled.mechanisms to some of {', '.join(MECHANISMS)})"
                )
        if "PLAIN" in self.mechanisms:
            text = lc.jaas_config("PLAIN")
            if text is None:
                raise ConfigError(
                    f"listener {self.listener} enables PLAIN but has no JAAS configuration: set "
                    f"{lc.prefix}plain.sasl.jaas.config"
                )
            module = parse_jaas(text)
            if module.name != _PLAIN_MODULE:
                raise ConfigError(f"listener {self.listener}: PLAIN needs {_PLAIN_MODULE}, not {module.name}")
            self.plain_users = {k[5:]: v for k, v in module.options.items() if k.startswith("user_")}
        self.max_receive_size = int(lc.get("sasl.server.max.receive.size"))
        self.failed_delay_s = int(lc.get("connection.failed.authentication.delay.ms")) / 1000
        self.max_reauth_ms = max(0, int(lc.get("connections.max.reauth.ms")))


class SaslState(enum.Enum):
    HANDSHAKE_OR_VERSIONS = "HANDSHAKE_OR_VERSIONS_REQUEST"
    HANDSHAKE = "HANDSHAKE_REQUEST"
    AUTHENTICATE = "AUTHENTICATE"
    AUTHENTICATE_RAW = "AUTHENTICATE_RAW"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"


class UnexpectedRequest(Exception):
    """A request the SASL state does not allow: the connection closes."""


def kafka_api_name(name: str) -> str:
    """``ApiVersions`` -> ``API_VERSIONS``, as Kafka's ``ApiKeys`` enum names them."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).upper()


_API_VERSIONS, _SASL_HANDSHAKE, _SASL_AUTHENTICATE = 18, 17, 36


class SaslAuthenticator:
    def __init__(self, security: ListenerSecurity, store: ScramCredentialStore, peer: str) -> None:
        self.security = security
        self.store = store
        self.peer = peer
        self.state = SaslState.HANDSHAKE_OR_VERSIONS
        self.mechanism: Mechanism | None = None
        self.principal = ANONYMOUS
        self.reauthenticating = False
        self.expires_at: float | None = None  # time.monotonic() when the session ends (KIP-368)

    @property
    def session_lifetime_ms(self) -> int:
        return self.security.max_reauth_ms

    def expired(self) -> bool:
        return self.expires_at is not None and time.monotonic() >= self.expires_at

    @property
    def may_reauthenticate(self) -> bool:
        return self.complete and self.security.max_reauth_ms > 0

    @property
    def complete(self) -> bool:
        return self.state is SaslState.COMPLETE

    @property
    def failed(self) -> bool:
        return self.state is SaslState.FAILED

    @property
    def raw(self) -> bool:
        return self.state is SaslState.AUTHENTICATE_RAW

    def check_request(self, api_key: int, api_name: str) -> None:
        """Raises UnexpectedRequest unless the state lets a request of ``api_key`` through."""
        state = self.state
        if state is SaslState.COMPLETE or self.reauthenticating:
            return  # re-authenticating, the connection stays authenticated until the new session fails
        if state is SaslState.HANDSHAKE_OR_VERSIONS and api_key in (_API_VERSIONS, _SASL_HANDSHAKE):
            return
        if state is SaslState.HANDSHAKE and api_key == _SASL_HANDSHAKE:
            return
        if state is SaslState.AUTHENTICATE and api_key == _SASL_AUTHENTICATE:
            return
        self.state = SaslState.FAILED
        during = "SASL authentication" if state is SaslState.AUTHENTICATE else "SASL handshake"
        raise UnexpectedRequest(f"Unexpected Kafka request of type {kafka_api_name(api_name)} during {during}.")

    def api_versions_answered(self) -> None:
        if self.state is SaslState.HANDSHAKE_OR_VERSIONS:
            self.state = SaslState.HANDSHAKE

    def handshake(self, mechanism: str, version: int) -> bool:
        """The client picks ``mechanism``; False (and FAILED) when this listener does not enable it.
        On a complete session with ``connections.max.reauth.ms`` set, it begins a re-authentication
        (KIP-368): same mechanism, v1 framing, and in the end the same principal."""
        if self.complete:
            assert self.mechanism is not None
            if mechanism != self.mechanism.name or version < 1:
                self.state = SaslState.FAILED
                log.info(
                    "Failed re-authentication with %s (SASL mechanism '%s' requested by client is not supported "
                    "for re-authentication of mechanism '%s')", self.peer, mechanism, self.mechanism.name,
                )  # fmt: skip
                return False
            self.reauthenticating = True
        elif mechanism not in self.security.mechanisms:
            self.state = SaslState.FAILED
            log.info("Failed authentication with %s (Unsupported SASL mechanism %s)", self.peer, mechanism)
            return False
        if mechanism == "PLAIN":
            self.mechanism = PlainServer(self.security.plain_users)
        else:
            self.mechanism = ScramServer(mechanism, self.store.get)
        self.state = SaslState.AUTHENTICATE if version >= 1 else SaslState.AUTHENTICATE_RAW
        return True

    def evaluate(self, token: bytes) -> tuple[bytes, str | None]:
        """One client token: the server's answer and None, or (on failure, state FAILED) b"" and the message
        for the client. Logs one line on failure."""
        mechanism = self.mechanism
        assert mechanism is not None
        try:
            answer = mechanism.evaluate(token)
        except SaslAuthenticationFailed as exc:
            message = str(exc)
        except SaslFailed as exc:
            log.info("Failed %s with %s (%s: %s)", self._phase, self.peer, mechanism.name, exc)
            self.state = SaslState.FAILED
            return b"", generic_failure(mechanism.name, self._phase)
        else:
            if mechanism.complete:
                principal = f"User:{mechanism.username}"
                if self.reauthenticating and principal != self.principal:
                    message = f"Cannot change principals during re-authentication from {self.principal}: {principal}"
                    log.info("Failed re-authentication with %s (%s)", self.peer, message)
                    self.state = SaslState.FAILED
                    return b"", message
                self.state = SaslState.COMPLETE
                self.principal, self.reauthenticating = principal, False
                if self.security.max_reauth_ms > 0:
                    self.expires_at = time.monotonic() + self.security.max_reauth_ms / 1000
                log.debug("%s authenticated as %s with %s", self.peer, self.principal, mechanism.name)
            return answer, None
        log.info("Failed %s with %s (%s)", self._phase, self.peer, message)
        self.state = SaslState.FAILED
        return b"", message

    @property
    def _phase(self) -> str:
        return "re-authentication" if self.reauthenticating else "authentication"


@dataclass(slots=True)
class ConnectionSecurity:
    """One connection's security: its listener's, its principal, its SASL state (SASL listeners)."""

    listener: ListenerSecurity
    tls_principal: str = ANONYMOUS  # from the client's certificate
    sasl: SaslAuthenticator | None = None

    @property
    def principal(self) -> str:
        """Kafka's default principal builder: SASL's user once authenticated, else the certificate's."""
        if self.sasl is not None:
            return self.sasl.principal
        return self.tls_principal

    @property
    def authenticated(self) -> bool:
        return self.sasl is None or self.sasl.complete
