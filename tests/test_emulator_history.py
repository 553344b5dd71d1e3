"""Seeded histories: runs that existed before the test, with the targets, statuses and
creation times it chose, read and listed through the public client."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from runbridge import RunClient, RunStatus
from runbridge.emulation import Emulator

HOUR = timedelta(hours=1)


def ago(emulator: Emulator, delta: timedelta) -> datetime:
    """A creation time ``delta`` before the emulator's now."""
    return datetime.fromtimestamp(emulator.now(), UTC) - delta


def close(a: datetime | None, b: datetime) -> bool:
    return a is not None and abs(a - b) < timedelta(milliseconds=1)


@pytest.mark.parametrize(
    "status",
    [
        RunStatus.PENDING,
        RunStatus.RUNNING,
        RunStatus.SUCCEEDED,
        RunStatus.FAILED,
        RunStatus.CANCELLED,
    ],
)
async def test_a_seeded_run_reads_back_as_seeded(
    client: RunClient, emulator: Emulator, target: str, status: RunStatus
) -> None:
    created = ago(emulator, 3 * HOUR)
    run_id = emulator.seed(target, status=status, created_at=created)
    run = await client.get(run_id)
    assert run.status is status
    assert close(run.created_at, created)
    assert run.target == target
    if status.is_terminal:
        assert run.finished_at is None or run.finished_at <= ago(emulator, timedelta(0))


