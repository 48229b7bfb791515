"""Certificates, keys and stores made for the tests: a CA, a broker certificate for 127.0.0.1/localhost,
client certificates (good, expired, from a foreign CA), written as Kafka users hold them: PEM files,
PKCS12 (``cryptography``) and JKS (the JDK's own ``keytool``, converting the PKCS12)."""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

PASSWORD = "store-secret"


@dataclass
class Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def cert_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    def key_pem(self, password: str | None = None) -> str:
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
        )
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        ).decode()


def _name(cn: str, ou: str = "eng") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Acme"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def issue(
    cn: str, issuer: Issued | None = None, *, ca: bool = False, server: bool = False, expired: bool = False
) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    start, end = (now - datetime.timedelta(days=30), now - datetime.timedelta(days=1)) if expired else (
        now - datetime.timedelta(hours=1), now + datetime.timedelta(days=30))  # fmt: skip
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer.cert.subject if issuer else _name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    cert = builder.sign(issuer.key if issuer else key, hashes.SHA256())
    return Issued(cert, key)


@dataclass
class Pki:
    dir: Path
    ca: Issued
    broker: Issued
    client: Issued
    expired_client: Issued
    foreign_client: Issued

    @classmethod
    def make(cls, directory: Path) -> Pki:
        directory.mkdir(parents=True, exist_ok=True)
        ca = issue("Test CA", ca=True)
        foreign_ca = issue("Foreign CA", ca=True)
        pki = cls(
            directory, ca, issue("localhost", ca, server=True), issue("client", ca),
            issue("client", ca, expired=True), issue("client", foreign_ca),
        )  # fmt: skip
        pki.write("ca.pem", ca.cert_pem)
        for name in ("broker", "client", "expired_client", "foreign_client"):
            issued: Issued = getattr(pki, name)
            pki.write(f"{name}.crt", issued.cert_pem)
            pki.write(f"{name}.key", issued.key_pem())
        return pki

    def write(self, name: str, text: str | bytes) -> str:
        path = self.dir / name
        path.write_bytes(text.encode() if isinstance(text, str) else text)
        return str(path)

    def path(self, name: str) -> str:
        return str(self.dir / name)

    def broker_pem_file(self, key_password: str | None = None) -> str:
        """The broker's key and certificate chain in one PEM file (ssl.keystore.type=PEM)."""
        text = self.broker.key_pem(key_password) + self.broker.cert_pem + self.ca.cert_pem
        return self.write("broker-keystore.pem", text)

    def broker_pkcs12(self) -> str:
        data = pkcs12.serialize_key_and_certificates(
            b"broker", self.broker.key, self.broker.cert, [self.ca.cert],
            serialization.BestAvailableEncryption(PASSWORD.encode()),
        )  # fmt: skip
        return self.write("broker.p12", data)

    def truststore_pkcs12(self) -> str:
        trusted = [pkcs12.PKCS12Certificate(self.ca.cert, b"ca")]
        data = pkcs12.serialize_java_truststore(trusted, serialization.BestAvailableEncryption(PASSWORD.encode()))
        return self.write("truststore.p12", data)

    def broker_jks(self) -> str:
        """A JKS key store made by the JDK's keytool from the PKCS12 one."""
        keytool = shutil.which("keytool")
        assert keytool is not None, "keytool (the JDK) makes the JKS stores"
        target = self.path("broker.jks")
        subprocess.run(
            [keytool, "-importkeystore", "-noprompt", "-srckeystore", self.broker_pkcs12(), "-srcstoretype", "PKCS12",
             "-srcstorepass", PASSWORD, "-destkeystore", target, "-deststoretype", "JKS", "-deststorepass", PASSWORD,
             "-destkeypass", PASSWORD],
            check=True, capture_output=True,
        )  # fmt: skip
        return target

    def truststore_jks(self) -> str:
        keytool = shutil.which("keytool")
        assert keytool is not None
        target = self.path("truststore.jks")
        subprocess.run(
            [keytool, "-importcert", "-noprompt", "-alias", "ca", "-file", self.path("ca.pem"), "-keystore", target,
             "-storetype", "JKS", "-storepass", PASSWORD],
            check=True, capture_output=True,
        )  # fmt: skip
        return target
