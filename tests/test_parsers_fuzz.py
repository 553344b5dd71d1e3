"""Parsers never crash: random and mutated provider payloads yield a run or a ``ResponseError``.

Each provider's emulator is served on loopback and a client that never retries is
connected to it. Every hypothesis example makes the emulator answer the next call
with a payload (random JSON, a real payload of that provider with fields dropped or
replaced by wrongly typed values, or bytes that are not JSON at all) and calls the
client. Whatever the payload, the call returns a well-formed ``Run``/``Page``/
``BulkResult`` or raises ``ResponseError``: a payload runbridge cannot read is the
provider's fault, so it is never ``KeyError``, ``TypeError``, ``ValueError`` or
``AttributeError``, and never an error that blames the caller (``InvalidRequest``).

Random generation rarely hits one bad value in one particular field, so ``sweep``
also tries, systematically, every field an adapter reads with every value of its
kind (huge durations, timestamps at the ends of ``datetime``, malformed URLs...).
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import aiohttp
import attrs
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz_support import Loop, Steer, steerable
from runbridge import (
    BulkResult,
    CreateUnconfirmed,
    Page,
    ResponseError,
    RetryPolicy,
    Run,
    RunbridgeError,
    RunClient,
    RunRequest,
    RunStatus,
)
from runbridge.emulation import Plan
from runbridge.testing import RawClient, emulated_client, testing_options
from support import PROVIDERS, list_target

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

P, R, S, F, C, U = (
    RunStatus.PENDING,
    RunStatus.RUNNING,
    RunStatus.SUCCEEDED,
    RunStatus.FAILED,
    RunStatus.CANCELLED,
    RunStatus.UNKNOWN,
)

NATIVE: dict[str, tuple[str, dict[str, RunStatus]]] = {
    # provider: (status key, documented native statuses); anything else is UNKNOWN.
    "cyberdesk": (
        "status",
        {
            "scheduling": P,
            "running": R,
            "running_checks": R,
            "success": S,
            "task_failed": F,
            "error": F,
            "cancelled": C,
        },
    ),
    "kognitos": (
        "status",
        {
            "Created": P,
            "Pending": P,
            "Running": R,
            "Succeeded": S,
            "Failed": F,
            "TimedOut": F,
            "Cancelled": C,
        },
    ),
    "kognitos-api": (
        # The key of the one-key state object (a bare string is read as a key), in any
        # case and with any separators: v1RunState's keys, the plugin notes' archived,
        # and the docs overview's spellings (running, waiting).
        "state",
        {
            "pending": P,
            "executing": R,
            "running": R,
            "stopping": R,
            "stopped": R,
            "awaiting_guidance": R,
            "waiting": R,
            "completed": S,
            "failed": F,
            "archived": C,
        },
    ),
    "runflow": (
        "status_code",
        {
            "queued": P,
            "dispatching": P,
            "running": R,
            "succeeded": S,
            "partial_succeeded": S,
            "failed": F,
            "errored": F,
            "canceled": C,
            "cancelled": C,
        },
    ),
}

# Values by the kind of field they go into: wrong types, the edges of what datetime,
# int and Decimal can hold, and strings that look almost right.
POOLS: dict[str, list[Any]] = {
    "time": [
        None, "", "abc", 0, 1_700_000_000, "2025-13-45", "2025-02-30T00:00:00Z", "24:00",
        "2025-01-01", "2025-01-01T00:00:00", "2025-01-01T00:00:00+25:00",
        "9999-12-31T23:59:59.999999+00:00", "9999-12-31T23:59:59-01:00",
        "0001-01-01T00:00:00+01:00", "0001-01-01T00:00:00Z",
    ],
    "count": [
        None, 0, -1, True, 1.5, "12", "abc", 2**31, 2**62, -(2**62), 2**64, 10**30, 1e308,
        -1e308,
    ],
    "decimal": [
        None, "", "abc", "NaN", "Infinity", "-Infinity", "1e999999", "-1e999999", "0x10",
        "1_000", "\uff12", "\u00b2", True, [], {}, 10**30, 1e308, "0.1",
    ],
    "text": [None, "", 5, True, 1.5, [], {}, ["a"], "x" * 300, "\x00", "\u202e", "../x"],
    "id": [
        None, "", 5, "../x", "a/b", "%2F", "x" * 300, "a:b", "\u0430",
        "A0000000-0000-0000-0000-00000000000G", "00000000-0000-0000-0000-000000000000\n",
    ],
    "link": [
        None, "", 5, "pq", "?pq=a", "/v1/runs?pq=", "/v1/runs?from_prev=1",
        "http://[::1/?pq=a", "https://[::1]/v1/runs?pq=a", "http://x:99999/?pq=a",
        "https://x/v1/runs", "%zz", "http://x/?pq=a&pq=b",
    ],
    "object": [
        None, 5, "abc", [], {}, [None], [1, "a"], {"": None}, {"message": 5, "code": []},
        [{"name": 5}], [{"name": "a"}], {"owner": {"slug": None}, "slug": "../.."},
        {"owner": "a/b", "slug": "c"}, {"slug": "acme/x"},
    ],
    # Kognitos API resource names that are not a run's (each id 1-64 of [A-Za-z0-9_-]).
    "name": [
        None, "", 5, "run1", "organizations/o/workspaces/w/automations/a",
        "organizations/o/workspaces/w/automations/a/runs/",
        "organizations/o/workspaces/w/automations/a/runs/r/events",
        "organizations/o/workspaces/w/automations/a/runs/r:pause",
        "organizations/o/workspaces/../automations/a/runs/r",
        "organizations/o/workspaces/w/automations/a/runs/" + "r" * 65,
        "/".join(["organizations", "o" * 64, "workspaces", "w" * 64, "automations", "a" * 64,
                  "runs", "r" * 64]),
        "organizations/o/workspaces/w/automations/a/runs/r\n",
    ],
    # Kognitos API values (commonV1Value): one key naming the kind, and what it holds.
    "value": [
        None, 5, "abc", [], {}, {"text": 5}, {"text": "a", "number": {}}, {"nope": 1},
        {"number": "3"}, {"number": None}, {"number": {"lo": -1}}, {"number": {"lo": 2**32}},
        {"number": {"lo": "abc"}}, {"number": {"lo": 1.5}}, {"number": {"lo": True}},
        {"number": {"hi": 2**40}}, {"number": {"flags": 29 << 16}}, {"number": {"flags": 1}},
        {"number": {"flags": "-2147483648", "lo": "7"}}, {"number": {"lo": 10**30}},
        {"bool_value": "true"}, {"null_value": 5}, {"list": {"items": {}}}, {"list": []},
        {"list": {"items": [{"text": 5}]}}, {"list": {"items": [None]}},
        {"dictionary": {"entries": [{"key": {"list": {}}, "value": {"text": "a"}}]}},
        {"dictionary": {"entries": [{"key": {"dictionary": {}}, "value": {"text": "a"}}]}},
        {"dictionary": {"entries": [{"value": {"text": "a"}}]}},
        {"dictionary": {"entries": [5]}}, {"dictionary": {"entries": {"a": 1}}},
        {"date": {"year": 2025, "month": 13, "day": 1}}, {"date": {"year": 10**30, "month": 1}},
        {"date": {"year": "2025", "month": 1, "day": 1}}, {"timeofday": {"hours": 25}},
        {"timeofday": {"nanos": -1}}, {"datetime": {"year": 2025, "month": 2, "day": 30}},
        {"datetime": {"year": 2025, "month": 1, "day": 1, "utc_offset": "86400s"}},
        {"datetime": {"year": 2025, "month": 1, "day": 1, "utc_offset": "abc"}},
        {"datetime": {"year": 9999, "month": 12, "day": 31, "utc_offset": "-3600s"}},
        {"datetime": {"time_zone": {"id": 5}}}, {"duration": 5}, {"file": {"remote": 5}},
        {"set": {"items": [{"text": "a"}, {"text": "a"}]}}, {"table": None},
    ],
    # Kognitos API state objects: one key naming the state, and its update_time.
    "state": [
        None, "", 5, [], {}, "executing", "COMPLETED", "Awaiting-Guidance", "mystery",
        {"update_time": "2025-01-01T00:00:00Z"}, {"executing": {}, "failed": {}},
        {"failed": 5}, {"failed": None}, {"failed": {"description": 5, "id": []}},
        {"completed": None}, {"completed": {"outputs": 5}}, {"completed": {"outputs": [1]}},
        {"completed": {"outputs": {"a": 5}}}, {"stopped": {"reason": 5}},
        {"awaiting_guidance": {"description": ["a"], "location": 5}},
        {"completed": {}, "update_time": 5}, {"completed": {}, "update_time": "abc"},
        {"completed": {}, "update_time": "2025-01-01T00:00:00"},
        {"failed": {}, "update_time": "9999-12-31T23:59:59-01:00"},
        {"archived": {}, "update_time": "0001-01-01T00:00:00+01:00"},
    ],
}  # fmt: skip
TRICKY: list[Any] = [value for pool in POOLS.values() for value in pool]

FOCUS: dict[str, dict[str, str]] = {
    # The fields each adapter reads (per its provider doc), by kind; mutated most often.
    "cyberdesk": {
        "id": "id", "workflow_id": "id", "status": "text", "created_at": "time",
        "input_values": "object", "output_data": "object", "error": "object",
        "error.0": "text", "started_at": "time", "ended_at": "time",
        "usage_metadata": "object", "usage_metadata.total_cost_usd": "decimal",
        "usage_metadata.cost_usd": "decimal",
    },
    "kognitos": {
        "id": "id", "agent_id": "id", "process_id": "id", "name": "text",
        "created_at": "time", "stage": "text", "status": "text", "file_ids": "object",
        "file_ids.0": "text", "outputs": "object", "outputs.0": "object",
        "outputs.0.name": "text", "inputs": "object", "inputs.0.name": "text",
        "started_at": "time", "finished_at": "time", "error": "object",
        "error.message": "text",
    },
    "kognitos-api": {
        "name": "name", "state": "state", "state.update_time": "time", "create_time": "time",
        "update_time": "time", "stage": "text", "user_inputs": "object",
        "user_inputs.invoice": "value", "user_inputs.n": "value",
        "user_inputs.n.number.lo": "count", "user_inputs.n.number.flags": "count",
        "state.completed": "object",
        "state.completed.outputs": "object", "state.completed.outputs.answer": "value",
        "state.completed.outputs.answer.number": "object", "state.failed": "object",
        "state.failed.id": "text", "state.failed.description": "text",
        "state.stopped.reason": "text", "state.awaiting_guidance.description": "text",
        "state.archived": "object", "state.pending": "object",
    },
    "runflow": {
        "id": "id", "status_code": "text", "target_type": "text", "input": "object",
        "output": "object", "metadata": "object", "metadata.name": "text",
        "callback_url": "text", "client_ref": "text", "cost": "decimal",
        "duration_ms": "count", "nodes_total": "count", "nodes_completed": "count",
        "created_at": "time", "started_at": "time", "completed_at": "time",
        "failure_code": "text", "failure_message": "text", "failure_stage_code": "text",
        "error": "object", "error.code": "text", "model": "object",
        "model.owner": "object", "model.slug": "text", "comfyui_workflow": "object",
        "flow": "object",
    },
}  # fmt: skip

PAGE_FOCUS: dict[str, dict[str, str]] = {
    "cyberdesk": {
        "items": "object", "items.0": "object", "items.0.id": "id", "items.0.status": "text",
        "total": "count", "skip": "count", "limit": "count",
    },
    "kognitos": {
        "items": "object", "items.0": "object", "items.0.id": "id", "items.0.status": "text",
        "continuation_token": "text",
    },
    "kognitos-api": {
        "runs": "object", "runs.0": "object", "runs.0.name": "name", "runs.0.state": "state",
        "runs.0.create_time": "time", "runs.0.user_inputs": "object", "next_page_token": "text",
    },
    "runflow": {
        "items": "object", "items.0": "object", "items.0.id": "id",
        "items.0.status_code": "text", "next": "link", "next_pq": "link",
    },
}  # fmt: skip

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
WEIRD = st.one_of(st.sampled_from(TRICKY), JSON)


def weird(kind: str | None) -> st.SearchStrategy[Any]:
    """Mostly values for this kind of field; sometimes any tricky value or random JSON."""
    if kind is None:
        return WEIRD
    return st.integers(0, 3).flatmap(lambda pick: st.sampled_from(POOLS[kind]) if pick else WEIRD)


RAW_BODIES = [b"", b"null", b"{", b"[]", b'{"id": NaN}', b"1e999", b'"\\ud800"', b"\xff\xfe"]
"""Bodies no JSON encoder writes: empty, truncated, non-standard literals, bad encodings."""


PAGE_ITEMS = {"kognitos-api": "runs"}
"""The key of a page's runs, where it is not ``items``."""


