"""Kafka's ``sasl.jaas.config`` values: one JAAS login module entry, as Kafka's ``JaasConfig`` parses it::

    org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret" user_bob=b;

A module class, a control flag (required, requisite, sufficient, optional), ``key=value`` options (values
quoted with ``"`` or bare words) and a closing ``;``. Anything else is a ConfigError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from broker.config import ConfigError

_TOKEN = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|([^\s=;"]+)|(=)|(;))')
_FLAGS = ("required", "requisite", "sufficient", "optional")


@dataclass(frozen=True, slots=True)
class LoginModule:
    name: str
    flag: str
    options: dict[str, str] = field(default_factory=dict)


def parse_jaas(text: str, setting: str = "sasl.jaas.config") -> LoginModule:
    tokens = _tokens(text, setting)
    modules: list[LoginModule] = []
    while tokens:
        if len(tokens) < 2 or tokens[0][0] != "word" or tokens[1][0] != "word":
            raise ConfigError(f"{setting}: a login module and its control flag expected")
        name, flag = tokens[0][1], tokens[1][1].lower()
        if flag not in _FLAGS:
            raise ConfigError(f"{setting}: invalid control flag {tokens[1][1]!r}")
        tokens = tokens[2:]
        options: dict[str, str] = {}
        while tokens and tokens[0][0] != ";":
            if len(tokens) < 3 or tokens[0][0] != "word" or tokens[1][0] != "=" or tokens[2][0] not in ("word", "str"):
                raise ConfigError(f"{setting}: option of the form key=value expected in {name}")
            options[tokens[0][1]] = tokens[2][1]
            tokens = tokens[3:]
        if not tokens:
            raise ConfigError(f"{setting}: login module {name} is not terminated by ';'")
        tokens = tokens[1:]
        modules.append(LoginModule(name, flag, options))
    if len(modules) != 1:
        raise ConfigError(f"JAAS config property contains {len(modules)} login modules, should be 1 module")
    return modules[0]


def _tokens(text: str, setting: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos, text = 0, text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ConfigError(f"{setting}: cannot parse {text[pos : pos + 20]!r}")
        pos = m.end()
        if m.group(1) is not None:
            tokens.append(("str", re.sub(r"\\(.)", r"\1", m.group(1))))
        elif m.group(2) is not None:
            tokens.append(("word", m.group(2)))
        elif m.group(3):
            tokens.append(("=", "="))
        else:
            tokens.append((";", ";"))
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return tokens
