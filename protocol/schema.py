"""The notation every Kafka message is described in, once, for all of its versions.

A message or a nested struct is a class decorated with ``@struct``: a keyword-only, slotted dataclass
whose annotations carry the wire type and, where it matters, the versions a field exists in::

    @struct
    class MetadataRequestTopic(Struct):
        topic_id: Annotated[Uuid, V("10+")] = ZERO_UUID
        name: Annotated[String | None, V(nullable="10+")] = ""

    @struct
    class MetadataRequest(Struct):
        topics: Annotated[list[MetadataRequestTopic] | None, V(nullable="1+")] = []
        allow_auto_topic_creation: Annotated[Bool, V("4+")] = True

- The wire type comes from the annotation: ``Int8 Int16 Uint16 Int32 Uint32 Int64 Float64 Bool Uuid
  String Bytes Records``, a ``@struct`` class, or ``list[...]`` of one of those.
- ``V(versions, nullable=, tag=, compact=)`` says in which versions the field is present (default
  all), in which it may be null (default: every version it is present in, if the type admits None),
  its tag if it is a tagged field (present only as a tagged field, in the versions given), and
  ``compact=False`` for the rare field that stays non-compact in flexible versions (the request
  header's client id).
- A string holds at most 32,767 bytes (``MAX_STRING``); a longer one is refused both ways, except in
  an error message (a field named ``*error_message``), which is cut to fit when written.
- Every field has a default (a list default means a fresh empty list). A field absent from a version
  decodes to its default and is not written; a tagged field is written only when it differs from its
  default, as Kafka does.
- Whether a version is flexible (compact strings and arrays, tagged-field sections) is a property of
  the API, given where request and response are paired: see ``protocol.api``.

The annotations are evaluated lazily, on the first encode or decode, so importing every message
definition costs little at start-up.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, TypeVar, dataclass_transform, get_args, get_origin

from protocol.exceptions import UnsupportedVersion


# --- version ranges ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class VersionRange:
    """Inclusive range of versions; ``high`` None means "and every later one"."""

    low: int
    high: int | None

    def __contains__(self, version: object) -> bool:
        return isinstance(version, int) and self.low <= version and (self.high is None or version <= self.high)

    def __str__(self) -> str:
        if self.high is None:
            return f"{self.low}+"
        return str(self.low) if self.low == self.high else f"{self.low}-{self.high}"

    @staticmethod
    def parse(text: str) -> VersionRange | None:
        """``"3+"``, ``"0-5"``, ``"7"``, or ``"none"`` (which gives None)."""
        text = text.strip()
        if text == "none":
            return None
        if text.endswith("+"):
            return VersionRange(int(text[:-1]), None)
        if "-" in text:
            low, high = text.split("-", 1)
            return VersionRange(int(low), int(high))
        return VersionRange(int(text), int(text))


# --- wire types ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class WireType:
    """A primitive type of the protocol. ``fmt`` is its struct format when it has a fixed size."""

    name: str
    fmt: str | None
    size: int
    default: Any


INT8 = WireType("int8", "b", 1, 0)
INT16 = WireType("int16", "h", 2, 0)
UINT16 = WireType("uint16", "H", 2, 0)
INT32 = WireType("int32", "i", 4, 0)
UINT32 = WireType("uint32", "I", 4, 0)
INT64 = WireType("int64", "q", 8, 0)
FLOAT64 = WireType("float64", "d", 8, 0.0)
BOOL = WireType("bool", "?", 1, False)
UUID = WireType("uuid", "16s", 16, bytes(16))
STRING = WireType("string", None, 0, "")
BYTES = WireType("bytes", None, 0, b"")
RECORDS = WireType("records", None, 0, None)

Int8 = Annotated[int, INT8]
Int16 = Annotated[int, INT16]
Uint16 = Annotated[int, UINT16]
Int32 = Annotated[int, INT32]
Uint32 = Annotated[int, UINT32]
Int64 = Annotated[int, INT64]
Float64 = Annotated[float, FLOAT64]
Bool = Annotated[bool, BOOL]
Uuid = Annotated[bytes, UUID]  # 16 raw bytes; ZERO_UUID is Kafka's Uuid.ZERO_UUID
String = Annotated[str, STRING]
Bytes = Annotated[bytes, BYTES]
Records = Annotated[bytes | memoryview, RECORDS]  # decoded as a memoryview of the frame: no copy

ZERO_UUID = bytes(16)
MAX_STRING = 0x7FFF  # Kafka's limit for any string, compact or not: the int16 length of the classic form


def clip_text(data: bytes) -> bytes:
    """UTF-8 ``data`` cut to at most ``MAX_STRING`` bytes, on a character boundary."""
    if len(data) <= MAX_STRING:
        return data
    return data[:MAX_STRING].decode("utf-8", errors="ignore").encode()


# --- field options -------------------------------------------------------------------------------
class V:
    """Options of one field: ``V("3+", nullable="5+", tag=0, compact=False)``."""

    __slots__ = ("compact", "nullable", "tag", "versions")

    def __init__(
        self,
        versions: str = "0+",
        *,
        nullable: str | None = None,
        tag: int | None = None,
        compact: bool = True,
    ) -> None:
        self.versions = versions
        self.nullable = nullable
        self.tag = tag
        self.compact = compact


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field, resolved: what the codecs walk."""

    name: str
    wire: WireType | None  # the primitive, or the array's element primitive; None for structs
    struct: type[Struct] | None  # the struct, or the array's element struct
    is_array: bool
    versions: VersionRange
    nullable: VersionRange | None
    tag: int | None
    compact: bool
    default: Any
    default_factory: Any

    def present_in(self, version: int) -> bool:
        return version in self.versions

    def nullable_in(self, version: int) -> bool:
        return self.nullable is not None and version in self.nullable

    def make_default(self) -> Any:
        return self.default_factory() if self.default_factory is not None else self.default

    @property
    def free_text(self) -> bool:
        """An error message: free text, cut to ``MAX_STRING`` bytes when written rather than failing the
        whole response (it may quote a name the client sent, itself up to that long)."""
        return self.wire is STRING and self.name.endswith("error_message")

    @property
    def type_name(self) -> str:
        base = self.wire.name if self.wire is not None else (self.struct.__name__ if self.struct else "?")
        return f"[]{base}" if self.is_array else base