async def test_a_history_lists_newest_first_whatever_the_seeding_order(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    hours = [5, 1, 30, 2, 12, 7]
    ids = {emulator.seed(target, created_at=ago(emulator, h * HOUR)): h for h in hours}
    fresh = await client.create(target)  # created now: the newest of all
    listed = await client.list(target=target).collect()
    assert [run.id for run in listed] == [fresh.id, *sorted(ids, key=ids.__getitem__)]
    assert emulator.created[0].id == fresh.id and len(emulator.created) == 1


async def test_a_long_history_pages_through_every_run_once(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    seeded = [emulator.seed(target, created_at=ago(emulator, n * HOUR)) for n in range(1, 26)]
    pages = [page async for page in client.list(target=target, page_size=4).pages()]
    ids = [run.id for page in pages for run in page.items]
    assert ids == seeded  # newest first, each once, and the listing ends
    assert len(pages) == 7


async def test_runs_seeded_at_the_same_instant_all_list(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    at = ago(emulator, HOUR)
    seeded = {emulator.seed(target, created_at=at) for _ in range(7)}
    listed = await client.list(target=target, page_size=3).collect()
    assert {run.id for run in listed} == seeded and len(listed) == 7


async def test_the_history_filters_by_target_status_and_time(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    other = emulator.add_target()
    mine = emulator.seed(target, status="failed", created_at=ago(emulator, 2 * HOUR))
    emulator.seed(target, status="failed", created_at=ago(emulator, 48 * HOUR))
    emulator.seed(target, status="succeeded", created_at=ago(emulator, HOUR))
    theirs = emulator.seed(other, status="failed", created_at=ago(emulator, HOUR))
    failed = await client.list(
        target=target, status="failed", created_after=ago(emulator, 24 * HOUR)
    ).collect()
    assert [run.id for run in failed] == [mine]
    assert [run.id for run in await client.list(target=other).collect()] == [theirs]


async def test_seeded_outputs_and_failures_read_back(
    provider: str, client: RunClient, emulator: Emulator, target: str
) -> None:
    done = emulator.seed(target, outputs={"answer": 42}, created_at=ago(emulator, HOUR))
    failed = emulator.seed(target, status="failed", failure="timeout", message="too slow")
    assert (await client.get(done)).outputs == {"answer": 42}
    read = await client.get(failed)
    assert read.status is RunStatus.FAILED and read.failure is not None
    assert read.failure.message == (None if provider == "kognitos" else "too slow")


async def test_a_seeded_unknown_native_status_keeps_its_raw(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    run = await client.get(emulator.seed(target, native="ARCHIVED_BY_ADMIN"))
    assert run.status is RunStatus.UNKNOWN and run.native_status == "ARCHIVED_BY_ADMIN"


async def test_a_seeded_running_run_stays_running(
    provider: str, client: RunClient, emulator: Emulator, target: str
) -> None:
    created = ago(emulator, HOUR)
    run_id = emulator.seed(target, status="running", created_at=created)
    emulator.advance(10**8)
    run = await client.get(run_id)
    assert run.status is RunStatus.RUNNING and run.finished_at is None
    # Both Kognitos APIs document no start time; the others started within the first second.
    if "started_at" in client.capabilities.reports:
        assert run.started_at is not None
        assert created <= run.started_at <= created + timedelta(seconds=1)


async def test_a_run_seeded_now_is_already_in_its_status(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    for status in ("running", "succeeded", "cancelled"):
        assert (await client.get(emulator.seed(target, status=status))).status.value == status


async def test_emulator_seconds_are_a_creation_time_too(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    seconds = emulator.now() - 7200.5
    run = await client.get(emulator.seed(target, created_at=seconds))
    assert close(run.created_at, datetime.fromtimestamp(seconds, UTC))


@pytest.mark.parametrize("provider", ["cyberdesk", "runflow"])
async def test_a_seeded_running_run_can_be_cancelled(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    run_id = emulator.seed(target, status="running", created_at=ago(emulator, HOUR))
    assert (await client.cancel(run_id)).status is RunStatus.CANCELLED


@pytest.mark.parametrize("provider", ["kognitos"])
async def test_kognitos_seeds_carry_names_and_stages(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    run_id = emulator.seed(target, name="nightly import", stage="Draft", inputs={"a": 1})
    run = await client.get(run_id)
    assert run.raw["name"] == "nightly import" and run.raw["stage"] == "Draft"
    assert "inputs" not in run.raw  # undocumented: only with the "inputs" extra


# -- careless seeding ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "error", "words"),
    [
        ({"created_at": math.nan}, ValueError, "after the emulator's now"),
        ({"created_at": math.inf}, ValueError, "after the emulator's now"),
        ({"created_at": True}, TypeError, "datetime or seconds"),
        ({"created_at": "yesterday"}, TypeError, "datetime or seconds"),
        ({"created_at": datetime(2020, 1, 1)}, ValueError, "timezone-aware"),
        ({"status": "unknown"}, ValueError, "stays pending or running"),
        ({"status": "bogus"}, ValueError, "bogus"),
        ({"inputs": [1, 2]}, TypeError, "inputs must be a mapping"),
        ({"colour": "red"}, TypeError, "no field 'colour'"),
        ({"status": "succeeded", "message": "x"}, ValueError, "outcome='failed'"),
    ],
)
def test_bad_seeds_are_refused_with_what_was_wrong(
    emulator: Emulator, target: str, fields: dict[str, Any], error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words):
        emulator.seed(target, **fields)
    assert emulator.runs == {}  # nothing half-made


def test_a_creation_time_in_the_future_is_refused(emulator: Emulator, target: str) -> None:
    with pytest.raises(ValueError, match="seeded runs are history"):
        emulator.seed(target, created_at=ago(emulator, -HOUR))
    assert emulator.runs == {}


def test_a_seed_for_a_target_that_does_not_exist_names_it(
    provider: str, emulator: Emulator
) -> None:
    with pytest.raises(KeyError, match=f"{provider} emulator has no target"):
        emulator.seed("models/nothing-here")


@pytest.mark.parametrize("provider", ["kognitos"])
@pytest.mark.parametrize("name", ["", "x" * 101, 7])
def test_kognitos_refuses_a_seeded_name_it_would_refuse_on_create(
    emulator: Emulator, target: str, name: Any
) -> None:
    with pytest.raises(ValueError, match="1-100 characters"):
        emulator.seed(target, name=name)


@pytest.mark.parametrize("provider", ["cyberdesk", "runflow"])
def test_providers_without_run_names_refuse_a_seeded_name(
    provider: str, emulator: Emulator, target: str
) -> None:
    with pytest.raises(ValueError, match=f"{provider} runs have no name"):
        emulator.seed(target, name="nightly")
