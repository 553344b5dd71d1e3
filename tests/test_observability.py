"""What an operator sees: OpenTelemetry spans and metrics, logs, hooks, and ``watch()``.

The spans and metrics go to the OpenTelemetry SDK's in-memory exporter and metric
reader; the clients talk to emulators over real HTTP. Nothing secret may reach a span,
an event, a metric or a log line, in any spelling (``spellings.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

import runbridge
import runbridge.testing
from runbridge import CreateUnconfirmed, RetryPolicy, RunRequest, RunStatus
from runbridge.emulation import Faults, PollingClock
from runbridge.otel import OpenTelemetryObserver
from runbridge.testing import emulated_client, load_emulator, testing_options
from spellings import leaks
from support import until


class Telemetry:
    """An OpenTelemetry SDK of the test's own: spans and metrics kept in memory."""

    def __init__(self, **observer: Any) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.observer = OpenTelemetryObserver(
            tracer_provider=self.tracer_provider, meter_provider=self.meter_provider, **observer
        )

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def points(self) -> dict[str, list[Any]]:
        """Every metric's data points, by metric name."""
        data = self.reader.get_metrics_data()
        out: dict[str, list[Any]] = {}
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    out.setdefault(metric.name, []).extend(metric.data.data_points)
        return out


@pytest.fixture
def telemetry() -> Telemetry:
    return Telemetry()


def children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    assert parent.context is not None
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


# -- spans ----------------------------------------------------------------------------------


async def test_a_create_with_a_429_then_a_lost_answer_is_one_span_with_its_attempts(
    telemetry: Telemetry,
) -> None:
    emulator = load_emulator("cyberdesk")
    arguments = {"observers": [telemetry.observer]}
    async with emulated_client("cyberdesk", emulator=emulator, **arguments) as (client, _):
        emulator.inject(429, headers={"Retry-After": "0"})
        emulator.inject_fault("reset_after")  # made; its answer lost; replayed by the key
        run = await client.create(emulator.default_target, inputs={"n": 1})
    spans = telemetry.finished()
    (operation,) = [s for s in spans if s.name == "create cyberdesk"]
    assert operation.kind is SpanKind.CLIENT
    assert operation.attributes is not None
    assert operation.attributes["runbridge.provider"] == "cyberdesk"
    assert operation.attributes["runbridge.run.id"] == run.id
    assert operation.attributes["runbridge.run.ref"] == str(run.ref)
    assert operation.attributes["runbridge.run.status"] == "pending"
    assert operation.attributes["runbridge.target"] == emulator.default_target
    attempts = sorted(children(spans, operation), key=lambda s: s.start_time or 0)
    assert [s.name for s in attempts] == ["POST /v1/runs"] * 3
    seen = [
        (
            a.attributes.get("http.response.status_code"),
            a.attributes.get("runbridge.retry_reason"),
            a.attributes.get("error.type"),
            a.attributes.get("http.request.resend_count"),
        )
        for a in attempts
        if a.attributes is not None
    ]
    assert seen == [
        (429, "429", "429", None),
        (None, "reset", "ProviderUnavailable", 1),
        (201, None, None, 2),
    ]
    first = attempts[0].attributes
    assert first is not None
    assert first["http.request.method"] == "POST" and first["url.template"] == "/v1/runs"
    assert first["server.address"] == "127.0.0.1" and isinstance(first["server.port"], int)


async def test_a_read_names_its_path_template_not_the_id(telemetry: Telemetry) -> None:
    emulator = load_emulator("kognitos")
    arguments = {"observers": [telemetry.observer]}
    async with emulated_client("kognitos", emulator=emulator, **arguments) as (client, _):
        run = await client.create(emulator.default_target)
        await client.get(run)
        with pytest.raises(runbridge.NotFound):
            await client.get(emulator.unknown_id())
    spans = telemetry.finished()
    gets = [s for s in spans if s.name == "get kognitos"]
    assert len(gets) == 2
    assert gets[1].status.status_code.name == "ERROR"
    assert gets[1].attributes is not None and gets[1].attributes["error.type"] == "NotFound"
    reads = [s for s in spans if s.name.startswith("GET ")]
    assert {s.name for s in reads} == {"GET /runs/{id}"}
    assert all(run.id not in str(s.attributes) for s in reads)


