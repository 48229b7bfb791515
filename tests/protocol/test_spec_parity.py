"""Our message definitions against Apache Kafka's JSON message specs, version by version, field by field.

Runs only when ``KAFKA_SPEC_DIR`` names a directory of Kafka's ``*Request.json``/``*Response.json`` files
(``make spec-check`` points it at the reference copy beside the project). The definitions themselves are
written by hand; this test is how we know they say what Kafka says.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from protocol.api import APIS, Api
from protocol.messages import load_all
from protocol.schema import ZERO_UUID, FieldSpec, Struct, VersionRange

SPEC_DIR = os.environ.get("KAFKA_SPEC_DIR")
pytestmark = pytest.mark.skipif(
    not SPEC_DIR, reason="KAFKA_SPEC_DIR is not set: `make spec-check` compares with Kafka's JSON specs"
)

load_all()


def snake(name: str) -> str:
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return name.lower()


def load_spec(name: str) -> dict[str, Any]:
    assert SPEC_DIR is not None
    text = (Path(SPEC_DIR) / f"{name}.json").read_text()
    text = re.sub(r"^\s*//.*$", "", text, flags=re.M)
    spec: dict[str, Any] = json.loads(text)
    return spec


def versions_of(text: str | None, within: VersionRange) -> set[int]:
    """The versions of ``text`` ("3+", "0-5", "none") that lie within ``within``."""
    assert within.high is not None
    if text is None:
        return set()
    parsed = VersionRange.parse(text)
    if parsed is None:
        return set()
    return {v for v in range(within.low, within.high + 1) if v in parsed}


def expected_default(field: dict[str, Any]) -> Any:
    kind: str = field["type"]
    default = field.get("default")
    if kind.startswith("[]"):
        return None if default == "null" else []
    if kind in ("int8", "int16", "uint16", "int32", "uint32", "int64"):
        return int(default, 0) if isinstance(default, str) else int(default or 0)
    if kind == "float64":
        return float(default or 0)
    if kind == "bool":
        return default in (True, "true")
    if kind == "string":
        return None if default == "null" else (default or "")
    if kind == "bytes":
        return None if default == "null" else b""
    if kind == "records":
        return None
    if kind == "uuid":
        return ZERO_UUID
    return None if default == "null" else "struct"


def our_default(spec: FieldSpec) -> Any:
    value = spec.make_default()
    if isinstance(value, Struct):
        return "struct"
    return value


def compare_fields(
    path: str,
    ours: tuple[FieldSpec, ...],
    theirs: list[dict[str, Any]],
    common: dict[str, Any],
    valid: VersionRange,
) -> list[str]:
    problems: list[str] = []
    # Kafka lists a field once even when some versions lack it; so do we, in the same order.
    names = [f.name for f in ours]
    expected = [snake(f["name"]) for f in theirs]
    if names != expected:
        return [f"{path}: fields {names} != Kafka's {expected}"]
    for spec, field in zip(ours, theirs, strict=True):
        where = f"{path}.{spec.name}"
        present = versions_of(field["versions"], valid)
        mine = versions_of(str(spec.versions), valid)
        if mine != present:
            problems.append(f"{where}: versions {spec.versions} != Kafka's {field['versions']}")
        nullable_theirs = versions_of(field.get("nullableVersions"), valid) & present
        nullable_mine = (versions_of(str(spec.nullable), valid) if spec.nullable else set()) & present
        if nullable_mine != nullable_theirs:
            problems.append(f"{where}: nullable {spec.nullable} != Kafka's {field.get('nullableVersions')}")
        if spec.tag != field.get("tag"):
            problems.append(f"{where}: tag {spec.tag} != Kafka's {field.get('tag')}")
        if (field.get("flexibleVersions") == "none") == spec.compact:
            problems.append(
                f"{where}: compact={spec.compact} but Kafka's flexibleVersions is {field.get('flexibleVersions')}"
            )
        kind: str = field["type"]
        base = kind[2:] if kind.startswith("[]") else kind
        if spec.is_array != kind.startswith("[]"):
            problems.append(f"{where}: array={spec.is_array} but Kafka's type is {kind}")
        if base[0].islower():
            if spec.wire is None or spec.wire.name != base:
                problems.append(f"{where}: type {spec.type_name} != Kafka's {kind}")
        else:
            sub = field.get("fields")
            if sub is None:
                if base not in common:
                    problems.append(f"{where}: Kafka's struct {base} not found")
                    continue
                sub = common[base]["fields"]
            if spec.struct is None:
                problems.append(f"{where}: type {spec.type_name} != Kafka's struct {kind}")
                continue
            problems += compare_fields(where, spec.struct.fields(), sub, common, valid)
            if not spec.is_array and expected_default(field) is None and our_default(spec) is not None:
                problems.append(f"{where}: default should be null")
            continue
        if our_default(spec) != expected_default(field):
            problems.append(f"{where}: default {our_default(spec)!r} != Kafka's {expected_default(field)!r}")
    return problems


REQUIRED_KEYS = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
    29, 30, 31, 32, 33, 35, 36, 37, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 60, 61, 65, 66, 68, 69, 75,
]  # fmt: skip


def test_every_required_api_is_defined() -> None:
    missing = [key for key in REQUIRED_KEYS if key not in APIS]
    assert not missing, f"APIs without a definition: {missing}"


def _api_name(api: Api) -> str:
    return api.name


# Without the specs there is nothing to compare: one skipped test says so, not one per API.
ALL_APIS: list[Api] = [APIS[key] for key in sorted(APIS)] if SPEC_DIR else []


@pytest.mark.parametrize("api", ALL_APIS, ids=_api_name)
def test_definition_matches_kafka(api: Api) -> None:
    problems = []
    for cls, suffix in ((api.request, "Request"), (api.response, "Response")):
        spec = load_spec(api.name + suffix)
        assert spec["apiKey"] == api.key
        valid = VersionRange.parse(spec["validVersions"])
        assert valid is not None
        if str(valid) != str(api.versions):
            problems.append(f"{api.name}{suffix}: versions {api.versions} != Kafka's {spec['validVersions']}")
        flexible = VersionRange.parse(spec["flexibleVersions"])
        if str(flexible) != str(api.flexible):
            problems.append(f"{api.name}{suffix}: flexible {api.flexible} != Kafka's {spec['flexibleVersions']}")
        common = {s["name"]: s for s in spec.get("commonStructs", [])}
        problems += compare_fields(api.name + suffix, cls.fields(), spec["fields"], common, api.versions)
    assert not problems, "\n".join(problems)