def _fold(native: str) -> str:
    return native.lower().translate(str.maketrans("", "", "_-. "))


def _state_key(state: Any) -> Any:
    """The state a Kognitos API ``state`` names: its one key besides ``update_time``
    (a bare string is read as the key); ``None`` when it names none or several."""
    if isinstance(state, dict):
        keys = [key for key in state if key != "update_time"]
        return keys[0] if len(keys) == 1 else None
    return state


def expected_status(provider: str, payload: Any) -> RunStatus:
    """The status the run ``payload`` says it is in; anything undocumented is UNKNOWN."""
    key, natives = NATIVE[provider]
    native = payload.get(key)
    if provider == "kognitos-api":
        native = _state_key(native)
        if not isinstance(native, str):
            return U
        return {_fold(name): status for name, status in natives.items()}.get(_fold(native), U)
    return natives.get(native, U) if isinstance(native, str) else U


def encode(payload: Any) -> bytes:
    """JSON as a provider might write it; unlike orjson, integers may exceed 64 bits."""
    return json.dumps(payload).encode()


def received(payload: Any) -> Any:
    """``payload`` as the client decodes it (integers beyond 64 bits become floats)."""
    return orjson.loads(encode(payload))


# -- mutations ----------------------------------------------------------------------------


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if prefix:
        yield prefix
    if len(prefix) >= 3:
        return
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value[:3]):
            yield from _paths(inner, (*prefix, index))


