"""OpenTelemetry traces and metrics of runbridge clients (extra ``runbridge[otel]``).

    import runbridge
    from runbridge.otel import OpenTelemetryObserver

    async with runbridge.connect("kognitos", token=..., observers=[OpenTelemetryObserver()]):
        ...

Depends on ``opentelemetry-api`` only: spans and metrics go to whatever SDK and
exporters the application configured (none: nothing is recorded). Each client
operation is one CLIENT span named ``{operation} {provider}`` (``create cyberdesk``),
current while it runs, so it nests under the caller's span; each HTTP attempt is a
child span following the stable HTTP client conventions. Attributes and metrics are
listed in ``docs/observability.md``. Run ids appear on spans only, never on metrics;
no input, secret, credential, client token or body reaches either.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import context, metrics, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from ._model._run import Run
from ._wire._observe import Attempt, Operation

__all__ = ["OpenTelemetryObserver"]

_NAME = "runbridge"


class OpenTelemetryObserver:
    """Spans and metrics for every operation and attempt of the clients it observes.

    ``attempt_spans=False`` leaves the HTTP attempts to an aiohttp instrumentation of
    your own (``connect(..., trace_configs=[...])``); the attempt metrics stay.
    ``tracer_provider`` and ``meter_provider`` default to the global ones.
    """

    def __init__(
        self,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        attempt_spans: bool = True,
    ) -> None:
        from importlib.metadata import version

        release = version("runbridge")
        self._tracer = trace.get_tracer(_NAME, release, tracer_provider)
        meter = metrics.get_meter(_NAME, release, meter_provider)
        self.attempt_spans = attempt_spans
        self._duration = meter.create_histogram(
            "runbridge.client.operation.duration",
            unit="s",
            description="How long client operations took",
        )
        self._attempts = meter.create_counter(
            "runbridge.client.attempts",
            unit="{attempt}",
            description="HTTP attempts, by answer and retry reason",
        )
        self._unconfirmed = meter.create_counter(
            "runbridge.client.creates.unconfirmed",
            unit="{create}",
            description="Creates whose outcome was unknown (CreateUnconfirmed)",
        )
        self._pending = meter.create_up_down_counter(
            "runbridge.client.journal.pending",
            unit="{create}",
            description="Creates this process left unsettled, less those it resolved",
        )
        self._runs = meter.create_histogram(
            "runbridge.run.duration",
            unit="s",
            description="How long runs took, started (or created) to finished, as wait saw them",
        )
        self._deliveries = meter.create_counter(
            "runbridge.events.deliveries",
            unit="{delivery}",
            description="Run event deliveries, by outcome",
        )

    def __repr__(self) -> str:
        return f"<OpenTelemetryObserver attempt_spans={self.attempt_spans}>"

    # -- operations ---------------------------------------------------------------------

    def operation_started(self, op: Operation) -> None:
        """Start the operation's span and make it current."""
        attributes: dict[str, Any] = {
            "runbridge.provider": op.provider,
            "runbridge.operation": op.operation,
        }
        if op.target is not None:
            attributes["runbridge.target"] = op.target
        if op.run_id is not None:
            attributes["runbridge.run.id"] = op.run_id
            attributes["runbridge.run.ref"] = op.run_ref or ""
        if op.batch_size is not None:
            attributes["runbridge.batch.size"] = op.batch_size
        span = self._tracer.start_span(
            f"{op.operation} {op.provider}", kind=SpanKind.CLIENT, attributes=attributes
        )
        token = context.attach(trace.set_span_in_context(span))
        op.state[self] = (span, token)

    def operation_ended(self, op: Operation) -> None:
        """End the operation's span; record its duration (and a finished run's)."""
        held = op.state.pop(self, None)
        error_type = type(op.error).__name__ if op.error is not None else None
        if held is not None:
            span, token = held
            if op.run is not None:
                span.set_attributes(_run_attributes(op.run))
            if op.batch_size is not None:
                span.set_attribute("runbridge.batch.size", op.batch_size)
            if op.target is not None:
                span.set_attribute("runbridge.target", op.target)
            if error_type is not None:
                span.set_attribute("error.type", error_type)
                code = getattr(op.error, "code", None)
                if isinstance(code, str):
                    span.set_attribute("runbridge.error.code", code[:100])
                span.set_status(Status(StatusCode.ERROR, error_type))
            span.end()
            context.detach(token)
        attributes = {"runbridge.provider": op.provider, "runbridge.operation": op.operation}
        if error_type is not None:
            attributes["error.type"] = error_type
        self._duration.record(op.duration or 0.0, attributes)
        if op.operation == "wait" and op.run is not None and op.run.status.is_terminal:
            seconds = _run_seconds(op.run)
            if seconds is not None:
                status = {
                    "runbridge.provider": op.provider,
                    "runbridge.run.status": op.run.status.value,
                }
                self._runs.record(seconds, status)

    # -- attempts -----------------------------------------------------------------------

    def attempt_started(self, attempt: Attempt) -> None:
        """Start the attempt's span, a child of the operation's."""
        if not self.attempt_spans:
            return
        attributes: dict[str, Any] = {
            "http.request.method": attempt.method,
            "server.address": attempt.server_address,
            "url.template": attempt.url_template,
            "runbridge.provider": attempt.provider,
            "runbridge.operation": attempt.operation,
        }
        if attempt.server_port is not None:
            attributes["server.port"] = attempt.server_port
        if attempt.resend_count:
            attributes["http.request.resend_count"] = attempt.resend_count
        attempt.state[self] = self._tracer.start_span(
            f"{attempt.method} {attempt.url_template}", kind=SpanKind.CLIENT, attributes=attributes
        )

    def attempt_ended(self, attempt: Attempt) -> None:
        """End the attempt's span; count the attempt by answer and retry reason."""
        span = attempt.state.pop(self, None)
        if span is not None:
            if attempt.status is not None:
                span.set_attribute("http.response.status_code", attempt.status)
            if attempt.retry_reason is not None:
                span.set_attribute("runbridge.retry_reason", attempt.retry_reason)
            if attempt.error_type is not None:
                span.set_attribute("error.type", attempt.error_type)
                span.set_status(Status(StatusCode.ERROR, attempt.error_type))
            span.end()
        attributes: dict[str, Any] = {
            "runbridge.provider": attempt.provider,
            "runbridge.operation": attempt.operation,
            "http.request.method": attempt.method,
        }
        if attempt.status is not None:
            attributes["http.response.status_code"] = attempt.status
        if attempt.retry_reason is not None:
            attributes["runbridge.retry_reason"] = attempt.retry_reason
        if attempt.error_type is not None:
            attributes["error.type"] = attempt.error_type
        self._attempts.add(1, attributes)

    # -- creates, claims, events, polls ---------------------------------------------------

    def create_unconfirmed(self, provider: str) -> None:
        """Count it, and note it on the operation's span (never its token)."""
        trace.get_current_span().add_event("runbridge.create.unconfirmed")
        self._unconfirmed.add(1, {"runbridge.provider": provider})
        self._pending.add(1, {"runbridge.provider": provider})

    def create_resolved(self, provider: str, outcome: str) -> None:
        """A create settled: one pending entry fewer."""
        trace.get_current_span().add_event(
            "runbridge.create.resolved", {"runbridge.outcome": outcome}
        )
        self._pending.add(-1, {"runbridge.provider": provider})

    def claim_taken_over(self, provider: str, sends: int) -> None:
        """Note on the operation's span that it took over another process's create."""
        trace.get_current_span().add_event("runbridge.claim.taken_over", {"runbridge.sends": sends})

    def event_received(self, provider: str, outcome: str) -> None:
        """Count a run event delivery by outcome (``accepted``, ``rejected:<reason>``)."""
        self._deliveries.add(1, {"runbridge.provider": provider, "runbridge.outcome": outcome})

    def wait_polled(self, provider: str, run: Run) -> None:
        """One read of a wait or a watch, as an event on its span."""
        attributes: dict[str, Any] = {"runbridge.run.status": run.status.value}
        if run.native_status is not None:
            attributes["runbridge.run.native_status"] = run.native_status[:100]
        trace.get_current_span().add_event("runbridge.wait.poll", attributes)


def _run_attributes(run: Run) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "runbridge.run.id": run.id,
        "runbridge.run.ref": str(run.ref),
        "runbridge.run.status": run.status.value,
    }
    if run.native_status is not None:
        attributes["runbridge.run.native_status"] = run.native_status[:100]
    if run.target is not None:
        attributes["runbridge.target"] = run.target
    return attributes


def _run_seconds(run: Run) -> float | None:
    """How long the run took: from its start (or creation) to its finish, as the provider
    reports them; without a finish time, until now, when ``wait`` saw it finished."""
    start = run.started_at or run.created_at
    if start is None:
        return None
    from datetime import UTC, datetime

    end = run.finished_at or datetime.now(UTC)
    return max((end - start).total_seconds(), 0.0)
