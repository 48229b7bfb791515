"""The server-side ``ssl.SSLContext`` of an SSL or SASL_SSL listener, from Kafka's ``ssl.*`` settings.

- ``ssl.enabled.protocols`` (else ``ssl.protocol``) bounds the TLS versions; OpenSSL takes a range, so
  the lowest and the highest named are the bounds.
- ``ssl.cipher.suites`` takes Kafka's (IANA) names, e.g. ``TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384``, or
  OpenSSL's; an unknown one is a ConfigError. TLS 1.3 suites cannot be narrowed through Python's ``ssl``:
  naming only TLS 1.3 suites enables TLS 1.3 only.
- ``ssl.client.auth``: ``none`` asks for no certificate, ``requested`` verifies one if sent, ``required``
  refuses a client without one. The trust store verifies it; without one, the system's default CAs.
"""

from __future__ import annotations

import ssl

from broker.config import ConfigError
from broker.security.keystores import load_into, load_keystore, load_truststore
from broker.security.listener_config import ListenerConfig

_VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}
_TLS13_SUITES = frozenset(
    {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_CCM_SHA256",
     "TLS_AES_128_CCM_8_SHA256"}
)  # fmt: skip
_VERIFY = {"none": ssl.CERT_NONE, "requested": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}


def server_context(lc: ListenerConfig) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _protocols(context, lc)
    _ciphers(context, lc)
    material = load_keystore(lc)
    if material is None:
        raise ConfigError(
            f"listener {lc.listener} uses TLS but has no key store: set {lc.prefix}ssl.keystore.location "
            f"(or ssl.keystore.certificate.chain and ssl.keystore.key)"
        )
    load_into(context, material)
    trusted = load_truststore(lc)
    if trusted is not None:
        try:
            context.load_verify_locations(cadata=trusted)
        except ssl.SSLError as exc:
            raise ConfigError(f"the trust store of listener {lc.listener} cannot be used: {exc}") from None
    else:
        context.load_default_certs(ssl.Purpose.CLIENT_AUTH)
    context.verify_mode = _VERIFY[str(lc.get("ssl.client.auth")).lower()]
    return context


def _protocols(context: ssl.SSLContext, lc: ListenerConfig) -> None:
    names = [n for n in (lc.get("ssl.enabled.protocols") or [lc.get("ssl.protocol")]) if n != "TLS"]
    versions = sorted(_VERSIONS[n] for n in names)
    if versions:
        context.minimum_version, context.maximum_version = versions[0], versions[-1]


def openssl_cipher_name(name: str) -> str:
    """Kafka's (IANA) cipher suite name as OpenSSL spells it; other names are returned as they are.

    ``TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384`` -> ``ECDHE-RSA-AES256-GCM-SHA384``,
    ``TLS_RSA_WITH_AES_128_CBC_SHA`` -> ``AES128-SHA``,
    ``TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256`` -> ``ECDHE-ECDSA-CHACHA20-POLY1305``."""
    if not name.startswith("TLS_") or "_WITH_" not in name:
        return name
    exchange, cipher = name[4:].split("_WITH_", 1)
    parts = [] if exchange == "RSA" else exchange.split("_")
    words = cipher.split("_")
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("AES", "CAMELLIA", "ARIA") and i + 1 < len(words) and words[i + 1].isdigit():
            out.append(word + words[i + 1])
            i += 2
            continue
        if word == "CBC":
            pass
        elif word == "3DES":
            out.append("DES-CBC3")
            i += 2  # 3DES_EDE_CBC
            continue
        else:
            out.append(word)
        i += 1
    if len(out) >= 2 and out[-2] == "POLY1305":
        out = out[:-1]  # OpenSSL names CHACHA20-POLY1305 without the PRF hash
    return "-".join(parts + out)


def _ciphers(context: ssl.SSLContext, lc: ListenerConfig) -> None:
    suites: list[str] = lc.get("ssl.cipher.suites") or []
    if not suites:
        return
    legacy = []
    for suite in suites:
        if suite in _TLS13_SUITES:
            continue
        openssl = openssl_cipher_name(suite)
        probe = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            probe.set_ciphers(openssl)
        except ssl.SSLError:
            raise ConfigError(f"Invalid value {suite} for configuration ssl.cipher.suites: unknown suite") from None
        legacy.append(openssl)
    if legacy:
        context.set_ciphers(":".join(legacy))
    else:
        context.minimum_version = ssl.TLSVersion.TLSv1_3