def _focus_path(text: str) -> tuple[Any, ...]:
    return tuple(int(part) if part.isdigit() else part for part in text.split("."))


def _slot(container: Any, step: Any) -> Any:
    """Where ``step`` lands in ``container`` (making room in an empty list), or ``None``."""
    if isinstance(container, dict):
        return step if isinstance(step, str) else str(step)
    if isinstance(container, list) and isinstance(step, int):
        if not container:
            container.append(None)
        return min(step, len(container) - 1)
    return None


def _set(payload: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    parent: Any = payload
    for step, following in itertools.pairwise(path):
        slot = _slot(parent, step)
        if slot is None:
            return
        current = parent[slot] if isinstance(parent, list) else parent.get(slot)
        if not isinstance(current, dict | list):
            current = [] if isinstance(following, int) else {}
            parent[slot] = current
        parent = current
    slot = _slot(parent, path[-1])
    if slot is not None:
        parent[slot] = value


def _has(container: Any, step: Any) -> bool:
    if isinstance(container, dict):
        return step in container
    return isinstance(container, list) and isinstance(step, int) and step < len(container)


def _drop(payload: dict[str, Any], path: tuple[Any, ...]) -> None:
    parent: Any = payload
    for step in path[:-1]:
        if not _has(parent, step):
            return
        parent = parent[step]
    if _has(parent, path[-1]):
        del parent[path[-1]]


@st.composite
def mutated(
    draw: st.DrawFn, samples: Sequence[dict[str, Any]], focus: Mapping[str, str]
) -> dict[str, Any]:
    """A real payload with 1-4 fields dropped or replaced, and maybe an unknown key added."""
    payload = copy.deepcopy(draw(st.sampled_from(samples)))
    focused = {_focus_path(text): kind for text, kind in focus.items()}
    for _ in range(draw(st.integers(1, 4))):
        anywhere = list(_paths(payload))
        if anywhere and draw(st.integers(0, 3)) == 0:
            path = draw(st.sampled_from(anywhere))
        else:
            path = draw(st.sampled_from(sorted(focused, key=str)))
        if draw(st.integers(0, 4)) == 0:
            _drop(payload, path)
        else:
            _set(payload, path, copy.deepcopy(draw(weird(focused.get(path)))))
    if draw(st.booleans()):
        payload[draw(st.text(max_size=8))] = draw(JSON)
    return payload


def sweep(samples: Sequence[dict[str, Any]], focus: Mapping[str, str]) -> Iterator[Any]:
    """Systematic where hypothesis is sparse: every sample with one read field dropped,
    and with it set to each value of its kind's pool."""
    for sample in samples:
        for text, kind in focus.items():
            path = _focus_path(text)
            dropped = copy.deepcopy(sample)
            _drop(dropped, path)
            yield dropped
            for value in POOLS[kind]:
                payload = copy.deepcopy(sample)
                _set(payload, path, copy.deepcopy(value))
                yield payload


# -- the bench: one served emulator and client per provider -------------------------------


@attrs.define
class Bench:
    """A provider's emulator served on loopback, a connected client, and real payloads."""

    provider: str
    loop: Loop = attrs.field(repr=False)
    client: RunClient = attrs.field(repr=False)
    emulator: Any = attrs.field(repr=False)
    runs: list[dict[str, Any]] = attrs.field(factory=list, repr=False)
    pages: list[dict[str, Any]] = attrs.field(factory=list, repr=False)
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)

    @property
    def steer(self) -> Steer:
        steered: Steer = self.emulator
        return steered

    def call(self, awaitable: Any) -> Any:
        """The call's result, or ``None`` after a ``ResponseError``; anything else fails.

        A create answered 2xx with a payload it cannot read made its run: that is
        ``CreateUnconfirmed`` (caused by the ``ResponseError``), never a crash.
        """
        try:
            return self.loop.run(awaitable)
        except ResponseError:
            return None
        except CreateUnconfirmed as exc:
            if not isinstance(exc.__cause__, ResponseError):
                raise AssertionError(f"{self.provider}: unconfirmed for {exc!r}") from exc
            return None
        except Exception as exc:
            raise AssertionError(
                f"{self.provider}: {type(exc).__name__} escaped the parser: {exc!r}"
            ) from exc
        finally:
            self.steer.answers.clear()  # an answer a failed step left unused must not leak

    def get(self, body: bytes) -> Run | None:
        self.steer.answer(body, method="GET")
        return self.call(self.client.get(self.emulator.unknown_id()))

    def check_run(self, run: Run, payload: Any) -> None:
        payload = received(payload)
        assert isinstance(run, Run)
        assert run.provider == self.provider and isinstance(run.id, str) and run.id
        assert run.raw == payload
        assert run.status is expected_status(self.provider, payload)
        for stamp in (run.created_at, run.started_at, run.finished_at):
            assert stamp is None or (isinstance(stamp, datetime) and stamp.utcoffset() is not None)
        assert run.failure is None or run.status is F
        assert run.cost is None or (isinstance(run.cost, Decimal) and run.cost.is_finite())
        assert isinstance(run.inputs, Mapping)
        assert run.outputs is None or isinstance(run.outputs, Mapping)

    def check_page(self, page: Page, payload: Any) -> None:
        assert isinstance(page, Page)
        assert page.next_cursor is None or isinstance(page.next_cursor, str)
        # An empty page of the Kognitos API may leave its runs out (protojson).
        items = received(payload).get(PAGE_ITEMS.get(self.provider, "items")) or []
        for run in page.items:
            assert any(item == run.raw for item in items)
            self.check_run(run, run.raw)


