"""Helpers adapters use to structure wire payloads with cattrs, and to read common values."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, TypeVar

from .._model._errors import ResponseError
from .._model._payload import is_struct

if TYPE_CHECKING:
    import cattrs

T = TypeVar("T")

_hooks: dict[tuple[Any, type[Any]], Any] = {}


def parse_timestamp(value: object) -> datetime | None:
    """An ISO-8601 timestamp as an aware UTC datetime; naive values are read as UTC.

    Raises ``ValueError`` for anything that is not a timestamp; ``None`` stays ``None``.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        parsed = datetime.fromisoformat(value)
    else:
        raise ValueError(f"not a timestamp: {type(value).__name__}")
    if parsed.tzinfo is None:
        # combine() is several times cheaper than replace() on 3.11; same value.
        return datetime.combine(parsed.date(), parsed.time(), UTC)
    return parsed if parsed.tzinfo is UTC else parsed.astimezone(UTC)


def format_timestamp(value: datetime) -> str:
    """An aware datetime as ISO-8601 UTC with a ``Z``; naive values are taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_decimal(value: object) -> Decimal | None:
    """A decimal from a string or number; raises ``ValueError`` for anything else."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError(f"not a decimal: {type(value).__name__}")
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not a decimal: {value!r}") from None
    if not result.is_finite():
        raise ValueError(f"not a finite decimal: {value!r}")
    return result


def _structure_timestamp(value: object, _: object) -> datetime | None:
    return parse_timestamp(value)


def _structure_decimal(value: object, _: object) -> Decimal | None:
    return parse_decimal(value)


def make_converter() -> cattrs.Converter:
    """A fresh orjson-flavoured converter that knows timestamps and decimals.

    Each adapter makes its own, once at import, and registers its hooks on it.
    Extra keys in payloads are ignored so new provider fields never break reads.
    """
    from cattrs.preconf.orjson import make_converter as make_orjson_converter

    converter = make_orjson_converter(forbid_extra_keys=False, prefer_attrib_converters=False)
    converter.register_structure_hook(datetime, _structure_timestamp)
    converter.register_structure_hook(datetime | None, _structure_timestamp)
    converter.register_structure_hook(Decimal, _structure_decimal)
    converter.register_structure_hook(Decimal | None, _structure_decimal)
    return converter


def structure(
    converter: cattrs.Converter | None,
    payload: Any,
    cls: type[T],
    *,
    provider: str,
    operation: str,
) -> T:
    """Structure ``payload`` into ``cls``; failures become ``ResponseError`` naming the paths.

    A msgspec ``Struct`` is converted by msgspec (``converter`` unused); any other
    class by the adapter's cattrs ``converter``.
    """
    if is_struct(cls):
        return _convert_struct(payload, cls, provider=provider, operation=operation)
    if converter is None:
        raise TypeError(f"{cls.__name__} is not a msgspec Struct: structuring it needs a converter")
    hook = _hooks.get((converter, cls))
    if hook is None:  # resolved once per converter and class: dispatch is not free
        hook = _hooks[(converter, cls)] = converter.get_structure_hook(cls)
    try:
        return hook(payload, cls)  # type: ignore[no-any-return]
    except Exception as exc:
        import cattrs  # only when something failed: keeps import and hot path light

        if isinstance(exc, cattrs.BaseValidationError):
            detail = "; ".join(cattrs.transform_error(exc, path=cls.__name__))
        elif isinstance(exc, ValueError | TypeError | KeyError | AttributeError):
            detail = f"{type(exc).__name__}: {exc}"
        else:
            raise
    # Raised outside the handler so the cattrs error, whose messages quote raw
    # payload values, is not kept as the new error's context.
    raise ResponseError(
        f"cannot read {cls.__name__} from the response: {detail}",
        provider=provider,
        operation=operation,
    )


def _convert_struct(payload: Any, cls: type[T], *, provider: str, operation: str) -> T:
    import msgspec

    try:
        return msgspec.convert(payload, cls)
    except msgspec.ValidationError as exc:
        detail = str(exc)
    # Outside the handler, as above: the message names paths, never values.
    raise ResponseError(
        f"cannot read {cls.__name__} from the response: {detail}",
        provider=provider,
        operation=operation,
    )
