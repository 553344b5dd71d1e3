"""Argument checks of the client's operations: every bad value is typed and named first."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from .._model._errors import InvalidRequest
from .._model._lifecycle import Patience
from .._model._run import BulkError, File, Run, RunFilter, RunRef, RunRequest, RunStatus, RunUpdate
from .._plugins._adapter import Adapter
from .._wire._redact import Redactor


def is_int(value: object) -> bool:
    """An ``int`` that is not a ``bool``."""
    return isinstance(value, int) and not isinstance(value, bool)


class Arguments:
    """Checks the arguments of one client's calls against its adapter's declarations."""

    def __init__(self, adapter: Adapter, redactor: Redactor) -> None:
        self.adapter = adapter
        self.provider = adapter.name
        self._redactor = redactor
        self._id_format = adapter.id_format

    def safe(self, value: object, limit: int = 60) -> str:
        """``repr(value)`` shortened, with this client's secrets masked."""
        return self._redactor.text(repr(value))[:limit]

    def invalid(self, message: str, field: str, operation: str | None = None) -> InvalidRequest:
        """An ``InvalidRequest`` naming ``field`` and this provider."""
        return InvalidRequest(message, field=field, provider=self.provider, operation=operation)

    # -- refs -------------------------------------------------------------------------

    def run_id(self, run: RunRef | Run | str) -> str:
        """``ref(run).id``, without building a ref when ``run`` is a plain id of the right
        format (the common case of ``get``)."""
        if type(run) is str and ":" not in run:
            normalized = self._id_format.normalize(run)
            if normalized:
                return normalized
        return self.ref(run).id

    def ref(self, run: RunRef | Run | str) -> RunRef:
        """A validated ref on this provider from a ref, a run, ``"provider:id"`` or an id."""
        if isinstance(run, Run):
            run = run.ref
        if isinstance(run, str):
            run = RunRef.parse(run) if ":" in run else RunRef(self.provider, run)
        if not isinstance(run, RunRef):
            raise self.invalid(f"expected a run reference, got {type(run).__name__}", "ref")
        if run.provider != self.provider:
            raise self.invalid(
                self._redactor.text(
                    f"run {run} belongs to {run.provider}, not to this {self.provider} client"
                ),
                "ref",
            )
        fmt = self.adapter.id_format
        normalized = fmt.normalize(run.id)
        if normalized is None:
            raise self.invalid(
                f"run id {self.safe(run.id, 64)} does not match the {fmt.name} format", "id"
            )
        return run if normalized == run.id else RunRef(self.provider, normalized)

    # -- requests and updates ---------------------------------------------------------

    def request(
        self,
        request: RunRequest | str,
        *,
        inputs: Mapping[str, Any] | None,
        name: str | None,
        files: Iterable[File],
        secrets: Mapping[str, Any] | None,
        options: Mapping[str, Any],
    ) -> RunRequest:
        """A ``RunRequest`` from one, or from a target and keyword arguments."""
        if isinstance(request, str):
            try:
                return RunRequest(
                    target=request,
                    inputs=inputs or {},
                    name=name,
                    files=files,  # checked and made a tuple by RunRequest
                    secrets=secrets or {},
                    options=options,
                )
            except InvalidRequest as exc:
                exc.provider, exc.operation = self.provider, "create"
                raise
        if not isinstance(request, RunRequest):
            raise self.invalid(
                f"expected a RunRequest or a target string, not {type(request).__name__}",
                "request",
                "create",
            )
        given = [
            name
            for name, value in (("inputs", inputs), ("name", name), ("secrets", secrets))
            if value is not None
        ]
        if files != () and (not isinstance(files, Iterable) or tuple(files)):
            given.append("files")
        given.extend(str(key) for key in options)
        if given:
            # The request already says all of it: a keyword beside it would be dropped.
            raise self.invalid(
                f"pass either a RunRequest or a target with keyword arguments, not both "
                f"(got a RunRequest and {', '.join(given)}); use attrs.evolve(request, ...) "
                "to change a request",
                given[0],
                "create",
            )
        return request

    def create(
        self, request: RunRequest, *, secrets_supported: bool, operation: str = "create"
    ) -> None:
        """Check a request against the declarations: options, file options, secrets."""
        adapter = self.adapter
        if request.secrets and not secrets_supported:
            raise self.invalid(
                f"{self.provider} has no store for sensitive inputs; refusing to send "
                f"secrets ({', '.join(sorted(request.secrets))}) as plain inputs",
                "secrets",
                operation,
            )
        adapter.create_options.check(request.options, provider=self.provider, operation=operation)
        for n, file in enumerate(request.files):
            try:
                adapter.file_options.check(
                    file.options,
                    provider=self.provider,
                    operation=operation,
                    where=f"files.{n}.options",
                )
            except InvalidRequest as exc:
                exc.message = self._redactor.text(f"file {file.name!r}: {exc.message}")
                exc.args = (exc.message,)
                raise
        adapter.check_options("create", request.options)

    def bulk(
        self,
        batch: Sequence[object],
        resolve: Callable[[RunRequest], RunRequest],
        *,
        secrets_supported: bool,
    ) -> tuple[list[RunRequest], dict[int, BulkError]]:
        """The requests of a ``create_many``, resolved, and those refused, by index.

        Secrets for a provider without a vault refuse the whole batch (raised);
        any other bad request is refused alone, in its place a placeholder never sent.
        """
        if not secrets_supported:
            for request in batch:
                if isinstance(request, RunRequest) and request.secrets:
                    self.create(request, secrets_supported=False, operation="create_many")
        refused: dict[int, BulkError] = {}
        resolved: list[RunRequest] = []
        for index, request in enumerate(batch):
            try:
                if not isinstance(request, RunRequest):
                    raise self.invalid(
                        f"create_many takes RunRequest objects, not {type(request).__name__}",
                        "requests",
                        "create_many",
                    )
                request = resolve(request)
                self.create(request, secrets_supported=secrets_supported, operation="create_many")
            except InvalidRequest as exc:
                refused[index] = BulkError(str(exc), index, exc)
                request = RunRequest(target="-")
            resolved.append(request)
        return resolved, refused

    def update(self, update: RunUpdate | None, fields: Mapping[str, Any]) -> RunUpdate:
        """A checked ``RunUpdate`` from one and/or keyword fields."""
        try:
            if update is None:
                update = RunUpdate(**fields)
            elif not isinstance(update, RunUpdate):
                raise InvalidRequest(
                    f"update must be a RunUpdate, not {type(update).__name__}", field="update"
                )
            elif fields:
                update = attrs.evolve(update, **fields)
        except TypeError as exc:
            raise self.invalid(str(exc), "update", "update") from None
        except InvalidRequest as exc:
            exc.provider, exc.operation = self.provider, "update"
            raise
        adapter = self.adapter
        for field in sorted(_set_fields(update) - adapter.update_fields):
            raise self.invalid(f"{self.provider} cannot update a run's {field}", field, "update")
        adapter.update_options.check(update.options, provider=self.provider, operation="update")
        adapter.check_options("update", update.options)
        adapter.check_update(update)
        return update

    # -- listing ----------------------------------------------------------------------

    def filters(
        self,
        target: str | None,
        status: RunStatus | str | Iterable[RunStatus | str] | None,
        created_after: datetime | None,
        created_before: datetime | None,
    ) -> RunFilter:
        """A ``RunFilter`` of checked values; the caller resolves ``target`` aliases first."""
        if status is None:
            statuses: frozenset[RunStatus] = frozenset()
        elif isinstance(status, RunStatus | str):
            statuses = frozenset({self.status(status)})
        elif isinstance(status, Iterable) and not isinstance(status, Mapping | bytes):
            statuses = frozenset(self.status(s) for s in status)
        else:
            raise self.invalid(
                f"status must be a status or a list of them, not {type(status).__name__}",
                "status",
            )
        if target is not None and (not isinstance(target, str) or not target):
            raise self.invalid("target must be a non-empty string", "target")
        for name, value in (("created_after", created_after), ("created_before", created_before)):
            if value is not None and not isinstance(value, datetime):
                raise self.invalid(f"{name} must be a datetime, not {type(value).__name__}", name)
            if value is not None and value.tzinfo is None:
                raise self.invalid(f"{name} must be timezone-aware", name)
        if target is not None:
            target = self.adapter.canonical_target(target)
        return RunFilter(
            target=target,
            statuses=statuses,
            created_after=created_after,
            created_before=created_before,
        )

    def status(self, value: RunStatus | str) -> RunStatus:
        """A canonical status from a ``RunStatus`` or its name."""
        if not isinstance(value, RunStatus | str):
            raise self.invalid(
                f"status must be a status name, not {self.safe(value, 40)}", "status"
            )
        status = RunStatus.parse(value)
        if status is RunStatus.UNKNOWN and value not in (RunStatus.UNKNOWN, "unknown"):
            raise self.invalid(
                f"unknown status {self.safe(value)}; use one of "
                + ", ".join(s.value for s in RunStatus),
                "status",
            )
        return status

    def page_size(self, page_size: int | None) -> int | None:
        """A page size within the provider's limit, or ``None``."""
        if page_size is None:
            return None
        top = self.adapter.instance_capabilities().max_page_size
        if not is_int(page_size) or not 1 <= page_size <= top:
            raise self.invalid(
                f"page_size must be an integer from 1 to {top}, got {self.safe(page_size, 40)}",
                "page_size",
                "list",
            )
        return page_size

    def seconds(self, value: object, field: str, *, positive: bool = True) -> float:
        """A finite number of seconds: above zero, or (``positive=False``) at least zero."""
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        number = float(value) if ok else math.nan  # type: ignore[arg-type]
        if not math.isfinite(number) or number < 0 or (positive and number == 0):
            bound = "above zero" if positive else "zero or more"
            raise self.invalid(
                f"{field} must be a finite number of seconds, {bound}, not {self.safe(value, 40)}",
                field,
            )
        return number

    def patience(self, on_hold: object, unknown_grace: object) -> Patience:
        """A wait's ``on_hold`` (``"raise"`` or ``"wait"``) and ``unknown_grace`` (seconds,
        or ``None`` for none), checked."""
        if on_hold not in ("raise", "wait"):
            raise self.invalid(
                f"on_hold must be 'raise' or 'wait', not {self.safe(on_hold, 40)}", "on_hold"
            )
        grace = None if unknown_grace is None else self.seconds(unknown_grace, "unknown_grace")
        return Patience(on_hold, grace)

    def count(self, value: object, field: str, *, minimum: int) -> int:
        """A whole number of at least ``minimum``."""
        if not is_int(value) or value < minimum:  # type: ignore[operator]
            raise self.invalid(
                f"{field} must be an integer of at least {minimum}, not {self.safe(value, 40)}",
                field,
            )
        return value  # type: ignore[return-value]


def _set_fields(update: RunUpdate) -> set[str]:
    return {
        a.name
        for a in attrs.fields(RunUpdate)
        if a.name != "options" and getattr(update, a.name) is not None
    }
