"""Key and trust stores as Kafka users hold them, turned into what OpenSSL loads (PEM).

- ``ssl.keystore.type`` / ``ssl.truststore.type``: ``JKS`` (read with pyjks), ``PKCS12`` (read with
  ``cryptography``), or ``PEM``: a file at ``*.location``, or inline in ``ssl.keystore.certificate.chain`` +
  ``ssl.keystore.key`` and ``ssl.truststore.certificates``, as Kafka reads them (KIP-651). A PEM key may be
  encrypted with ``ssl.key.password``; a PEM store has no store password.
- A JKS key entry's key is decrypted with ``ssl.key.password``, else the store password, as the JVM does.
  Like the JVM's JKS key store (compat mode, the default since Java 8), type JKS also reads a PKCS12 file.
- Unencrypted keys never touch the disk: ``load_cert_chain`` reads them from an anonymous in-memory
  file (``memfd``) where the platform has one, else from a 0600 temporary file deleted at once.
- Every problem is a ConfigError naming the listener's setting: the broker refuses to start.
"""

from __future__ import annotations

import base64
import contextlib
import os
import ssl
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from broker.config import ConfigError
from broker.security.listener_config import ListenerConfig

_STORE_TYPES = ("JKS", "PKCS12", "PEM")


@dataclass(frozen=True, slots=True)
class KeyMaterial:
    chain_pem: str  # the certificate, then its issuers
    key_pem: str
    key_password: str | None = None  # for an encrypted PEM key


def load_keystore(lc: ListenerConfig) -> KeyMaterial | None:
    """The listener's certificate chain and private key, or None when no key store is configured."""
    kind = _store_type(lc, "ssl.keystore.type")
    chain, key = lc.get("ssl.keystore.certificate.chain"), lc.get("ssl.keystore.key")
    location: str | None = lc.get("ssl.keystore.location")
    password: str | None = lc.get("ssl.keystore.password")
    key_password: str | None = lc.get("ssl.key.password")
    if chain or key:
        if kind != "PEM":
            raise ConfigError(f"{lc.prefix}ssl.keystore.certificate.chain and ssl.keystore.key need keystore type PEM")
        if not (chain and key):
            raise ConfigError("ssl.keystore.certificate.chain and ssl.keystore.key must be set together")
        if location:
            raise ConfigError("ssl.keystore.location cannot be set with an inline PEM key store")
        return _pem_material(str(chain), str(key), key_password)
    if not location:
        return None
    data = _read(location, "ssl.keystore.location")
    if kind == "PEM":
        if password:
            raise ConfigError("SSL key store password cannot be specified with PEM format, only key password may be")
        text = data.decode("ascii", "replace")
        return _pem_material(text, text, key_password)
    if kind == "PKCS12" or not _is_jks(data):  # the JVM's JKS type reads PKCS12 files too (compat mode)
        return _pkcs12_material(data, password, location)
    return _jks_material(data, password, key_password, location)


def load_truststore(lc: ListenerConfig) -> str | None:
    """The trusted certificates in PEM, or None when no trust store is configured."""
    kind = _store_type(lc, "ssl.truststore.type")
    inline = lc.get("ssl.truststore.certificates")
    location: str | None = lc.get("ssl.truststore.location")
    password: str | None = lc.get("ssl.truststore.password")
    if inline:
        if kind != "PEM":
            raise ConfigError("ssl.truststore.certificates needs ssl.truststore.type=PEM")
        return _certificates_only(str(inline), "ssl.truststore.certificates")
    if not location:
        return None
    data = _read(location, "ssl.truststore.location")
    if kind == "PEM":
        return _certificates_only(data.decode("ascii", "replace"), location)
    if kind == "PKCS12" or not _is_jks(data):  # the JVM's JKS type reads PKCS12 files too (compat mode)
        from cryptography.hazmat.primitives.serialization import Encoding, pkcs12

        try:
            store = pkcs12.load_pkcs12(data, password.encode() if password else None)
        except ValueError as exc:
            raise ConfigError(f"cannot read the PKCS12 trust store {location}: {exc}") from None
        certs = [c.certificate for c in store.additional_certs]
        if store.cert is not None:
            certs.insert(0, store.cert.certificate)
        return "".join(c.public_bytes(Encoding.PEM).decode() for c in certs) or _empty(location)
    store = _jks(data, password, location)
    pems = [ssl.DER_cert_to_PEM_cert(entry.cert) for entry in store.certs.values()]
    for entry in store.private_keys.values():  # a key store used as trust store trusts its chains
        pems.extend(ssl.DER_cert_to_PEM_cert(der) for _, der in entry.cert_chain)
    return "".join(pems) or _empty(location)


