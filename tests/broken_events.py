"""Runflow adapters broken in how they read run events, for the conformance kit's own tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from runbridge import RunEvent, RunStatus
from runbridge.adapter import Call
from runbridge_runflow import RunflowAdapter


class TrustingRunflow(RunflowAdapter):
    """Takes every delivery as signed: a forged or tampered callback is believed."""

    def verify_event(
        self,
        headers: Mapping[str, str],
        body: bytes,
        secrets: Sequence[str],
        *,
        now: float,
        tolerance: float,
    ) -> str:
        return headers.get("Runflow-Request-Id", "unsigned")


class MisreadEventRun(RunflowAdapter):
    """Reads every run event as a failure, whatever the run did."""

    def event_from(self, call: Call, payload: Any, event_id: str) -> RunEvent:
        event = super().event_from(call, payload, event_id)
        return attrs.evolve(event, run=attrs.evolve(event.run, status=RunStatus.FAILED))