async def _raw_json(bench: Bench, method: str, path: str, **kw: Any) -> Any:
    """The JSON the bench's emulator answers to a plain request."""
    async with aiohttp.ClientSession() as session:
        api = RawClient(session, bench.client.base_url, bench.emulator)
        answer = await api(method, path, **kw)
    assert answer.status < 300, answer.content
    return orjson.loads(answer.content)


async def _prepare(bench: Bench) -> None:
    """Collect real run payloads (every outcome, and pending) and list envelopes."""
    client, emulator = bench.client, bench.emulator
    target = emulator.default_target
    runs = []
    plans = [
        Plan(outputs={"answer": 42}),
        Plan(outcome=F),
        Plan(outcome=F, failure="system"),
        Plan(outcome=F, failure="timeout"),
        Plan(outcome=C),
    ]
    for plan in plans:
        emulator.plan_next(plan)
        runs.append(await client.create(target, inputs={"invoice": "INV-1", "n": 3}))
    emulator.advance(3600)
    runs.append(await client.create(target, inputs={}))
    bench.runs = [dict((await client.get(run)).raw) for run in runs]
    # Shapes the providers' docs describe that the emulators do not produce by default.
    if bench.provider == "cyberdesk":
        bench.runs.append({**bench.runs[1], "usage_metadata": {"total_cost_usd": "0.25"}})
        bench.pages.append(await _raw_json(bench, "GET", "/v1/runs", params={"limit": "2"}))
        bench.extra["bulk"] = {
            "created_runs": bench.runs[:2],
            "failed_count": 1,
            "errors": ["No machine available"],
        }
    elif bench.provider == "kognitos":
        bench.runs.append({**bench.runs[1], "error": {"message": "boom", "code": "E1"}})
        bench.runs.append({**bench.runs[0], "outputs": {"answer": 42}})  # the older mapping form
        agent, process = target.split("/")
        params = {"agent_id": agent, "process_id": process, "limit": "2"}
        bench.pages.append(await _raw_json(bench, "GET", "/runs", params=params))
    elif bench.provider == "kognitos-api":
        await _prepare_kognitos_api(bench)
    else:
        bench.runs.append({**bench.runs[1], "error": {"code": "NODE_TIMEOUT", "message": "slow"}})
        # A finished run without completed_at: finished_at is started_at + duration_ms.
        bench.runs.append({k: v for k, v in bench.runs[0].items() if k != "completed_at"})
        for style in ("token", "path", "url", "pq"):
            emulator.cursor_style = style
            params = {"limit": "2"}
            bench.pages.append(await _raw_json(bench, "GET", "/v1/runs", params=params))
        result = await client.create_many([RunRequest(target=target)] * 2)
        assert result.ok
        batch_id = next(iter(emulator.batches))
        bench.extra["batch"] = {"id": batch_id, "status_code": "queued", "items_total": 2}
        bench.extra["items"] = await _raw_json(
            bench, "GET", f"/v1/batches/{batch_id}/items", params={"limit": "500"}
        )


