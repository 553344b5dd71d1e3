"""Response payloads: typed decoding of wire structs from bytes, and ``Run.raw`` built lazily.

A listing decodes its body once, straight into the adapter's msgspec structs (only the
fields the adapter reads). The provider's full payload of each run stays in the
response bytes until someone reads ``Run.raw``; the body is then decoded once, as plain
JSON, for every run of the page.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

if TYPE_CHECKING:
    import msgspec

T = TypeVar("T")

_UNDECODED: Any = object()
_new = object.__new__


def json_default(value: Any) -> Any:
    """What orjson writes for a ``Decimal``: the exact JSON number it spells (``1.50``
    stays ``1.50``); a NaN or infinity, or any other type, is a ``TypeError``."""
    if isinstance(value, Decimal) and value.is_finite():
        return orjson.Fragment(str(value).encode())
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


_decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {}


def is_struct(cls: object) -> bool:
    """Whether ``cls`` is a msgspec ``Struct`` class (told without importing msgspec)."""
    return isinstance(cls, type) and hasattr(cls, "__struct_fields__")


def decoder_for(cls: type[T]) -> msgspec.json.Decoder[T]:
    """The JSON decoder into ``cls``, built once per class."""
    decoder = _decoders.get(cls)
    if decoder is None:
        import msgspec

        decoder = _decoders[cls] = msgspec.json.Decoder(cls)
    return decoder


class Body:
    """A response body, decoded as plain JSON on first use and shared by the payloads
    cut from it."""

    __slots__ = ("_data", "_value")

    def __init__(self, data: bytes | bytearray, value: Any = _UNDECODED) -> None:
        self._data = data
        self._value = value

    @classmethod
    def of(cls, value: Any) -> Body:
        """A body already decoded (and redacted) to ``value``."""
        return cls(b"", value)

    def value(self) -> Any:
        """The body as plain JSON values."""
        if self._value is _UNDECODED:
            self._value = orjson.loads(self._data)
            self._data = b""  # decoded once; the bytes are no longer needed
        return self._value

    def at(self, *path: str | int) -> RawPayload:
        """The payload at ``path`` inside the body (``()``: the whole body), undecoded."""
        # Made without a call of ``__init__``: a listing makes one for every run it reads.
        payload = _new(RawPayload)
        payload._body = self
        payload._path = path
        payload._value = None
        return payload


class RawPayload(Mapping[str, Any]):
    """``Run.raw`` for a run read from a response: the provider's full payload, decoded
    from the response bytes on first access.

    It reads, compares and pickles as the plain ``dict`` it stands for.
    """

    __slots__ = ("_body", "_path", "_value")

    def __init__(self, body: Body, path: tuple[str | int, ...]) -> None:
        self._body: Body | None = body
        self._path = path
        self._value: dict[str, Any] | None = None

    def mapping(self) -> dict[str, Any]:
        """The payload as a plain ``dict``, decoded on first call."""
        value = self._value
        if value is None:
            found: Any = self._body.value() if self._body is not None else {}
            for key in self._path:
                found = found[key]
            value = self._value = found if isinstance(found, dict) else {}
            self._body = None
        return value

    def __getitem__(self, key: str) -> Any:
        return self.mapping()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.mapping())

    def __len__(self) -> int:
        return len(self.mapping())

    def __contains__(self, key: object) -> bool:
        return key in self.mapping()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RawPayload):
            other = other.mapping()
        if not isinstance(other, Mapping):
            return NotImplemented
        return self.mapping() == dict(other)

    __hash__ = None  # type: ignore[assignment]  # a mapping: unhashable, like dict

    def __repr__(self) -> str:
        return repr(self.mapping())

    def __reduce__(self) -> tuple[type[dict[str, Any]], tuple[dict[str, Any]]]:
        return dict, (self.mapping(),)
