"""SASL server mechanisms: PLAIN (RFC 4616) and SCRAM-SHA-256/512 (RFC 5802, 7677), sans-I/O.

A mechanism takes the client's tokens one at a time (``evaluate``) and answers the server's token, until
``complete``; then ``username`` is authenticated. Failures raise:
- ``SaslAuthenticationFailed``: its message is sent to the client as it is (Kafka's
  ``SaslAuthenticationException``), e.g. ``Authentication failed: Invalid username or password``;
- ``SaslFailed``: the client is told only ``Authentication failed during authentication due to invalid
  credentials with SASL mechanism <M>`` (Kafka keeps a ``SaslException``'s detail, which may say whether a
  user exists, to the broker's log).

PLAIN checks ``user_<name>="<password>"`` options of the listener's PLAIN JAAS entry, comparing in
constant time. SCRAM reads credentials from a ``ScramCredentialStore`` and follows Kafka's
``ScramSaslServer``: gs2 header ``n,`` with an optional authorization id that must equal the user name;
the server nonce extends the client's, and the final message's nonce must *end with* it (Kafka's check;
librdkafka 2.0 repeats the client's part); the proof is checked against the stored key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

SCRAM_MECHANISMS = {"SCRAM-SHA-256": ("sha256", 1), "SCRAM-SHA-512": ("sha512", 2)}  # hash, Kafka's type id
MIN_ITERATIONS, MAX_ITERATIONS = 4096, 16384


class SaslFailed(Exception):
    """Authentication failed; the detail is for the broker's log only."""


class SaslAuthenticationFailed(SaslFailed):
    """Authentication failed; the message is the client's to see."""


def generic_failure(mechanism: str, phase: str = "authentication") -> str:
    return f"Authentication failed during {phase} due to invalid credentials with SASL mechanism {mechanism}"


class Mechanism:
    name = ""
    complete = False
    username = ""

    def evaluate(self, token: bytes) -> bytes:
        raise NotImplementedError


class PlainServer(Mechanism):
    name = "PLAIN"

    def __init__(self, users: dict[str, str]) -> None:
        self.users = users

    def evaluate(self, token: bytes) -> bytes:
        try:
            text = token.decode("utf-8")
        except UnicodeDecodeError:
            raise SaslFailed("SASL/PLAIN response is not UTF-8") from None
        parts = text.split("\0")
        if len(parts) != 3:
            raise SaslFailed(f"Invalid SASL/PLAIN response: expected 3 tokens, got {len(parts)}")
        authorization_id, username, password = parts
        if not username:
            raise SaslAuthenticationFailed("Authentication failed: username not specified")
        if not password:
            raise SaslAuthenticationFailed("Authentication failed: password not specified")
        expected = self.users.get(username)
        if expected is None or not hmac.compare_digest(expected.encode(), password.encode()):
            raise SaslAuthenticationFailed("Authentication failed: Invalid username or password")
        if authorization_id and authorization_id != username:
            raise SaslAuthenticationFailed(
                "Authentication failed: Client requested an authorization id that is different from username"
            )
        self.username, self.complete = username, True
        return b""


@dataclass(frozen=True, slots=True)
class ScramCredential:
    salt: bytes
    stored_key: bytes
    server_key: bytes
    iterations: int

    def to_kafka_string(self) -> str:
        """Kafka's ``ScramCredentialUtils.credentialToString`` form, as kept in ``/config/users/<user>``."""
        b64 = base64.b64encode
        return (
            f"salt={b64(self.salt).decode()},stored_key={b64(self.stored_key).decode()},"
            f"server_key={b64(self.server_key).decode()},iterations={self.iterations}"
        )

    @classmethod
    def from_kafka_string(cls, text: str) -> ScramCredential:
        fields = dict(item.split("=", 1) for item in text.split(","))
        b64 = base64.b64decode
        return cls(b64(fields["salt"]), b64(fields["stored_key"]), b64(fields["server_key"]), int(fields["iterations"]))


def salted_password(mechanism: str, password: str, salt: bytes, iterations: int) -> bytes:
    """RFC 5802 Hi(): PBKDF2-HMAC with the mechanism's hash."""
    return hashlib.pbkdf2_hmac(SCRAM_MECHANISMS[mechanism][0], password.encode(), salt, iterations)