async def _prepare_kognitos_api(bench: Bench) -> None:
    client, emulator = bench.client, bench.emulator
    target = emulator.default_target
    # Held runs: paused (stopping, then stopped with its reason) and awaiting guidance.
    paused = await client.create(target, inputs={"invoice": "INV-2"})
    await client.pause(paused, reason="waiting for the invoice")
    stopping = dict((await client.get(paused)).raw)
    emulator.advance(emulator.stop_seconds)
    guided = await client.create(target, inputs={"n": 1})
    emulator.force_status(guided.id, "awaiting_guidance")
    bench.runs += [stopping] + [dict((await client.get(run)).raw) for run in (paused, guided)]
    done, failed, pending = bench.runs[0], bench.runs[1], bench.runs[5]
    # Shapes the spec allows that the emulator does not write: numbers as numeric
    # strings (int64 in protojson), kinds without a Python twin, the docs overview's
    # spellings of states, a stamp with an offset.
    strings = {"lo": "42", "mid": "0", "hi": "0", "flags": str(1 << 16)}
    bench.runs.append(
        {
            **done,
            "user_inputs": {
                "n": {"number": {"lo": "3"}},
                "doc": {"file": {"remote": "s3://bucket/a.pdf"}},
                "when": {"datetime": {"year": 2025, "month": 1, "day": 2, "utc_offset": "3600s"}},
                "tags": {"set": {"items": [{"text": "a"}]}},
            },
            "state": {**done["state"], "completed": {"outputs": {"answer": {"number": strings}}}},
        }
    )
    stamp = failed["state"]["update_time"]
    bench.runs.append({**failed, "state": {"failed": {}, "update_time": stamp}})
    bench.runs.append({**pending, "state": {"running": {}, "update_time": stamp}})
    bench.runs.append(
        {**pending, "state": {"waiting": {}}, "create_time": "2025-01-01T01:00:00+01:00"}
    )
    path = f"/api/v1/{target}/runs"
    bench.pages.append(await _raw_json(bench, "GET", path, params={"page_size": "2"}))
    bench.extra["invoked"] = [
        {"run_id": pending["name"].rpartition("/")[2]},  # a bare id, as the spec has it
        {"run_id": pending["name"]},  # the whole name, tolerated
    ]