@contextlib.asynccontextmanager
async def members(
    telemetry: Telemetry, *providers: str
) -> AsyncIterator[tuple[list[runbridge.RunClient], list[Any]]]:
    """One served emulator and one observed client per provider, each client a profile
    whose target alias ``invoice`` names its emulator's default target."""
    async with contextlib.AsyncExitStack() as stack:
        clients, emulators = [], []
        for n, provider in enumerate(providers):
            emulator = load_emulator(provider)
            url = await stack.enter_async_context(emulator.serve())
            profile = runbridge.Profile(
                name=f"{provider}-{n}",
                provider=provider,
                token_env="TOKEN",
                base_url=url,
                settings={k: v for k, v in emulator.client_settings().items() if "token" not in k},
                targets={"invoice": emulator.default_target},
            )
            client = runbridge.connect(
                profile=profile,
                environ={"TOKEN": emulator.token},
                options=testing_options(),
                observers=[telemetry.observer],
            )
            clients.append(await stack.enter_async_context(client))
            emulators.append(emulator)
        yield clients, emulators


async def test_a_fanout_is_traced_under_the_callers_span(telemetry: Telemetry) -> None:
    tracer = telemetry.tracer_provider.get_tracer("test")
    async with members(telemetry, "cyberdesk", "kognitos", "runflow") as (clients, _):
        with tracer.start_as_current_span("checkout") as caller:
            async with runbridge.fanout(clients) as fan:
                outcomes = await fan.create("invoice", inputs={"order": 7})
    assert all(o.ok for o in outcomes)
    spans = telemetry.finished()
    ours = [s for s in spans if s.name.startswith("create ")]
    assert sorted(s.name for s in ours) == ["create cyberdesk", "create kognitos", "create runflow"]
    caller_id = caller.get_span_context().span_id
    assert all(s.parent is not None and s.parent.span_id == caller_id for s in ours)
    for operation in ours:  # each member's attempts nest under its own operation
        assert children(spans, operation)


# -- metrics --------------------------------------------------------------------------------


async def test_metrics_after_a_faulted_batch_count_every_attempt_the_provider_saw(
    telemetry: Telemetry,
) -> None:
    emulator = load_emulator("kognitos", extras={"inputs"}, clock=PollingClock(step=0.1))
    options = testing_options(retry=RetryPolicy.testing(attempts=8), settle_window=0.5)
    arguments = {"observers": [telemetry.observer], "options": options}
    async with emulated_client("kognitos", emulator=emulator, **arguments) as (client, _):
        emulator.faults = Faults.mixed(0.3, seed=11)
        requests = [RunRequest(target=emulator.default_target, inputs={"i": i}) for i in range(40)]
        result = await client.create_many(requests)
        emulator.faults = None
        emulator.advance(3600)
        finished = await client.wait(result.runs[0], timeout=30)
    points = telemetry.points()
    durations = {
        (p.attributes["runbridge.operation"], p.attributes.get("error.type")): p.count
        for p in points["runbridge.client.operation.duration"]
    }
    assert durations[("create_many", None)] == 1 and durations[("wait", None)] == 1
    attempts = points["runbridge.client.attempts"]
    # Every create the provider saw, once (aiohttp may resend a read on a reused
    # connection that turned out closed, unseen by any client code: reads are not counted).
    posts = sum(p.value for p in attempts if p.attributes["http.request.method"] == "POST")
    assert posts == sum(1 for entry in emulator.log if entry.method == "POST")
    reasons = {p.attributes.get("runbridge.retry_reason") for p in attempts}
    assert {"429", "5xx"} <= reasons
    (run_time,) = points["runbridge.run.duration"]
    assert run_time.count == 1 and run_time.attributes["runbridge.run.status"] == "succeeded"
    assert finished.status is RunStatus.SUCCEEDED
    for name, data in points.items():  # run ids on spans only, never on a metric
        for point in data:
            assert not any("run.id" in key or "run.ref" in key for key in point.attributes), name


