"""The canonical data model as callers hand it in and get it back: files, requests,
updates, filters, pages and bulk results. The run itself, its reference and its status
live in ``_canonical`` and are re-exported here, where the rest of runbridge reads them."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs
import orjson

from ._canonical import (
    _BY_VALUE,
    _PROVIDER_NAME,
    HOLD_KINDS,
    TERMINAL,
    Failure,
    FailureKind,
    Hold,
    HoldKind,
    Progress,
    Run,
    RunRef,
    RunStatus,
)
from ._errors import InvalidRequest
from ._payload import json_default

__all__ = [
    "HOLD_KINDS",
    "TERMINAL",
    "_PROVIDER_NAME",
    "BulkError",
    "BulkResult",
    "Failure",
    "FailureKind",
    "File",
    "Hold",
    "HoldKind",
    "Page",
    "Progress",
    "Run",
    "RunFilter",
    "RunRef",
    "RunRequest",
    "RunStatus",
    "RunUpdate",
]


def _redacted_mapping(value: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{k!r}: '***'" for k in value) + "}"


def _content_repr(value: bytes | None) -> str:
    return "None" if value is None else f"<{len(value)} bytes>"


@attrs.frozen
class File:
    """A file to hand to a run: inline ``content`` or an already uploaded ``id``.

    ``options`` holds provider-specific settings of this file (Cyberdesk's
    ``target_path`` and ``cleanup_imports_after_run``, for instance); an adapter
    refuses options it does not know, naming them.
    """

    name: str
    content: bytes | None = attrs.field(default=None, repr=_content_repr)
    id: str | None = None
    content_type: str | None = None
    options: Mapping[str, Any] = attrs.field(factory=dict, hash=False)

    def __attrs_post_init__(self) -> None:
        if (self.content is None) == (self.id is None):
            raise InvalidRequest(
                f"file {self.name!r} needs exactly one of content or id", field="files"
            )
        if not isinstance(self.options, Mapping) or not all(
            isinstance(key, str) for key in self.options
        ):
            raise InvalidRequest(
                f"file {self.name!r}: options must be a mapping with string keys",
                field="files.options",
            )


def _file_tuple(files: Iterable[File]) -> tuple[File, ...]:
    if isinstance(files, str | bytes | Mapping) or not isinstance(files, Iterable):
        raise InvalidRequest("files must be a sequence of runbridge.File", field="files")
    out = tuple(files)
    if not all(isinstance(f, File) for f in out):
        raise InvalidRequest("files must be a sequence of runbridge.File", field="files")
    return out


def _check_target(_: object, __: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidRequest(
            f"target must be a non-empty string, not {value!r:.60}", field="target"
        )


def _check_name(_: object, __: attrs.Attribute[str | None], value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise InvalidRequest(f"name must be a string, not {type(value).__name__}", field="name")


def _check_mapping(
    instance: object, attribute: attrs.Attribute[Mapping[str, Any]], value: object
) -> None:
    name = attribute.name
    if not isinstance(value, Mapping):
        raise InvalidRequest(f"{name} must be a mapping, not {type(value).__name__}", field=name)
    for key in value:
        if not isinstance(key, str):
            raise InvalidRequest(f"{name} keys must be strings, not {key!r:.40}", field=name)


def _check_json(
    instance: object, attribute: attrs.Attribute[Mapping[str, Any]], value: object
) -> None:
    _check_mapping(instance, attribute, value)
    try:
        encoded = orjson.dumps(value, default=json_default)
    except TypeError as exc:
        raise InvalidRequest(
            f"{attribute.name} must be JSON values (str, int, float, Decimal, bool, None, "
            f"lists, mappings): {exc}",
            field=attribute.name,
        ) from None
    # orjson writes NaN and infinities as null: look for them only where a null was written.
    if b"null" in encoded and (where := _non_finite(value, attribute.name)) is not None:
        raise InvalidRequest(
            f"{where} is not a finite number (JSON has no NaN or infinity)",
            field=attribute.name,
        )


def _non_finite(value: Any, path: str) -> str | None:
    """The path of the first NaN or infinity in ``value``, if there is one."""
    if isinstance(value, float):
        return None if math.isfinite(value) else path
    if isinstance(value, Mapping):
        items: Iterable[tuple[object, Any]] = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        if (found := _non_finite(item, f"{path}.{key}")) is not None:
            return found
    return None


@attrs.frozen(kw_only=True)
class RunRequest:
    """What to start: a target, its inputs, and provider-specific ``options``.

    ``secrets`` holds sensitive inputs; they are sent to providers that vault them
    and are redacted from reprs, logs and error texts everywhere.
    """

    target: str = attrs.field(validator=_check_target)
    inputs: Mapping[str, Any] = attrs.field(factory=dict, validator=_check_json)
    name: str | None = attrs.field(default=None, validator=_check_name)
    files: tuple[File, ...] = attrs.field(default=(), converter=_file_tuple)
    secrets: Mapping[str, Any] = attrs.field(
        factory=dict, repr=_redacted_mapping, eq=False, validator=_check_json
    )
    options: Mapping[str, Any] = attrs.field(factory=dict, validator=_check_mapping)


def _status(value: object) -> RunStatus | None:
    if value is None:
        return None
    found = value if isinstance(value, RunStatus) else None
    if isinstance(value, str):
        found = _BY_VALUE.get(value)
    if found is not None and found is not RunStatus.UNKNOWN:
        return found
    names = ", ".join(s.value for s in RunStatus if s is not RunStatus.UNKNOWN)
    shown = repr(value)[:60] if isinstance(value, str) else type(value).__name__
    raise InvalidRequest(f"status must be one of {names}, not {shown}", field="status")


def _optional(kind: type | tuple[type, ...], what: str) -> Any:
    def check(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None and not isinstance(value, kind):
            raise InvalidRequest(
                f"{attribute.name} must be {what}, not {type(value).__name__}",
                field=attribute.name,
            )

    return check


def _optional_json(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _check_json(instance, attribute, value)


def _optional_time(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, datetime):
        raise InvalidRequest(
            f"{attribute.name} must be a datetime, not {type(value).__name__}",
            field=attribute.name,
        )
    if value.tzinfo is None:
        raise InvalidRequest(f"{attribute.name} must be timezone-aware", field=attribute.name)


def _optional_cost(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidRequest(
            f"cost must be a finite decimal.Decimal, not {value!r:.40}", field="cost"
        )


@attrs.frozen(kw_only=True)
class RunUpdate:
    """A partial update: only the fields that are not ``None`` are sent.

    ``status`` takes a ``RunStatus`` or its name; every field is type-checked
    here, so a wrong value is an ``InvalidRequest`` naming it before any request.
    """

    status: RunStatus | None = attrs.field(default=None, converter=_status)
    outputs: Mapping[str, Any] | None = attrs.field(default=None, validator=_optional_json)
    inputs: Mapping[str, Any] | None = attrs.field(default=None, validator=_optional_json)
    failure: Failure | None = attrs.field(default=None, validator=_optional(Failure, "a Failure"))
    started_at: datetime | None = attrs.field(default=None, validator=_optional_time)
    finished_at: datetime | None = attrs.field(default=None, validator=_optional_time)
    cost: Decimal | None = attrs.field(default=None, validator=_optional_cost)
    progress: Progress | None = attrs.field(
        default=None, validator=_optional(Progress, "a Progress")
    )
    options: Mapping[str, Any] = attrs.field(factory=dict, validator=_check_mapping)


@attrs.frozen(kw_only=True)
class RunFilter:
    """Which runs to list. Filters a provider cannot apply are applied client-side.

    A run whose target or creation time is unknown never passes a filter on it.
    """

    target: str | None = None
    statuses: frozenset[RunStatus] = frozenset()
    created_after: datetime | None = None
    created_before: datetime | None = None

    def matches(self, run: Run) -> bool:
        """Whether ``run`` passes every filter that is set."""
        if self.target is not None and run.target != self.target:
            return False
        if self.statuses and run.status not in self.statuses:
            return False
        if self.created_after is not None and (
            run.created_at is None or run.created_at < self.created_after
        ):
            return False
        return not (
            self.created_before is not None
            and (run.created_at is None or run.created_at > self.created_before)
        )


@attrs.frozen
class Page:
    """One page of a listing; pass ``next_cursor`` back to resume after it.

    ``total`` is the number of runs the provider says the whole listing holds, where
    it says (before filters the client applies itself).
    """

    items: tuple[Run, ...]
    next_cursor: str | None = None
    total: int | None = None


@attrs.frozen
class BulkError:
    """One request of a bulk create that did not produce a run it can report.

    ``token`` is set when the outcome is unknown (the run may exist): pass it to
    ``RunClient.resolve`` to find out, rather than creating the request again.
    """

    message: str
    index: int | None = None
    error: BaseException | None = attrs.field(default=None, eq=False)
    token: str | None = None


@attrs.frozen
class BulkResult:
    """Outcome of ``create_many``: every run created and every request that failed.

    ``runs`` are in the order of the requests; ``indexes`` gives each one's index among
    them (left empty, the indexes no error names, in order).
    """

    runs: tuple[Run, ...]
    errors: tuple[BulkError, ...] = ()
    requested: int = 0
    indexes: tuple[int, ...] = ()

    def by_index(self) -> dict[int, Run | BulkError]:
        """Each request's outcome by its index: its run, or its ``BulkError`` (with a
        ``token`` when the run may exist)."""
        indexes = self.indexes
        if not indexes:
            failed = {e.index for e in self.errors if e.index is not None}
            indexes = tuple(i for i in range(self.requested) if i not in failed)
        outcome: dict[int, Run | BulkError] = dict(zip(indexes, self.runs, strict=False))
        for error in self.errors:
            if error.index is not None:
                outcome[error.index] = error
        return dict(sorted(outcome.items()))

    @property
    def ok(self) -> bool:
        """True when every requested run was created."""
        return not self.errors and len(self.runs) == self.requested

    @property
    def unconfirmed(self) -> tuple[BulkError, ...]:
        """The failures whose run may exist after all (each has a ``token``)."""
        return tuple(error for error in self.errors if error.token is not None)