def _is_jks(data: bytes) -> bool:
    """JKS and JCEKS files open with their magic numbers; anything else is read as PKCS12."""
    return data[:4] in (b"\xfe\xed\xfe\xed", b"\xce\xce\xce\xce")


def _store_type(lc: ListenerConfig, name: str) -> str:
    kind = str(lc.get(name)).upper()
    if kind not in _STORE_TYPES:
        raise ConfigError(f"Invalid value {kind} for configuration {name}: must be one of {', '.join(_STORE_TYPES)}")
    return kind


def _read(path: str, setting: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise ConfigError(f"{setting}={path}: {exc.strerror}") from None


def _empty(location: str) -> str:
    raise ConfigError(f"the trust store {location} holds no certificate")


def _pem_blocks(text: str, kind: str) -> list[str]:
    blocks, start = [], 0
    begin, end = f"-----BEGIN {kind}-----", f"-----END {kind}-----"
    while (at := text.find(begin, start)) >= 0:
        stop = text.find(end, at)
        if stop < 0:
            break
        blocks.append(text[at : stop + len(end)] + "\n")
        start = stop + len(end)
    return blocks


def _certificates_only(text: str, where: str) -> str:
    certs = _pem_blocks(text.replace("\\n", "\n"), "CERTIFICATE")
    if not certs:
        raise ConfigError(f"no PEM certificate in {where}")
    return "".join(certs)


def _pem_material(chain_text: str, key_text: str, key_password: str | None) -> KeyMaterial:
    chain = _pem_blocks(chain_text.replace("\\n", "\n"), "CERTIFICATE")
    keys = [
        block
        for kind in ("PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY")
        for block in _pem_blocks(key_text.replace("\\n", "\n"), kind)
    ]
    if not chain:
        raise ConfigError("the PEM key store holds no certificate")
    if len(keys) != 1:
        raise ConfigError(f"the PEM key store must hold exactly one private key, not {len(keys)}")
    if "ENCRYPTED" in keys[0] and not key_password:
        raise ConfigError("the PEM private key is encrypted: set ssl.key.password")
    return KeyMaterial("".join(chain), keys[0], key_password)


def _pkcs12_material(data: bytes, password: str | None, location: str) -> KeyMaterial:
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, pkcs12

    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, password.encode() if password else None)
    except ValueError as exc:
        raise ConfigError(f"cannot read the PKCS12 key store {location}: {exc}") from None
    if key is None or cert is None:
        raise ConfigError(f"the PKCS12 key store {location} holds no private key with its certificate")
    chain = "".join(c.public_bytes(Encoding.PEM).decode() for c in [cert, *extra])
    key_pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    return KeyMaterial(chain, key_pem)


def _jks(data: bytes, password: str | None, location: str) -> Any:
    import jks

    try:
        return jks.KeyStore.loads(data, password or "", try_decrypt_keys=False)
    except (jks.util.KeystoreException, ValueError, EOFError) as exc:
        raise ConfigError(f"cannot read the JKS store {location}: {exc}") from None


def _jks_material(data: bytes, password: str | None, key_password: str | None, location: str) -> KeyMaterial:
    import jks

    store = _jks(data, password, location)
    entries = list(store.private_keys.values())
    if len(entries) != 1:
        raise ConfigError(f"the JKS key store {location} must hold one private key entry, not {len(entries)}")
    entry = entries[0]
    try:
        entry.decrypt(key_password or password or "")
    except (jks.util.DecryptionFailureException, jks.util.UnexpectedAlgorithmException):
        raise ConfigError(f"cannot decrypt the key in {location}: check ssl.key.password") from None
    key_pem = _pem("PRIVATE KEY", entry.pkey_pkcs8)
    chain = "".join(ssl.DER_cert_to_PEM_cert(der) for _, der in entry.cert_chain)
    return KeyMaterial(chain, key_pem)


def _pem(kind: str, der: bytes) -> str:
    body = base64.encodebytes(der).decode()
    return f"-----BEGIN {kind}-----\n{body}-----END {kind}-----\n"


def load_into(context: ssl.SSLContext, material: KeyMaterial) -> None:
    """``context.load_cert_chain`` from memory (see the module notes)."""
    with _secret_file(material.chain_pem + material.key_pem) as path:
        try:
            context.load_cert_chain(path, password=material.key_password)
        except ssl.SSLError as exc:
            raise ConfigError(f"the key store's certificate and key cannot be used: {exc.reason or exc}") from None


@contextlib.contextmanager
def _secret_file(text: str) -> Iterator[str]:
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("kafkish-keystore")
        try:
            os.write(fd, text.encode())
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    fd, path = tempfile.mkstemp(suffix=".pem")
    try:
        os.write(fd, text.encode())
        os.close(fd)
        yield path
    finally:
        os.unlink(path)