class Benches:
    """Each provider's bench, served and prepared when first asked for: a provider whose
    bench cannot be prepared fails its own tests only."""

    def __init__(self, loop: Loop) -> None:
        self.loop = loop
        self.found: dict[str, Bench] = {}
        self.contexts: list[Any] = []

    def __getitem__(self, provider: str) -> Bench:
        if provider not in self.found:
            options = testing_options(retry=RetryPolicy.never())
            context = emulated_client(provider, emulator=steerable(provider), options=options)
            self.contexts.append(context)
            client, emulator = self.loop.run(context.__aenter__())
            bench = Bench(provider, self.loop, client, emulator)
            self.loop.run(_prepare(bench))
            self.found[provider] = bench
        return self.found[provider]


@pytest.fixture(scope="module")
def benches() -> Iterator[Benches]:
    loop = Loop()
    served = Benches(loop)
    try:
        yield served
    finally:
        for context in reversed(served.contexts):
            loop.run(context.__aexit__(None, None, None))
        loop.close()


@pytest.fixture(scope="module", params=PROVIDERS)
def bench(request: pytest.FixtureRequest, benches: Benches) -> Bench:
    return benches[request.param]


# -- get ----------------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_get_survives_random_json(bench: Bench, data: st.DataObject) -> None:
    fields = {key: weird(kind) for key, kind in FOCUS[bench.provider].items() if "." not in key}
    payload = data.draw(WEIRD | st.fixed_dictionaries({}, optional=fields))
    run = bench.get(encode(payload))
    if run is not None:
        bench.check_run(run, payload)


@settings(FUZZ, max_examples=200)
@given(data=st.data())
def test_get_survives_mutated_run_payloads(bench: Bench, data: st.DataObject) -> None:
    payload = data.draw(mutated(bench.runs, FOCUS[bench.provider]))
    run = bench.get(encode(payload))
    if run is not None:
        bench.check_run(run, payload)


def test_get_survives_each_edge_value_in_each_field(bench: Bench) -> None:
    for payload in sweep(bench.runs, FOCUS[bench.provider]):
        run = bench.get(encode(payload))
        if run is not None:
            bench.check_run(run, payload)


@settings(FUZZ, max_examples=30)
@given(data=st.data())
def test_get_survives_bodies_that_are_not_json(bench: Bench, data: st.DataObject) -> None:
    sample = encode(data.draw(st.sampled_from(bench.runs)))
    body = data.draw(
        st.sampled_from(RAW_BODIES) | st.integers(0, len(sample) - 1).map(lambda cut: sample[:cut])
    )
    assert bench.get(body) is None  # nothing here is a run object


def test_real_payloads_parse(bench: Bench) -> None:
    # The mutations mean something only if the payloads they start from parse.
    statuses = set()
    for payload in bench.runs:
        run = bench.get(encode(payload))
        assert run is not None
        bench.check_run(run, payload)
        statuses.add(run.status)
    assert {S, F, C, P} <= statuses
    for envelope in bench.pages:
        bench.steer.answer(encode(envelope), method="GET")
        target = list_target(bench.provider, bench.emulator.default_target)
        page = bench.call(bench.client.list_page(target=target, page_size=2))
        assert page is not None and len(page.items) == 2 and page.next_cursor is not None
        bench.check_page(page, envelope)


# -- create -------------------------------------------------------------------------------


@settings(FUZZ, max_examples=80)
@given(data=st.data())
def test_create_survives_mutated_run_payloads(bench: Bench, data: st.DataObject) -> None:
    payload = data.draw(mutated(bench.runs, FOCUS[bench.provider]) | WEIRD)
    invoked = None
    if bench.provider == "kognitos-api":
        # The invoke answers {"run_id"} only; the run is then read with a GET.
        invoked = data.draw(st.sampled_from(bench.extra["invoked"]))
        bench.steer.answer(encode(invoked), method="POST")
        bench.steer.answer(encode(payload), method="GET")
    else:
        bench.steer.answer(encode(payload), status=201, method="POST")
    run = bench.call(bench.client.create(bench.emulator.default_target, inputs={"a": 1}))
    if run is not None and invoked is not None and run.raw == invoked:
        # The read after the invoke failed: the run the invoke named is reported pending.
        _check_invoked(bench, run, invoked)
    elif run is not None:
        bench.check_run(run, payload)