async def test_unconfirmed_creates_are_counted_and_settled(telemetry: Telemetry) -> None:
    emulator = load_emulator("runflow")
    options = testing_options(deadline=0.3, settle_window=1.0)
    arguments = {"observers": [telemetry.observer], "options": options}
    async with emulated_client("runflow", emulator=emulator, **arguments) as (client, _):
        emulator.inject(504)  # a gateway's timeout: the run may still be made
        with pytest.raises(CreateUnconfirmed) as caught:
            await client.create(emulator.default_target)
        pending = {
            p.attributes["runbridge.provider"]: p.value
            for p in telemetry.points()["runbridge.client.journal.pending"]
        }
        assert pending == {"runflow": 1}
        assert await client.resolve(caught.value.token, timeout=10) is None
    points = telemetry.points()
    assert [p.value for p in points["runbridge.client.creates.unconfirmed"]] == [1]
    assert [p.value for p in points["runbridge.client.journal.pending"]] == [0]
    spans = telemetry.finished()
    (create,) = [s for s in spans if s.name == "create runflow"]
    assert [e.name for e in create.events] == ["runbridge.create.unconfirmed"]
    assert caught.value.token not in str([s.to_json() for s in spans])


async def test_event_deliveries_are_counted_by_outcome(telemetry: Telemetry) -> None:
    emulator = load_emulator("runflow")
    secret = emulator.callback_secret  # type: ignore[attr-defined]
    arguments = {"observers": [telemetry.observer], "webhook_secrets": [secret]}
    async with emulated_client("runflow", emulator=emulator, **arguments) as (client, _):
        receiver = runbridge.EventReceiver(client)
        async with receiver.serve() as url:
            hook = f"{url}runflow"
            emulator.plan_next(queued=1, running=1)
            run = await client.create(emulator.default_target, callback_url=hook)
            emulator.advance(10)
            await client.wait(run, timeout=30, max_interval=60)
            await until(lambda: "runbridge.events.deliveries" in telemetry.points())
            forged = b'{"event": "run.completed"}'
            async with (
                aiohttp.ClientSession() as session,
                session.post(hook, data=forged) as answer,
            ):
                assert answer.status >= 400
    outcomes: Counter[str] = Counter()
    for point in telemetry.points()["runbridge.events.deliveries"]:
        outcomes[point.attributes["runbridge.outcome"]] += point.value
    assert (
        outcomes["accepted"] >= 1
        and outcomes["rejected:headers"] + outcomes["rejected:signature"] == 1
    )


# -- nothing secret -------------------------------------------------------------------------

TOKEN = "Zq81xLw0/otel+token=&x"
SECRET = 'Hk3v9QzT/pass w+d&"<é>'


def every_text(telemetry: Telemetry) -> list[str]:
    """Everything the spans and metrics hold, as text."""
    texts = [span.to_json() for span in telemetry.finished()]
    data = telemetry.reader.get_metrics_data()
    texts.append(data.to_json() if data else "")
    return texts


async def test_no_secret_reaches_a_span_an_event_or_a_metric(telemetry: Telemetry) -> None:
    emulator = load_emulator("cyberdesk", token=TOKEN)
    options = testing_options(retry=RetryPolicy.testing(attempts=2))
    arguments = {"observers": [telemetry.observer], "options": options}
    async with emulated_client("cyberdesk", emulator=emulator, **arguments) as (client, _):
        run = await client.create(
            emulator.default_target, inputs={"card": SECRET}, secrets={"pin": SECRET}
        )
        await client.get(run)
        emulator.inject(422, body={"detail": [{"loc": ["body"], "msg": TOKEN, "type": SECRET}]})
        with pytest.raises(runbridge.InvalidRequest):
            await client.create(emulator.default_target, secrets={"pin": SECRET})
        emulator.inject(500, body={"detail": f"Bearer {TOKEN} {SECRET}"}, times=2)
        with pytest.raises(runbridge.RunbridgeError):
            await client.get(run)
        await client.create_many([RunRequest(target=emulator.default_target, inputs={"x": SECRET})])
        emulator.advance(3600)
        await client.wait(run, timeout=30)
        [r async for r in client.list(target=emulator.default_target)]
    texts = every_text(telemetry)
    assert texts and all(texts)
    for secret in (TOKEN, SECRET):
        assert leaks(texts, secret) == []


# -- attempt spans off, and aiohttp instrumentation of one's own ---------------------------


