"""The Kognitos adapter through the public API, against its emulator over loopback HTTP.

The emulator serves the documented run object unless a test turns on an extra by
name (``inputs``, ``timings``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

import runbridge
from runbridge import (
    AuthError,
    ConfigError,
    Hold,
    InvalidRequest,
    NotFound,
    ProviderUnavailable,
    RateLimited,
    ResponseError,
    RunClient,
    RunHeld,
    RunStatus,
    Support,
    UnknownStatus,
)
from runbridge.adapter import RUN_FIELDS
from runbridge.testing import emulated_client
from runbridge_kognitos import KognitosAdapter
from runbridge_kognitos.emulator import KognitosEmulator

LIST = ("GET", "/v2/runs")


@pytest.fixture
def provider() -> str:
    return "kognitos"


def run_json(**overrides: Any) -> dict[str, Any]:
    """A documented run object (the example of the runs reference), with changes."""
    body = {
        "agent_id": "b4fznghynbdemslfd5k044fgd",
        "created_at": "2021-01-01T12:00:00",
        "file_ids": None,
        "id": "b4fznghynbdemslfd5k044fgd",
        "name": "Process invoice",
        "outputs": None,
        "process_id": "9nvx1hdm9bd74rp585oe81t5i",
        "stage": "Published",
        "status": "Created",
    }
    body.update(overrides)
    return body


# -- statuses and run objects --------------------------------------------------------------


@pytest.mark.parametrize(
    ("native", "status", "kind"),
    [
        ("Created", RunStatus.PENDING, None),
        ("Pending", RunStatus.PENDING, None),
        ("Running", RunStatus.RUNNING, None),
        ("Succeeded", RunStatus.SUCCEEDED, None),
        ("Failed", RunStatus.FAILED, "task"),
        ("TimedOut", RunStatus.FAILED, "timeout"),
        ("Cancelled", RunStatus.CANCELLED, None),
        # Spellings the docs might use instead, in any case, with any separators.
        ("Completed", RunStatus.SUCCEEDED, None),
        ("succeeded", RunStatus.SUCCEEDED, None),
        ("SUCCEEDED", RunStatus.SUCCEEDED, None),
        ("Error", RunStatus.FAILED, "task"),
        ("timed_out", RunStatus.FAILED, "timeout"),
        ("TIMED-OUT", RunStatus.FAILED, "timeout"),
        ("Canceled", RunStatus.CANCELLED, None),
        ("Stopping", RunStatus.RUNNING, None),
        ("Quantum", RunStatus.UNKNOWN, None),
        ("Succeeded!", RunStatus.UNKNOWN, None),
    ],
)
async def test_native_statuses_map_to_canonical(
    once: RunClient,
    emulator: KognitosEmulator,
    target: str,
    native: str,
    status: RunStatus,
    kind: str | None,
) -> None:
    emulator.plan_next(native=native, queued=0, running=0)
    run = await once.create(target)
    emulator.advance(1)
    got = await once.get(run)
    assert got.status is status
    assert got.native_status == native == got.raw["status"]
    assert (got.failure.kind if got.failure else None) == kind
    assert got.hold is None


@pytest.mark.parametrize(
    ("native", "kind"),
    [
        ("Stopped", "paused"),
        ("paused", "paused"),
        ("Waiting", "person"),
        ("AWAITING_GUIDANCE", "person"),
    ],
)
async def test_held_statuses_end_a_wait_at_once(
    once: RunClient, emulator: KognitosEmulator, target: str, native: str, kind: str
) -> None:
    # Before these were mapped, such a run read as unknown and wait() polled it until its
    # timeout (600 s by default).
    run = await once.create(target)
    emulator.force_status(run.id, native, undocumented=True)
    with pytest.raises(RunHeld) as caught:
        await once.wait(run, poll_interval=0.01)
    held = caught.value.run
    assert held.status is RunStatus.RUNNING and held.native_status == native
    assert held.hold == Hold(kind) and caught.value.hold == Hold(kind)
    assert f"native status '{native}'" in str(caught.value)


async def test_a_status_that_stays_unmappable_ends_the_wait_naming_it(
    once: RunClient, emulator: KognitosEmulator, target: str
) -> None:
    run = await once.create(target)
    emulator.force_status(run.id, "Hibernating", undocumented=True)
    with pytest.raises(UnknownStatus) as caught:
        await once.wait(run, timeout=600, poll_interval=0.01, unknown_grace=0.2)
    assert caught.value.native_status == "Hibernating"
    assert caught.value.provider == "kognitos" and caught.value.operation == "wait"
    assert "'Hibernating'" in str(caught.value) and "status map" in str(caught.value)


@pytest.mark.parametrize(
    ("outcome", "failure", "native"),
    [
        (RunStatus.SUCCEEDED, "task", "Succeeded"),
        (RunStatus.FAILED, "task", "Failed"),
        (RunStatus.FAILED, "system", "Failed"),
        (RunStatus.FAILED, "timeout", "TimedOut"),
        (RunStatus.CANCELLED, "task", "Cancelled"),
    ],
)
async def test_planned_outcomes_arrive_as_native_statuses(
    once: RunClient,
    emulator: KognitosEmulator,
    target: str,
    outcome: RunStatus,
    failure: Any,
    native: str,
) -> None:
    emulator.plan_next(outcome=outcome, failure=failure)
    run = await once.create(target)
    emulator.advance(100)
    got = await once.get(run)
    assert (got.status, got.native_status) == (outcome, native)


@pytest.mark.parametrize(
    ("error", "message", "code"),
    [
        ({"message": "robot tripped", "code": "E42"}, "robot tripped", "E42"),
        ("robot tripped", "robot tripped", None),
        (None, None, None),
        (17, None, None),
    ],
)
async def test_failure_message_is_read_when_the_provider_sends_one(
    once: RunClient, emulator: KognitosEmulator, error: Any, message: str | None, code: str | None
) -> None:
    emulator.inject(200, body=run_json(status="Failed", error=error))
    got = await once.get(emulator.unknown_id())
    assert got.failure is not None
    assert (got.failure.kind, got.failure.message, got.failure.code) == ("task", message, code)


async def test_documented_run_object_reads_and_extra_fields_are_ignored(
    once: RunClient, emulator: KognitosEmulator
) -> None:
    body = run_json(status="Succeeded", future_field={"x": 1}, outputs=[{"name": "n", "value": 4}])
    emulator.inject(200, body=body)
    got = await once.get(emulator.unknown_id())
    assert got.id == "b4fznghynbdemslfd5k044fgd"
    assert got.target == "b4fznghynbdemslfd5k044fgd/9nvx1hdm9bd74rp585oe81t5i"
    assert got.name == "Process invoice"
    assert got.outputs == {"n": 4}
    assert got.inputs == {}
    assert got.started_at is None and got.finished_at is None
    assert got.raw == body


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2021-01-01T12:00:00", datetime(2021, 1, 1, 12, tzinfo=UTC)),
        ("2021-01-01T12:00:00.250000", datetime(2021, 1, 1, 12, 0, 0, 250000, tzinfo=UTC)),
        ("2021-01-01T12:00:00Z", datetime(2021, 1, 1, 12, tzinfo=UTC)),
        ("2021-01-01T14:00:00+02:00", datetime(2021, 1, 1, 12, tzinfo=UTC)),
    ],
)
async def test_timestamps_without_offset_are_utc(
    once: RunClient, emulator: KognitosEmulator, stamp: str, expected: datetime
) -> None:
    emulator.inject(200, body=run_json(created_at=stamp))
    got = await once.get(emulator.unknown_id())
    assert got.created_at == expected
    assert got.created_at is not None and got.created_at.tzinfo is UTC


@pytest.mark.parametrize(
    "body",
    [
        run_json(id=None),
        run_json(id=""),
        run_json(status=None),
        run_json(created_at="yesterday"),
        run_json(outputs="forty-two"),
        run_json(outputs=[{"value": 1}]),
        run_json(file_ids=[1, 2]),
        {k: v for k, v in run_json().items() if k != "agent_id"},
        [run_json()],
        "not a run",
    ],
)
async def test_malformed_run_objects_are_response_errors(
    once: RunClient, emulator: KognitosEmulator, body: Any
) -> None:
    emulator.inject(200, body=body)
    with pytest.raises(ResponseError) as caught:
        await once.get(emulator.unknown_id())
    assert caught.value.provider == "kognitos"
    assert caught.value.operation == "get"


async def test_documented_run_objects_carry_no_inputs_or_timings(
    once: RunClient, emulator: KognitosEmulator, target: str
) -> None:
    run = await once.create(target, inputs={"a": 1})
    emulator.advance(100)
    done = await once.get(run)
    assert "inputs" not in done.raw and "started_at" not in done.raw
    assert done.inputs == {}
    assert done.status is RunStatus.SUCCEEDED
    assert done.started_at is None and done.finished_at is None and done.duration is None


async def test_undocumented_inputs_and_timings_are_read_when_a_server_sends_them() -> None:
    emulator = KognitosEmulator(extras={"inputs", "timings"})
    async with emulated_client("kognitos", emulator=emulator) as (client, _):
        emulator.plan_next(queued=1, running=2)
        run = await client.create(emulator.default_target, inputs={"a": 1})
        emulator.advance(100)
        done = await client.get(run)
    assert done.inputs == {"a": 1}
    assert done.started_at is not None and done.started_at.tzinfo is UTC
    assert done.finished_at is not None and done.finished_at.tzinfo is UTC
    assert done.duration == 2.0


async def test_inputs_sent_as_an_object_are_read_too(
    once: RunClient, emulator: KognitosEmulator
) -> None:
    emulator.inject(200, body=run_json(inputs={"order_id": "b4fz"}))
    assert (await once.get(emulator.unknown_id())).inputs == {"order_id": "b4fz"}


async def test_capabilities_say_what_a_documented_run_reports(
    once: RunClient, emulator: KognitosEmulator, target: str
) -> None:
    caps = once.capabilities
    assert caps.reports == {"target", "name", "outputs"}
    assert caps.newest_first is True
    assert caps.support("retry") is Support.EMULATED and "retry" in caps.notes
    assert KognitosAdapter.retry_from_payload is False
    info = next(p for p in runbridge.providers() if p.name == "kognitos")
    assert info.capabilities == caps
    emulator.plan_next(outputs={"total": 1})
    run = await once.create(target, inputs={"a": 1}, name="n")
    emulator.advance(100)
    done = await once.get(run)
    # Every field the capabilities claim is there; every other one is empty.
    values = {field: getattr(done, field) for field in RUN_FIELDS}
    assert {field for field, value in values.items() if value} == caps.reports


# -- targets -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "stage", "canonical_suffix"),
    [("", "Published", ""), ("@Published", "Published", ""), ("@Draft", "Draft", "@Draft")],
)
async def test_target_names_agent_process_and_stage(
    once: RunClient,
    emulator: KognitosEmulator,
    target: str,
    suffix: str,
    stage: str,
    canonical_suffix: str,
) -> None:
    run = await once.create(target + suffix)
    stored = emulator.runs[run.id]
    assert f"{stored.agent_id}/{stored.process_id}" == target
    assert stored.stage == stage == run.raw["stage"]
    assert run.target == target + canonical_suffix
    assert (await once.get(run)).target == run.target


MALFORMED_TARGETS = [
    "",
    "agent",
    "agent/",
    "/process",
    "a/b/c",
    "a/b@draft",
    "a/b@Staging",
    "a/b@",
    "a b/c",
    "a/b\n",
    "x" * 27 + "/p",
    "a/" + "x" * 27,
]


@pytest.mark.parametrize("bad", MALFORMED_TARGETS)
async def test_malformed_targets_are_rejected_before_any_request(
    once: RunClient, emulator: KognitosEmulator, bad: str
) -> None:
    seen = len(emulator.requests)
    for attempt in (lambda: once.create(bad), lambda: once.list_page(target=bad)):
        with pytest.raises(InvalidRequest) as caught:
            await attempt()
        assert caught.value.field == "target"
        if bad:  # an empty target is refused by the core before the adapter sees it
            assert "'<agent_id>/<process_id>[@Draft|@Published]'" in str(caught.value)
    assert len(emulator.requests) == seen


@pytest.mark.parametrize("which", ["agent", "process", "stage"])
async def test_unknown_agent_process_or_stage_is_not_found(
    once: RunClient, emulator: KognitosEmulator, which: str
) -> None:
    agent, process = emulator.add_process(stages=("Published",))
    target = {
        "agent": f"{emulator.unknown_id()}/{process}",
        "process": f"{agent}/{emulator.unknown_id()}",
        "stage": f"{agent}/{process}@Draft",
    }[which]
    with pytest.raises(NotFound) as caught:
        await once.create(target)
    assert caught.value.status == 404


# -- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "url"),
    [
        ({}, "https://rest-api.app.kognitos.com/v2"),
        ({"region": "us"}, "https://rest-api.app.kognitos.com/v2"),
        ({"region": "eu"}, "https://rest-api.eu.kognitos.com/v2"),
        ({"region": "uk"}, "https://rest-api.uk.kognitos.com/v2"),
    ],
)
def test_region_picks_the_host(settings: dict[str, Any], url: str) -> None:
    assert runbridge.connect("kognitos", token="k", **settings).base_url == url


@pytest.mark.parametrize("region", ["mars", "EU", ""])
def test_unknown_region_is_a_config_error(region: str) -> None:
    with pytest.raises(ConfigError) as caught:
        runbridge.connect("kognitos", token="k", region=region)
    assert caught.value.field == "region"
    assert caught.value.provider == "kognitos"


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, InvalidRequest),
        (401, AuthError),
        (403, AuthError),
        (404, NotFound),
        (422, InvalidRequest),
        (429, RateLimited),
        (500, ProviderUnavailable),
        (502, ProviderUnavailable),
        (503, ProviderUnavailable),
    ],
)
async def test_error_statuses_map_to_typed_errors(
    once: RunClient, emulator: KognitosEmulator, status: int, error: type[Exception]
) -> None:
    body = {"status_code": status, "message": f"it went {status}", "details": None}
    emulator.inject(status, body=body, headers={"Retry-After": "7"})
    with pytest.raises(error) as caught:
        await once.get(emulator.unknown_id())
    assert isinstance(caught.value, runbridge.RunbridgeError)
    assert (caught.value.status, caught.value.message) == (status, f"it went {status}")
    assert caught.value.body == body
    if isinstance(caught.value, RateLimited):
        assert caught.value.retry_after == 7


@pytest.mark.parametrize(
    ("details", "field", "message"),
    [
        (
            [{"field": "name", "message": "too long"}],
            "name",
            "Invalid input values: name: too long",
        ),
        (
            [{"field": "process_id", "message": "bad"}],
            "target",
            "Invalid input values: process_id: bad",
        ),
        ([{"field": "continuation_token", "message": "bad"}], "cursor", None),
        ([{"field": "limit", "message": "bad"}], "page_size", None),
        ([{"field": None, "message": "bad"}, {"field": "stage"}], "target", None),
        (
            [{"field": None, "message": "body is not JSON"}],
            None,
            "Invalid input values: body is not JSON",
        ),
        (["not an object"], None, "Invalid input values"),
        (None, None, "Invalid input values"),
    ],
)
async def test_error_details_name_the_field(
    once: RunClient,
    emulator: KognitosEmulator,
    details: Any,
    field: str | None,
    message: str | None,
) -> None:
    emulator.inject(
        400, body={"status_code": 400, "message": "Invalid input values", "details": details}
    )
    with pytest.raises(InvalidRequest) as caught:
        await once.get(emulator.unknown_id())
    assert caught.value.field == field
    if message is not None:
        assert caught.value.message == message


async def test_unshaped_error_bodies_still_map_by_status(
    once: RunClient, emulator: KognitosEmulator
) -> None:
    emulator.inject(404, body="<html>nope</html>")
    with pytest.raises(NotFound) as caught:
        await once.get(emulator.unknown_id())
    assert caught.value.message == "provider answered HTTP 404"
