"""The Runflow emulator: its routes (``_routes``) and the callbacks runs announce."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from runbridge.emulation import Delivery, EventRoute, Outbound

from . import _callbacks as callbacks
from ._records import EmuRun
from ._routes import RunflowRoutes


class RunflowEmulator(RunflowRoutes):
    """Serves Runflow's runs API from memory; seed targets with ``add_model``/``add_workflow``.

    By default it serves exactly the documented shapes. Options for tests:
    ``cursor_style`` (how ``next`` looks), ``query_fields`` (what ``q`` may filter
    on; a field outside it is refused with 422 like an unknown one),
    ``max_batch_items`` (a batch size limit; Runflow documents none),
    ``id_routes`` (``False``: a model or workflow id in place of ``{owner}/{slug}`` in
    a create or batch path is 404, as only the path is documented) and
    ``failure_fields`` (``False``: run records without ``failure_code``,
    ``failure_message`` and ``failure_stage_code``, as the get-run reference shows
    them; a failure then shows only in ``node_runs[].error_message``).

    A run created with a ``callback_url`` is POSTed there once finished, signed
    with ``callback_secret`` and retried on non-2xx (``deliveries``,
    ``delivery_faults``, ``inject_delivery_fault``); batch callbacks are not sent.
    ``default_callback_url`` (off by default; not a Runflow feature) calls back runs
    that name no ``callback_url`` there too: ``runbridge emulate --events-to`` uses it.
    """

    # -- callbacks ----------------------------------------------------------------------

    def send_events_to(self, url: str) -> EventRoute:
        """Each run names its ``callback_url`` when created; callbacks are signed with
        ``callback_secret``."""
        return EventRoute(secret=self.callback_secret, options={"callback_url": url})

    def event_runs(self) -> Iterable[tuple[str, EmuRun]]:
        return [(run_id, run) for run_id, run in self.runs.items() if self.callback_url_of(run)]

    def run_event(self, run_id: str, run: Any) -> Outbound | None:
        return callbacks.outbound(self.callback_url_of(run), self.run_json(run))

    def sign_delivery(self, delivery: Delivery, at: float, *, forged: bool) -> dict[str, str]:
        return callbacks.headers(self.callback_secret, delivery, forged=forged)

    def new_delivery_id(self) -> str:
        return callbacks.new_request_id()