class Struct:
    """Base of every message and nested struct. Subclasses are made with ``@struct``."""

    __slots__ = ()
    __kafka_fields__: ClassVar[tuple[FieldSpec, ...] | None] = None
    __kafka_versions__: ClassVar[VersionRange | None] = None  # set on messages by protocol.api
    __kafka_flexible__: ClassVar[VersionRange | None] = None
    __kafka_name__: ClassVar[str] = ""

    @classmethod
    def fields(cls) -> tuple[FieldSpec, ...]:
        specs = cls.__dict__.get("__kafka_fields__")
        if specs is None:
            specs = _resolve_fields(cls)
            cls.__kafka_fields__ = specs
        return specs

    @classmethod
    def check_version(cls, version: int) -> None:
        versions = cls.__kafka_versions__
        if versions is None or version not in versions:
            raise UnsupportedVersion(f"{cls.__kafka_name__ or cls.__name__} has no version {version}")

    @classmethod
    def is_flexible(cls, version: int) -> bool:
        flexible = cls.__kafka_flexible__
        return flexible is not None and version in flexible


S = TypeVar("S", bound=type[Struct])


@dataclass_transform(kw_only_default=True, eq_default=True)
def struct(cls: S) -> S:
    """Turn an annotated class into a keyword-only, slotted dataclass of the protocol."""
    own = inspect.get_annotations(cls)
    for name in own:
        if name not in cls.__dict__:
            raise TypeError(f"{cls.__name__}.{name} needs a default value")
        value = cls.__dict__[name]
        if isinstance(value, list):
            if value:
                raise TypeError(f"{cls.__name__}.{name}: a list default must be empty")
            setattr(cls, name, dataclasses.field(default_factory=list))
        elif isinstance(value, Struct):
            setattr(cls, name, dataclasses.field(default_factory=_copier(value)))
    made = dataclasses.dataclass(slots=True, kw_only=True, repr=True, eq=True)(cls)
    made.__kafka_fields__ = None
    return typing.cast(S, made)


def _copier(value: Struct) -> Any:
    """A default factory giving each new message its own copy of ``value``, lists inside included
    (a shallow copy would share them: appending to one message's default would change them all)."""

    def make() -> Struct:
        return copy.deepcopy(value)

    return make


def _resolve_fields(cls: type[Struct]) -> tuple[FieldSpec, ...]:
    hints = typing.get_type_hints(cls, include_extras=True)
    specs = []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        default = None if f.default is dataclasses.MISSING else f.default
        factory = None if f.default_factory is dataclasses.MISSING else f.default_factory
        specs.append(_field_spec(cls, f.name, hints[f.name], default, factory))
    return tuple(specs)


def _field_spec(cls: type, name: str, hint: Any, default: Any, factory: Any) -> FieldSpec:
    options = V()
    wire: WireType | None = None
    optional = False

    def peel(tp: Any) -> Any:
        nonlocal options, wire, optional
        while True:
            origin = get_origin(tp)
            if origin is Annotated:
                base, *meta = get_args(tp)
                for item in meta:
                    if isinstance(item, V):
                        options = item
                    elif isinstance(item, WireType):
                        wire = item
                tp = base
            elif origin is typing.Union or origin is types.UnionType:
                args = [a for a in get_args(tp) if a is not type(None)]
                if len(args) != len(get_args(tp)):
                    optional = True
                if wire is RECORDS or len(args) > 1:
                    return tp
                tp = args[0]
            else:
                return tp

    base = peel(hint)
    is_array = False
    element_struct: type[Struct] | None = None
    if get_origin(base) is list:
        is_array = True
        (element,) = get_args(base)
        outer_optional, optional = optional, False
        element = peel(element)
        if optional:
            raise TypeError(f"{cls.__name__}.{name}: array elements cannot be nullable")
        optional = outer_optional
        base = element
    if wire is None:
        if isinstance(base, type) and issubclass(base, Struct):
            element_struct = base
        else:
            raise TypeError(f"{cls.__name__}.{name}: no wire type in {hint!r}")
    versions = VersionRange.parse(options.versions)
    if versions is None:
        raise TypeError(f"{cls.__name__}.{name}: versions cannot be 'none'")
    if options.nullable is not None:
        nullable = VersionRange.parse(options.nullable)
        if not optional:
            raise TypeError(f"{cls.__name__}.{name}: nullable field must admit None")
    else:
        nullable = versions if optional else None
    return FieldSpec(
        name=name,
        wire=wire,
        struct=element_struct,
        is_array=is_array,
        versions=versions,
        nullable=nullable,
        tag=options.tag,
        compact=options.compact,
        default=default,
        default_factory=factory,
    )