async def test_attempt_spans_can_be_left_to_an_aiohttp_instrumentation() -> None:
    telemetry = Telemetry(attempt_spans=False)
    started: list[str] = []

    async def on_request_start(session: Any, context: Any, params: Any) -> None:
        started.append(params.method)

    traced = aiohttp.TraceConfig()
    traced.on_request_start.append(on_request_start)
    emulator = load_emulator("kognitos")
    arguments = {"observers": [telemetry.observer], "trace_configs": [traced]}
    async with emulated_client("kognitos", emulator=emulator, **arguments) as (client, _):
        run = await client.create(emulator.default_target)
        await client.get(run)
    assert [s.name for s in telemetry.finished()] == ["create kognitos", "get kognitos"]
    assert started == ["POST", "GET"]
    assert sum(p.value for p in telemetry.points()["runbridge.client.attempts"]) == 2


# -- logs -----------------------------------------------------------------------------------


@pytest.fixture
def runbridge_logger() -> Iterator[logging.Logger]:
    """The ``runbridge`` logger, given back as it was (``RUNBRIDGE_LOG`` adds a handler)."""
    logger = logging.getLogger("runbridge")
    handlers, level = list(logger.handlers), logger.level
    yield logger
    logger.handlers[:] = handlers
    logger.setLevel(level)


