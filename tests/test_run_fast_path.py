"""Runs read from a provider are built by the read path's private constructors
(``new_run``, ``new_ref``): such a run is equal to, hashes, pickles, evolves and shows
exactly like the same run built by the public constructors, for every built-in adapter
and every documented status of its emulator. Unknown statuses stay ``unknown``."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import attrs
import orjson
import pytest

from runbridge import (
    Failure,
    Hold,
    InvalidRequest,
    Progress,
    Run,
    RunClient,
    RunRef,
    RunStatus,
)
from runbridge._model._canonical import held, new_ref, new_run
from runbridge.testing import emulated_client

PROVIDERS = ["cyberdesk", "kognitos", "kognitos-api", "runflow"]


def _twin(run: Run) -> Run:
    """The same run through the public constructors: ``Run(...)`` and ``RunRef(...)``."""
    # A pickled copy's raw is a plain dict: the run's own stays undecoded.
    raw = pickle.loads(pickle.dumps(run)).raw
    fields: dict[str, Any] = {
        str(field.alias): getattr(run, field.name)
        for field in attrs.fields(Run)
        if field.alias != "raw"
    }
    return Run(**{**fields, "ref": RunRef(run.provider, run.id), "raw": raw})


def _assert_alike(run: Run) -> None:
    twin = _twin(run)
    assert type(run) is Run and type(run.ref) is RunRef
    assert run == twin and twin == run
    assert (run != twin) is False
    assert hash(run) == hash(twin)
    assert repr(run) == repr(twin)
    assert vars(run).keys() == vars(twin).keys()  # every field written, nothing else
    assert run.ref == twin.ref and hash(run.ref) == hash(twin.ref)
    assert repr(run.ref) == repr(twin.ref) and str(run.ref) == str(twin.ref)
    assert not run.ref < twin.ref and run.ref <= twin.ref
    again = pickle.loads(pickle.dumps(run))
    assert type(again) is Run and again == twin and repr(again) == repr(twin)
    assert hash(again) == hash(twin) and again.raw == twin.raw
    renamed = attrs.evolve(run, name="renamed", hold=Hold("paused", "why"))
    assert renamed == attrs.evolve(twin, name="renamed", hold=Hold("paused", "why"))
    assert attrs.evolve(run) == run
    assert attrs.asdict(run, recurse=False).keys() == attrs.asdict(twin, recurse=False).keys()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        run.name = "changed"  # type: ignore[misc]
    # Reading the raw payload decodes it; the run still compares and hashes alike.
    assert run.raw == twin.raw and run == twin and hash(run) == hash(twin)


async def _read_all(client: RunClient, target: str, ids: list[str]) -> list[Run]:
    """Each run read by ``get`` and by a listing (both read paths)."""
    runs = [await client.get(run_id) for run_id in ids]
    page = await client.list_page(target=target, page_size=100)
    listed = [run for run in page.items if run.id in set(ids)]
    assert len(listed) == len(ids)
    return runs + listed


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_runs_read_in_every_documented_status_are_like_public_ones(provider: str) -> None:
    async with emulated_client(provider) as (client, emulator):
        target = emulator.default_target
        ids = [
            emulator.seed(target, status=RunStatus.SUCCEEDED, inputs={"n": 1}, outputs={"ok": 2}),
            emulator.seed(target, status=RunStatus.FAILED, failure="task", message="bad input"),
            emulator.seed(target, status=RunStatus.RUNNING),
            emulator.seed(target, status=RunStatus.PENDING, inputs={"a": "b"}),
        ]
        for native in emulator.statuses.documented:
            run_id = emulator.seed(target, status=RunStatus.RUNNING)
            emulator.force_status(run_id, native)
            ids.append(run_id)
        created = await client.create(target, inputs={"invoice": "INV-1"})
        ids.append(created.id)
        runs = await _read_all(client, target, ids)

    assert {run.status for run in runs} >= {RunStatus.SUCCEEDED, RunStatus.FAILED}
    for run in [created, *runs]:
        _assert_alike(run)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_unknown_statuses_stay_unknown_with_the_raw_kept(provider: str) -> None:
    async with emulated_client(provider) as (client, emulator):
        target = emulator.default_target
        run_id = emulator.seed(target, status=RunStatus.RUNNING)
        emulator.force_status(run_id, "mystery_state", undocumented=True)
        runs = await _read_all(client, target, [run_id])

    for run in runs:
        assert run.status is RunStatus.UNKNOWN
        assert run.native_status == "mystery_state"
        assert run.failure is None and run.hold is None
        _assert_alike(run)
        assert b"mystery_state" in orjson.dumps(run.raw)


def test_new_run_fills_every_field_as_the_public_constructor_does() -> None:
    ref = RunRef("memo", "r-1")
    parts: dict[str, Any] = {
        "native_status": "done",
        "target": "t",
        "name": "n",
        "inputs": {"a": 1},
        "outputs": {"b": [1, 2]},
        "failure": Failure("timeout", "slow", "T1"),
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
        "started_at": datetime(2026, 1, 1, 0, 1, tzinfo=UTC),
        "finished_at": datetime(2026, 1, 1, 0, 2, tzinfo=UTC),
        "cost": Decimal("1.50"),
        "progress": Progress(3, 4),
        "hold": Hold("person", "approve"),
        "raw": {"id": "r-1"},
    }
    fast = new_run(new_ref("memo", "r-1"), RunStatus.FAILED, **parts)
    public = Run(ref=ref, status=RunStatus.FAILED, **parts)
    assert fast == public and hash(fast) == hash(public) and repr(fast) == repr(public)
    assert vars(fast) == vars(public)
    _assert_alike(fast)
    bare = new_run(ref, RunStatus.PENDING)
    assert bare == Run(ref=ref, status=RunStatus.PENDING) and vars(bare) == vars(
        Run(ref=ref, status=RunStatus.PENDING)
    )
    assert bare.inputs == {} and bare.raw == {} and bare.inputs is not bare.raw
    assert held(bare, Hold("paused")) == attrs.evolve(bare, hold=Hold("paused"))


def test_new_ref_checks_what_it_has_not_seen() -> None:
    assert new_ref("memo", "x") == RunRef("memo", "x")
    with pytest.raises(InvalidRequest) as caught:
        new_ref("memo", "")
    assert caught.value.field == "id"
    with pytest.raises(InvalidRequest) as caught:
        new_ref("Not A Provider", "x")
    assert caught.value.field == "provider"