# -- the Kognitos API's invoke answer ------------------------------------------------------


INVOKED_FOCUS = {"run_id": "id"}


def _check_invoked(bench: Bench, run: Run, invoked: dict[str, Any]) -> None:
    """``run`` is the pending run the invoke answer ``invoked`` named, not read yet."""
    target = bench.emulator.default_target
    run_id = invoked["run_id"]
    assert run.id == (run_id if "/" in run_id else f"{target}/runs/{run_id}")
    assert (run.status, run.native_status, run.target) == (P, "pending", target)
    assert run.inputs == {"a": 1}


def _kognitos_api_invoke(bench: Bench, answer: Any) -> None:
    # The run the answer names is read from the emulator: a sample names a real run,
    # any other id a run that does not exist (the create then reports it pending).
    bench.steer.answer(encode(answer), method="POST")
    run = bench.call(bench.client.create(bench.emulator.default_target, inputs={"a": 1}))
    if run is None:
        return
    answer = received(answer)
    if run.raw.keys() == {"run_id"}:  # not read back: reported as the invoke named it
        assert run.raw == {"run_id": answer["run_id"]}
        _check_invoked(bench, run, answer)
    else:  # read back: only the samples name a run that exists, the pending one
        assert answer["run_id"] in [sample["run_id"] for sample in bench.extra["invoked"]]
        assert run.id == bench.runs[5]["name"]
        bench.check_run(run, run.raw)


@settings(FUZZ, max_examples=60)
@given(data=st.data())
def test_kognitos_api_invoke_survives_mutated_answers(
    benches: Benches, data: st.DataObject
) -> None:
    bench = benches["kognitos-api"]
    _kognitos_api_invoke(bench, data.draw(mutated(bench.extra["invoked"], INVOKED_FOCUS) | WEIRD))


def test_kognitos_api_invoke_survives_each_edge_value(benches: Benches) -> None:
    bench = benches["kognitos-api"]
    for answer in sweep(bench.extra["invoked"], INVOKED_FOCUS):
        _kognitos_api_invoke(bench, answer)


# -- list ---------------------------------------------------------------------------------


@settings(FUZZ, max_examples=120)
@given(data=st.data())
def test_list_page_survives_mutated_envelopes(bench: Bench, data: st.DataObject) -> None:
    payload = data.draw(mutated(bench.pages, PAGE_FOCUS[bench.provider]) | WEIRD)
    bench.steer.answer(encode(payload), method="GET")
    target = list_target(bench.provider, bench.emulator.default_target)
    page = bench.call(bench.client.list_page(target=target, page_size=2))
    if page is not None:
        bench.check_page(page, payload)


def test_list_page_survives_each_edge_value_in_each_field(bench: Bench) -> None:
    target = list_target(bench.provider, bench.emulator.default_target)
    for payload in sweep(bench.pages, PAGE_FOCUS[bench.provider]):
        bench.steer.answer(encode(payload), method="GET")
        page = bench.call(bench.client.list_page(target=target, page_size=2))
        if page is not None:
            bench.check_page(page, payload)


# -- bulk creates ------------------------------------------------------------------------


BULK_FOCUS = {
    "created_runs": "object", "created_runs.0": "object", "created_runs.0.id": "id",
    "created_runs.0.status": "text", "failed_count": "count", "errors": "object",
    "errors.0": "text",
}  # fmt: skip
BATCH_FOCUS = {"id": "id", "status_code": "text", "items_total": "count"}
ITEMS_FOCUS = {
    "items": "object", "items.0": "object", "items.0.run": "object", "items.0.run.id": "id",
    "items.0.run.started_at": "time", "items.0.run.duration_ms": "count",
    "items.0.sequence_index": "count", "items.0.run_id": "id", "next": "link",
}  # fmt: skip


def _count(value: Any) -> int:
    try:
        return abs(int(value))
    except (TypeError, ValueError, OverflowError):
        return 0


def _check_bulk(result: BulkResult | None, requested: int) -> None:
    if result is None:
        return
    assert isinstance(result, BulkResult) and result.requested == requested
    assert all(isinstance(run, Run) for run in result.runs)
    assert all(e.error is None or isinstance(e.error, RunbridgeError) for e in result.errors)


def _cyberdesk_bulk(bench: Bench, payload: Any) -> None:
    if isinstance(payload, dict) and _count(payload.get("failed_count")) > 10**6:
        # Bounds the damage should the count be trusted again: test_cyberdesk_bulk_failed_count
        payload["failed_count"] = 10**6
    bench.steer.answer(encode(payload), status=201, method="POST", path="/v1/runs/bulk")
    request = RunRequest(target=bench.emulator.default_target)
    _check_bulk(bench.call(bench.client.create_many([request] * 3)), 3)