@pytest.mark.parametrize("level", ["off", "info", "debug"])
async def test_runbridge_log_turns_on_one_line_per_operation_and_per_attempt(
    level: str,
    runbridge_logger: logging.Logger,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if level != "off":
        monkeypatch.setenv("RUNBRIDGE_LOG", level)
    emulator = load_emulator("kognitos", token=TOKEN)
    caplog.set_level(logging.DEBUG, logger="runbridge")
    async with emulated_client("kognitos", emulator=emulator) as (client, _):
        emulator.inject(503)
        run = await client.create(emulator.default_target, inputs={"card": SECRET})
        await client.get(run)
    operations = [
        r.getMessage()
        for r in caplog.records
        if r.name == "runbridge" and r.levelno == logging.INFO
    ]
    attempts = [
        r.getMessage()
        for r in caplog.records
        if r.name == "runbridge.http" and "->" in r.getMessage()
    ]
    if level == "off":
        assert operations == [] and attempts == []
        return
    assert [line.split()[0] for line in operations] == ["kognitos.create", "kognitos.get"]
    assert all(" ms" in line and f"kognitos:{run.id}" in line for line in operations)
    if level == "info":
        assert attempts == []
    else:
        assert attempts[0].startswith("kognitos.create POST /runs -> 503 (5xx)")
        assert "resend 1" in attempts[1] and len(attempts) == 3
    for secret in (TOKEN, SECRET):
        assert leaks(operations + attempts, secret) == []


# -- hooks ----------------------------------------------------------------------------------


class Recorder(runbridge.Observer):
    """A user's observer: plain and async hooks, and one that fails."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def operation_started(self, op: runbridge.Operation) -> None:
        self.seen.append(f"start {op.operation}")

    async def operation_ended(self, op: runbridge.Operation) -> None:
        await asyncio.sleep(0)
        self.seen.append(f"end {op.operation} {op.run.status.value if op.run else op.error}")

    def attempt_ended(self, attempt: runbridge.Attempt) -> None:
        raise RuntimeError("a bug in the user's hook")


async def test_hooks_sync_and_async_and_a_failing_one_never_breaks_the_call(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = Recorder()
    emulator = load_emulator("cyberdesk")
    async with emulated_client("cyberdesk", emulator=emulator, observers=[recorder]) as (client, _):
        run = await client.create(emulator.default_target)
        assert (await client.get(run)).ref == run.ref
        for _ in range(10):  # the async hooks run as tasks of their own
            await asyncio.sleep(0)
    # The async hook ran as a task of its own: after the call, not before it returned.
    assert sorted(recorder.seen) == [
        "end create pending",
        "end get pending",
        "start create",
        "start get",
    ]
    failures = [r for r in caplog.records if r.name == "runbridge.observe"]
    assert len(failures) == 2 and "a bug in the user's hook" in failures[0].getMessage()


# -- watch() --------------------------------------------------------------------------------


async def test_watch_follows_progress_over_polls_until_it_finishes() -> None:
    emulator = load_emulator("runflow", clock=PollingClock(step=1.0))
    async with emulated_client("runflow", emulator=emulator) as (client, _):
        emulator.plan_next(queued=2, running=6, outputs={"image_urls": ["https://x/1.png"]})
        run = await client.create(emulator.default_target)
        changes = [c async for c in client.watch(run, poll_interval=0.01, max_interval=0.01)]
    statuses = [c.run.status for c in changes]
    assert statuses[0] is RunStatus.PENDING and statuses[-1] is RunStatus.SUCCEEDED
    assert statuses == sorted(statuses, key=lambda s: list(RunStatus).index(s))
    done = [c.run.progress.completed for c in changes if c.run.progress is not None]
    assert done == sorted(done) and len(set(done)) > 1  # k/n nodes as they complete
    assert "outputs" in changes[-1].changed and changes[-1].run.outputs
    assert all(c.changed for c in changes)


async def test_watch_wakes_on_events_between_slow_polls() -> None:
    emulator = load_emulator("runflow")
    secret = emulator.callback_secret  # type: ignore[attr-defined]
    async with emulated_client("runflow", emulator=emulator, webhook_secrets=[secret]) as (
        client,
        _,
    ):
        receiver = runbridge.EventReceiver(client)
        async with receiver.serve() as url:
            emulator.plan_next(queued=1, running=2)
            run = await client.create(emulator.default_target, callback_url=f"{url}runflow")
            watching = client.watch(run, timeout=60, max_interval=60)  # polls far apart
            first = await anext(watching)
            emulator.advance(10)  # the run finishes: its callback arrives
            rest = [c async for c in watching]
    assert first.run.status is RunStatus.PENDING
    assert rest[-1].run.status is RunStatus.SUCCEEDED


def test_watch_in_the_sync_client_is_a_plain_iterator() -> None:
    emulator = load_emulator("kognitos", clock=PollingClock(step=1.0))
    with runbridge.testing.emulated_sync_client("kognitos", emulator=emulator) as (client, _):
        run = client.create(emulator.default_target)
        changes = list(client.watch(run, poll_interval=0.01, max_interval=0.01))
    assert changes[-1].run.status is RunStatus.SUCCEEDED


async def test_a_fanout_watches_its_runs_merged() -> None:
    telemetry = Telemetry()
    async with members(telemetry, "kognitos", "runflow") as (clients, emulators):
        for emulator in emulators:
            emulator.clock = PollingClock(step=2.0)
        async with runbridge.fanout(clients) as fan:
            outcomes = await fan.create("invoice")
            changes = [pair async for pair in fan.watch(outcomes, poll_interval=0.01)]
    finals = {
        member: change.run.status for member, change in changes if change.run.status.is_terminal
    }
    assert finals == {"kognitos-0": RunStatus.SUCCEEDED, "runflow-1": RunStatus.SUCCEEDED}


async def test_watch_ends_with_wait_timeout() -> None:
    emulator = load_emulator("kognitos")
    async with emulated_client("kognitos", emulator=emulator) as (client, _):
        emulator.plan_next(outcome="running")
        run = await client.create(emulator.default_target)
        seen: list[runbridge.RunChange] = []

        async def follow() -> None:
            async for change in client.watch(run, timeout=0.2, poll_interval=0.05):
                seen.append(change)

        with pytest.raises(runbridge.WaitTimeout):
            await follow()
    assert len(seen) == 1  # the first read; nothing changed after it


async def test_a_create_taken_over_from_another_process_is_told(tmp_path: Any) -> None:
    journal = tmp_path / "journal.sqlite"
    emulator = load_emulator("kognitos")
    emulator.faults = Faults(slow=1.0, slow_seconds=0.3, methods={"POST"})
    async with emulated_client("kognitos", emulator=emulator, journal=journal) as (first, _):
        task = asyncio.ensure_future(first.create(emulator.default_target))
        await until(lambda: len(emulator.log) == 1)
        task.cancel()  # the process gives up mid-create, and ends
        with contextlib.suppress(asyncio.CancelledError):
            await task
        (pending,) = await first.unconfirmed()
    seen: list[tuple[str, int]] = []

    class Watcher(runbridge.Observer):
        def claim_taken_over(self, provider: str, sends: int) -> None:
            seen.append((provider, sends))

    arguments = {"journal": journal, "observers": [Watcher()]}
    async with emulated_client("kognitos", emulator=emulator, **arguments) as (second, _):
        run = await second.resolve(pending.token, timeout=10)
    assert run is not None and seen == [("kognitos", 1)]
