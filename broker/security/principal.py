"""The principal of a TLS client: its certificate's distinguished name, mapped by
``ssl.principal.mapping.rules`` as Kafka's ``SslPrincipalMapper`` maps it.

- The name is written as Java's ``X500Principal.getName()`` writes it (RFC 2253): the most specific
  RDN first (``CN=client,OU=eng,O=Acme,C=US``), special characters escaped; attributes Java has no
  keyword for are written as ``OID=#hex`` of the value's DER (an IA5String for e-mail addresses).
- Rules: a comma (or newline) separated list of ``DEFAULT`` (the name as it is) and
  ``RULE:pattern/replacement/[L|U]``; the first rule whose pattern matches the *whole* name gives the
  principal (``$1`` and friends in the replacement, then lower- or upper-cased). When none matches,
  authentication fails, as in Kafka.
- A client without a certificate is ``User:ANONYMOUS``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from broker.config import ConfigError

ANONYMOUS = "User:ANONYMOUS"
_KEYWORDS = {
    "commonName": "CN", "countryName": "C", "localityName": "L", "stateOrProvinceName": "ST",
    "organizationName": "O", "organizationalUnitName": "OU", "streetAddress": "STREET",
    "domainComponent": "DC", "userId": "UID",
}  # fmt: skip
_OIDS = {"emailAddress": ("1.2.840.113549.1.9.1", 0x16), "serialNumber": ("2.5.4.5", 0x13)}
_RULE = re.compile(r"\s*(?:(DEFAULT)|RULE:((?:\\.|[^\\/])*)/((?:\\.|[^\\/])*)/([LU]?))\s*(?:[,\n]\s*|$)")


class NoMatchingRule(Exception):
    """No ``ssl.principal.mapping.rules`` rule applies to a client's distinguished name."""


def distinguished_name(peercert: dict[str, Any]) -> str:
    """RFC 2253 name of the subject of ``ssl.SSLSocket.getpeercert()``."""
    rdns = []
    for rdn in reversed(peercert.get("subject", ())):
        rdns.append("+".join(_attribute(key, value) for key, value in rdn))
    return ",".join(rdns)


def _attribute(key: str, value: str) -> str:
    if key in _KEYWORDS:
        return f"{_KEYWORDS[key]}={_escape(value)}"
    oid, tag = _OIDS.get(key, (key, 0x0C))
    data = value.encode()
    if len(data) < 128:
        return f"{oid}=#{tag:02x}{len(data):02x}{data.hex()}"
    return f"{oid}={_escape(value)}"


def _escape(value: str) -> str:
    out = re.sub(r'([,+"\\<>;])', r"\\\1", value)
    if out.startswith((" ", "#")):
        out = "\\" + out
    if out.endswith(" ") and not out.endswith("\\ "):
        out = out[:-1] + "\\ "
    return out


@dataclass(frozen=True, slots=True)
class _Rule:
    pattern: re.Pattern[str] | None  # None: DEFAULT
    replacement: str = ""
    case: str = ""

    def apply(self, name: str) -> str | None:
        if self.pattern is None:
            return name
        if not self.pattern.fullmatch(name):
            return None
        result = self.pattern.sub(self.replacement, name)
        return result.lower() if self.case == "L" else result.upper() if self.case == "U" else result


class PrincipalMapper:
    def __init__(self, rules: str | None) -> None:
        self.rules = parse_rules(rules if rules and rules.strip() else "DEFAULT")

    def name(self, distinguished: str) -> str:
        for rule in self.rules:
            mapped = rule.apply(distinguished)
            if mapped is not None:
                return mapped
        raise NoMatchingRule(f"No rules apply to {distinguished}")


def parse_rules(text: str) -> list[_Rule]:
    rules, pos, text = [], 0, text.strip()
    while pos < len(text):
        m = _RULE.match(text, pos)
        if m is None or m.end() == pos:
            raise ConfigError(f"Invalid value {text} for configuration ssl.principal.mapping.rules: invalid rule")
        if m.group(1):
            rules.append(_Rule(None))
        else:
            try:
                pattern = re.compile(m.group(2))
            except re.error as exc:
                raise ConfigError(f"ssl.principal.mapping.rules: bad pattern {m.group(2)!r}: {exc}") from None
            replacement = re.sub(r"\$(\d+)", r"\\g<\1>", m.group(3))
            rules.append(_Rule(pattern, replacement, m.group(4)))
        pos = m.end()
    return rules
