"""Broken variants of the memo adapter, each with one mistake its author's own tests
would miss; ``tests/test_conformance_kit.py`` runs the conformance kit against each and
checks which of the kit's tests fail.

Every variant is named ``memo`` and registered on a registry of its own
(``registry_of``), never on the default one. ``KeptSecrets`` is a correct variant:
the control for ``DroppedSecrets``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from runbridge import Failure, Page, ProviderUnavailable, Run, RunRef, RunRequest, RunStatus
from runbridge.adapter import (
    Adapter,
    Call,
    ErrorInfo,
    Registry,
    RunFilter,
    StatusMap,
    hookimpl,
)

from ._adapter import STATUSES, MemoAdapter, WireRun

DEFAULT_LIMIT = 20
"""The page size memo uses when a request names none."""


def registry_of(adapter: type[Adapter]) -> Registry:
    """A registry that holds only ``adapter``, as if it were the one plugin installed."""

    class Plugin:
        @hookimpl
        def runbridge_register_adapters(self, register: Callable[[type[Adapter]], None]) -> None:
            register(adapter)

    registry = Registry(entry_points=False)
    registry.register_plugin(Plugin(), name=f"broken-{adapter.__name__}")
    return registry


class MisreadStatus(MemoAdapter):
    """Declares ``EXPIRED`` (a value the memo docs leave out, so the emulator never sends
    it) as a timeout failure, but reads it as cancelled."""

    statuses = StatusMap(
        {**STATUSES.to_canonical, "EXPIRED": RunStatus.FAILED},
        failures={**STATUSES.failures, "EXPIRED": "timeout"},
    )

    def run_from(self, wire: WireRun, ref: RunRef, payload: Mapping[str, Any]) -> Run:
        run = super().run_from(wire, ref, payload)
        if wire.state == "EXPIRED":
            return attrs.evolve(run, status=RunStatus.CANCELLED)
        return run


class MisdeclaredStatus(MemoAdapter):
    """Declares ``TIMEOUT`` (documented as a timeout failure, which the kit's runs never
    reach) as cancelled, and reads it as declared."""

    statuses = StatusMap({**STATUSES.to_canonical, "TIMEOUT": RunStatus.CANCELLED})

    def run_from(self, wire: WireRun, ref: RunRef, payload: Mapping[str, Any]) -> Run:
        run = super().run_from(wire, ref, payload)
        status = self.statuses.canonical(wire.state)
        failure = (run.failure or Failure("task")) if status is RunStatus.FAILED else None
        return attrs.evolve(run, status=status, failure=failure)


class MisreadExtraStatus(MemoAdapter):
    """Declares ``PAUSED`` (documented as a running run on hold, never produced by the
    emulator's clock) as pending."""

    statuses = StatusMap(
        {**STATUSES.to_canonical, "PAUSED": RunStatus.PENDING}, failures=STATUSES.failures
    )
    emulator = "memo_plugin.paused:PausingEmulator"


class PageNumbers(MemoAdapter):
    """Its cursor is the next page's number: resumed with another page size, the listing
    skips or repeats runs."""

    async def list_page(
        self, call: Call, filters: RunFilter, cursor: str | None, limit: int | None
    ) -> Page:
        page = int(cursor or "0")
        offset = f"o{page * (limit or DEFAULT_LIMIT)}" if page else None
        found = await super().list_page(call, filters, offset, limit)
        return Page(found.items, str(page + 1) if found.next_cursor else None)


class StuckCursor(MemoAdapter):
    """Never sends the cursor it is given: every page is the first, naming the same next
    page (without the core's guard, a listing of more than a page would never end)."""

    async def list_page(
        self, call: Call, filters: RunFilter, cursor: str | None, limit: int | None
    ) -> Page:
        return await super().list_page(call, filters, None, limit)


class _Vaulted(MemoAdapter):
    capabilities = attrs.evolve(MemoAdapter.capabilities, secrets=True)
    emulator = "memo_plugin.vault:VaultEmulator"


class DroppedSecrets(_Vaulted):
    """Says it takes secrets, and silently leaves them out of the create."""


class KeptSecrets(_Vaulted):
    """Takes secrets and sends them (correct: the control for ``DroppedSecrets``)."""

    async def create(self, call: Call, request: RunRequest) -> Run:
        body = {
            "target": request.target,
            "inputs": dict(request.inputs),
            "name": request.name,
            "secrets": dict(request.secrets),
        }
        response = await call.request("POST", "/runs", json=body, expect=(201,))
        return self.to_run(call, response.data)


class IgnoredErrorBody(MemoAdapter):
    """Reads nothing out of error bodies: every error says only its HTTP status."""

    def parse_error(self, status: int, body: Any) -> ErrorInfo:
        return ErrorInfo()


class LostCreateRetried(MemoAdapter):
    """Sends a create whose answer was lost again by itself, blindly (no key, no lookup):
    the provider makes the run twice."""

    async def create(self, call: Call, request: RunRequest) -> Run:
        try:
            return await super().create(call, request)
        except ProviderUnavailable:
            return await super().create(call, request)


class HangingCancel(MemoAdapter):
    """Waits for the run to stop instead of stopping it: ``cancel`` never returns."""

    async def cancel(self, call: Call, run_id: str) -> Run:
        while True:
            run = await self.get(call, run_id)
            if run.status is RunStatus.CANCELLED:
                return run
            await asyncio.sleep(0.01)