def credential_from_salted_password(mechanism: str, salted: bytes, salt: bytes, iterations: int) -> ScramCredential:
    digest = SCRAM_MECHANISMS[mechanism][0]
    client_key = hmac.new(salted, b"Client Key", digest).digest()
    stored_key = hashlib.new(digest, client_key).digest()
    server_key = hmac.new(salted, b"Server Key", digest).digest()
    return ScramCredential(salt, stored_key, server_key, iterations)


_CLIENT_FIRST = re.compile(
    r"n,(?:a=(?P<authzid>[^,]*))?,(?P<bare>(?:m=[^,]*,)?n=(?P<saslname>[^,]*),r=(?P<nonce>[^,]+)(?P<ext>.*))"
)
_CLIENT_FINAL = re.compile(r"(?P<without_proof>c=(?P<channel>[^,]*),r=(?P<nonce>[^,]*)(?:,[^,]*)*?),p=(?P<proof>[^,]*)")


def _username(saslname: str) -> str:
    if re.search(r"=(?!2C|3D)", saslname):
        raise SaslFailed(f"Invalid SCRAM user name {saslname!r}")
    return saslname.replace("=2C", ",").replace("=3D", "=")


class ScramServer(Mechanism):
    def __init__(self, mechanism: str, lookup: Callable[[str, str], ScramCredential | None]) -> None:
        self.name = mechanism
        self.digest = SCRAM_MECHANISMS[mechanism][0]
        self.lookup = lookup
        self._step = 0
        self._credential: ScramCredential | None = None
        self._gs2 = ""
        self._nonce = ""
        self._first_bare = ""
        self._server_first = ""

    def evaluate(self, token: bytes) -> bytes:
        try:
            text = token.decode("utf-8")
        except UnicodeDecodeError:
            raise SaslFailed("SCRAM message is not UTF-8") from None
        if self._step == 0:
            return self._first(text)
        if self._step == 1:
            return self._final(text)
        raise SaslFailed("SCRAM message after the exchange completed")

    def _first(self, text: str) -> bytes:
        m = _CLIENT_FIRST.fullmatch(text)
        if m is None:
            raise SaslFailed("Invalid SCRAM client first message format")
        username = _username(m["saslname"])
        authzid = m["authzid"] or ""
        credential = self.lookup(username, self.name)
        if credential is None:
            raise SaslFailed("Authentication failed: Invalid user credentials")
        if authzid and _username(authzid) != username:
            raise SaslAuthenticationFailed(
                "Authentication failed: Client requested an authorization id that is different from username"
            )
        self.username, self._credential = username, credential
        self._gs2 = text[: m.start("bare")]
        self._first_bare = m["bare"]
        self._nonce = m["nonce"] + secrets.token_urlsafe(24).replace("-", "A").replace("_", "B")
        salt = base64.b64encode(credential.salt).decode()
        self._server_first = f"r={self._nonce},s={salt},i={credential.iterations}"
        self._step = 1
        return self._server_first.encode()

    def _final(self, text: str) -> bytes:
        m = _CLIENT_FINAL.fullmatch(text)
        if m is None:
            raise SaslFailed("Invalid SCRAM client final message format")
        credential = self._credential
        assert credential is not None
        if m["channel"] != base64.b64encode(self._gs2.encode()).decode():
            raise SaslFailed("Invalid channel binding in the final client message")
        if not m["nonce"].endswith(self._nonce):  # as Kafka checks it: librdkafka 2.0 repeats the client's part
            raise SaslFailed("Invalid client nonce in the final client message.")
        try:
            proof = base64.b64decode(m["proof"], validate=True)
        except binascii.Error:
            raise SaslFailed("Invalid client proof encoding") from None
        auth_message = f"{self._first_bare},{self._server_first},{m['without_proof']}".encode()
        signature = hmac.new(credential.stored_key, auth_message, self.digest).digest()
        if len(proof) != len(signature):
            raise SaslFailed("Invalid client credentials")
        client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
        if not hmac.compare_digest(hashlib.new(self.digest, client_key).digest(), credential.stored_key):
            raise SaslFailed("Invalid client credentials")
        server_signature = hmac.new(credential.server_key, auth_message, self.digest).digest()
        self._step, self.complete = 2, True
        return b"v=" + base64.b64encode(server_signature)