def _runflow_batch(bench: Bench, payload: Any, *, items: bool) -> None:
    # Either the batch create is answered, or (the batch really created) its item listing.
    if items:
        bench.steer.answer(encode(payload), method="GET", path=r"/v1/batches/[^/]+/items")
    else:
        bench.steer.answer(encode(payload), status=201, method="POST", path=r".*/batches")
    request = RunRequest(target=bench.emulator.default_target)
    _check_bulk(bench.call(bench.client.create_many([request] * 2)), 2)


@settings(FUZZ, max_examples=80)
@given(data=st.data())
def test_cyberdesk_bulk_survives_mutated_answers(benches: Benches, data: st.DataObject) -> None:
    bench = benches["cyberdesk"]
    _cyberdesk_bulk(bench, data.draw(mutated([bench.extra["bulk"]], BULK_FOCUS) | WEIRD))


@settings(FUZZ, max_examples=60)
@given(data=st.data())
def test_runflow_batch_survives_mutated_answers(benches: Benches, data: st.DataObject) -> None:
    bench = benches["runflow"]
    items = data.draw(st.booleans())
    sample, focus = (
        (bench.extra["items"], ITEMS_FOCUS) if items else (bench.extra["batch"], BATCH_FOCUS)
    )
    _runflow_batch(bench, data.draw(mutated([sample], focus) | WEIRD), items=items)


def test_bulk_answers_survive_each_edge_value_in_each_field(benches: Benches) -> None:
    cyberdesk, runflow = benches["cyberdesk"], benches["runflow"]
    for payload in sweep([cyberdesk.extra["bulk"]], BULK_FOCUS):
        _cyberdesk_bulk(cyberdesk, payload)
    for payload in sweep([runflow.extra["batch"]], BATCH_FOCUS):
        _runflow_batch(runflow, payload, items=False)
    for payload in sweep([runflow.extra["items"]], ITEMS_FOCUS):
        _runflow_batch(runflow, payload, items=True)


# -- bugs the tests above found, as exact reproductions ------------------------------------


def _outcome(bench: Bench, awaitable: Any) -> Any:
    try:
        return bench.loop.run(awaitable)
    except ResponseError as exc:
        return exc
    finally:
        bench.steer.answers.clear()


@pytest.mark.parametrize(
    ("started_at", "duration_ms"),
    [("9999-12-31T23:59:59Z", 10_000), ("2025-01-01T00:00:00Z", 2**62)],
    ids=["late-start", "huge-duration"],
)
def test_runflow_finished_at_overflow(benches: Benches, started_at: str, duration_ms: int) -> None:
    # finished_at = started_at + duration_ms for a finished run without completed_at
    # overflowed datetime (OverflowError) instead of reading as unknown.
    bench = benches["runflow"]
    run_id = bench.emulator.unknown_id()
    payload = {
        "id": run_id,
        "status_code": "succeeded",
        "started_at": started_at,
        "duration_ms": duration_ms,
    }
    bench.steer.answer(encode(payload), method="GET")
    result = _outcome(bench, bench.client.get(run_id))
    assert isinstance(result, Run | ResponseError)


def test_runflow_next_link_with_a_bad_host(benches: Benches) -> None:
    # urlsplit() raised ValueError('Invalid IPv6 URL') out of next_cursor.
    bench = benches["runflow"]
    bench.steer.answer(encode({"items": [], "next": "http://[::1/?pq=a"}), method="GET")
    assert isinstance(_outcome(bench, bench.client.list_page()), Page | ResponseError)


@pytest.mark.parametrize("run_id", ["", "5", "../x", "x" * 300])
def test_cyberdesk_malformed_run_id(benches: Benches, run_id: str) -> None:
    # An empty id raised InvalidRequest (blaming the caller) from RunRef; others gave a
    # run whose ref the client then refuses.
    bench = benches["cyberdesk"]
    payload = {**bench.runs[0], "id": run_id}
    bench.steer.answer(encode(payload), method="GET")
    assert isinstance(_outcome(bench, bench.client.get(bench.emulator.unknown_id())), ResponseError)


def test_cyberdesk_bulk_failed_count(benches: Benches) -> None:
    # One BulkError per counted failure was built in a loop: failed_count=10**12 hung the
    # client. Each request is reported once, whatever count the provider claims.
    bench = benches["cyberdesk"]
    answer = {"created_runs": [], "failed_count": 10**6, "errors": ["No machine"] * 50}
    bench.steer.answer(encode(answer), status=201, method="POST", path="/v1/runs/bulk")
    request = RunRequest(target=bench.emulator.default_target)
    result = _outcome(bench, bench.client.create_many([request] * 2))
    assert isinstance(result, BulkResult) and result.runs == ()
    assert sorted(e.index for e in result.errors if e.index is not None) == [0, 1]
    assert len(result.errors) <= 3
