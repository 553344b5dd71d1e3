"""Bad input never reaches the wire: it is refused with ``InvalidRequest`` before any request.

Every case calls the public API of a client connected to a provider's emulator and
checks the error names the offending ``field`` and that the emulator saw no request.
A control case shows the same call with good input does reach the emulator, so a
check that silently stopped rejecting would fail here rather than pass unnoticed.
"""

from __future__ import annotations

import base64
import inspect
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest

from runbridge import (
    File,
    InvalidRequest,
    NotFound,
    Run,
    RunClient,
    RunIterator,
    RunRef,
    RunRequest,
    RunStatus,
    Support,
)
from runbridge.emulation import Emulator
from runbridge.testing import emulated_client, load_emulator
from support import LISTS_BY_TARGET, PROVIDERS, list_target

UUID = "0b9c8d62-3f1e-4c55-9a3e-6f0d2c1b7a90"

AUTOMATION = "organizations/org1/workspaces/ws1/automations/" + "a" * 21
"""A well-formed Kognitos API target (ids of 1-52 of [A-Za-z0-9_-])."""
RUN_NAME = AUTOMATION + "/runs/run1"
"""A well-formed Kognitos API run id: the run's resource name."""

BAD_IDS: dict[str, list[str]] = {
    "cyberdesk": [
        "not-a-uuid",
        UUID + "0",
        UUID[:-1],
        UUID.replace("-", ""),
        "{" + UUID + "}",
        UUID + "\n",
        UUID[:-1] + "g",
        "urn:uuid:" + UUID,
        f"{UUID[:8]}/{UUID[9:]}",
    ],
    "kognitos": ["a" * 27, "a.b", "r\u00e9sum\u00e9", "a%2Fb", "run\n", "a:b"],
    "kognitos-api": [
        "run1",  # a bare run id: the id is the whole resource name
        AUTOMATION,  # an automation, not a run
        AUTOMATION + "/runs/",
        AUTOMATION + "/runs/run1/",
        AUTOMATION + "/runs/run1/events",
        AUTOMATION + "/runs/run1:pause",  # a custom verb smuggled into the path
        AUTOMATION + "@draft/runs/run1",
        AUTOMATION + "/runs/" + "r" * 53,
        AUTOMATION + "/runs/r\u00e9sum\u00e9",
        AUTOMATION + "/runs/..",
        AUTOMATION + "/runs/a%2Fb",
        AUTOMATION + "/runs/run1\n",
        AUTOMATION + "/runs/run 1",
        "/" + RUN_NAME,
        "api/v1/" + RUN_NAME,  # a path, not a name
        RUN_NAME.replace("org1", "o.rg"),
        RUN_NAME.replace("ws1", ".."),
        RUN_NAME.replace("ws1", ""),
        RUN_NAME.replace("organizations/", "Organizations/"),
        RUN_NAME.replace("/workspaces/ws1", ""),
        RUN_NAME.replace("/automations/", "/processes/"),
    ],
    "runflow": ["not-a-uuid", UUID + "0", UUID.replace("-", ""), UUID + "\n", UUID[:-1] + "g"],
}
"""Ids of the wrong format for each provider (UUIDs; Kognitos: 1-26 of [A-Za-z0-9_-];
the Kognitos API: ``organizations/{o}/workspaces/{w}/automations/{a}/runs/{r}``, each id
1-52 of [A-Za-z0-9_-])."""

COMMON_BAD_IDS = ["../x", "a/b", "%2F", "..", "x" * 300, "a b", "a?b=1", "a#b", "", " "]

OPERATIONS = ("get", "update", "cancel", "retry", "delete", "pause", "resume")

BAD_TARGETS: dict[str, list[str]] = {
    "cyberdesk": ["not-a-uuid", "../x", "", UUID + "/x", UUID[:-1], "%2F" + UUID[3:]],
    "kognitos": [
        "agent",
        "a/b/c",
        "a/b@Staging",
        "../x",
        "a/" + "b" * 27,
        "a.b/c",
        "a/b@",
        "/b",
        "a/%2F",
        "",
    ],
    "kognitos-api": [
        "organizations/org1/workspaces/ws1",  # a workspace, not an automation
        "a" * 21,  # a bare automation id needs the organization and workspace settings
        AUTOMATION + "@Staging",
        AUTOMATION + "@",
        AUTOMATION + "@draft@draft",
        AUTOMATION + ":invoke",  # a custom verb smuggled into the path
        AUTOMATION + "/runs",
        RUN_NAME,  # a run, not an automation
        AUTOMATION + "/",
        "/" + AUTOMATION,
        AUTOMATION.replace("org1", "o!"),
        AUTOMATION.replace("ws1", ".."),
        AUTOMATION.replace("ws1", "%2F"),
        AUTOMATION.replace("ws1", "w" * 53),
        AUTOMATION.replace("/workspaces/ws1", ""),
        AUTOMATION + "\n",
        "",
    ],
    "runflow": [
        "models/acme",
        "models/../x",
        "models/acme/..",
        "models/acme/%2F",
        "models//echo",
        "models/acme/echo?x=1",
        "models/acme/e cho",
        "comfyui-workflows/acme/a/b",
        "flows/acme/x",
        "models/acme/" + "x" * 600,
        "",
    ],
}

PAGE_SIZES = [0, -1, "max+1", 1.5, "10", True]


@pytest.fixture
async def served(provider: str) -> AsyncIterator[tuple[RunClient, Emulator]]:
    async with emulated_client(provider) as pair:
        yield pair


async def rejected(emulator: Emulator, action: Callable[[], Any], field: str) -> InvalidRequest:
    """Run ``action``; it must raise ``InvalidRequest`` on ``field`` without a request."""
    before = len(emulator.requests)
    with pytest.raises(InvalidRequest) as caught:
        await _settle(action)
    assert caught.value.field == field, caught.value
    assert emulator.requests[before:] == [], f"{caught.value} after a request"
    return caught.value


async def _settle(action: Callable[[], Any]) -> Any:
    result = action()
    if inspect.isawaitable(result):
        return await result
    if isinstance(result, RunIterator):
        return await result.collect()
    return result


def _operation(client: RunClient, name: str, ref: Any) -> Any:
    if name == "update":
        return client.update(ref, outputs={"a": 1})
    method: Callable[[Any], Any] = getattr(client, name)
    return method(ref)


def _target_filter(client: RunClient, emulator: Emulator) -> str | None:
    return list_target(client.provider, emulator.default_target)


# -- controls: good input does reach the emulator -----------------------------------------


async def test_well_formed_input_reaches_the_emulator(
    served: tuple[RunClient, Emulator],
) -> None:
    client, emulator = served
    with pytest.raises(NotFound):
        await client.get(emulator.unknown_id())
    assert len(emulator.requests) == 1
    top = client.capabilities.max_page_size
    await client.list_page(target=_target_filter(client, emulator), page_size=top)
    assert len(emulator.requests) == 2


# -- run ids ------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", COMMON_BAD_IDS, ids=repr)
async def test_malformed_ids_are_refused_for_every_operation(
    served: tuple[RunClient, Emulator], bad: str
) -> None:
    client, emulator = served
    for bad_id in [bad, *BAD_IDS[client.provider]]:
        for name in OPERATIONS:
            if client.capabilities.support(name) is Support.UNSUPPORTED:
                continue
            await rejected(
                emulator,
                lambda n=name, i=bad_id: _operation(client, n, RunRef(client.provider, i)),
                "id",
            )
            if ":" not in bad_id:  # a plain id string is read as this provider's
                await rejected(emulator, lambda n=name, i=bad_id: _operation(client, n, i), "id")


async def test_runs_of_another_provider_are_refused(served: tuple[RunClient, Emulator]) -> None:
    client, emulator = served
    for other in PROVIDERS:
        if other == client.provider:
            continue
        other_id = load_emulator(other).unknown_id()
        foreign = [
            RunRef(other, other_id),
            f"{other}:{other_id}",
            Run(ref=RunRef(other, other_id), status=RunStatus.SUCCEEDED),
        ]
        for ref in foreign:
            for name in OPERATIONS:
                if client.capabilities.support(name) is not Support.UNSUPPORTED:
                    await rejected(emulator, lambda n=name, r=ref: _operation(client, n, r), "ref")


async def test_things_that_are_not_refs_are_refused(served: tuple[RunClient, Emulator]) -> None:
    client, emulator = served
    for thing in (None, 42, b"id", [client.provider, "x"]):
        await rejected(emulator, lambda t=thing: client.get(t), "ref")


# -- listing: page sizes, filters, cursors ------------------------------------------------


@pytest.mark.parametrize("size", PAGE_SIZES, ids=repr)
async def test_out_of_range_page_sizes_are_refused(
    served: tuple[RunClient, Emulator], size: Any
) -> None:
    client, emulator = served
    if size == "max+1":
        size = client.capabilities.max_page_size + 1
    target = _target_filter(client, emulator)
    await rejected(emulator, lambda: client.list_page(target=target, page_size=size), "page_size")
    await rejected(emulator, lambda: client.list(target=target, page_size=size), "page_size")


async def test_a_negative_limit_is_refused(served: tuple[RunClient, Emulator]) -> None:
    client, emulator = served
    await rejected(
        emulator, lambda: client.list(target=_target_filter(client, emulator), limit=-1), "limit"
    )


async def test_bad_filters_are_refused(served: tuple[RunClient, Emulator]) -> None:
    client, emulator = served
    target = _target_filter(client, emulator)
    naive = datetime(2025, 1, 1)  # naive: the point of the test
    cases: list[tuple[dict[str, Any], str]] = [
        ({"created_after": naive}, "created_after"),
        ({"created_before": naive}, "created_before"),
        (
            {"created_after": datetime(2025, 1, 1, tzinfo=UTC), "created_before": naive},
            "created_before",
        ),
        ({"status": "finished"}, "status"),
        ({"status": ["running", "nope"]}, "status"),
        ({"status": "RUNNING"}, "status"),
    ]
    for filters, field in cases:
        await rejected(emulator, lambda f=filters: client.list_page(target=target, **f), field)
        await rejected(emulator, lambda f=filters: client.list(target=target, **f), field)


async def test_malformed_target_filters_are_refused(served: tuple[RunClient, Emulator]) -> None:
    client, emulator = served
    for bad in BAD_TARGETS[client.provider]:
        await rejected(emulator, lambda b=bad: client.list_page(target=b), "target")
        await rejected(emulator, lambda b=bad: client.list(target=b), "target")


async def test_a_listing_without_target_is_refused_where_one_is_needed(
    served: tuple[RunClient, Emulator],
) -> None:
    client, emulator = served
    if client.provider not in LISTS_BY_TARGET:
        await client.list_page()  # the control: these providers list every run
        assert len(emulator.requests) == 1
        return
    await rejected(emulator, lambda: client.list_page(), "target")
    await rejected(emulator, lambda: client.list(), "target")


def _json64(value: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")


def _cursor(provider: str, native: str) -> str:
    # A cursor as this library wraps one (base64url of [provider, native]), forged: it has
    # no signature, so it is refused before the adapter reads it.
    return _json64([provider, native])


async def _real_cursor(provider: str) -> str:
    """A cursor the library issued for a listing on ``provider``'s emulator."""
    async with emulated_client(provider) as (client, emulator):
        for _ in range(2):
            await client.create(emulator.default_target)
        target = _target_filter(client, emulator)
        page = await client.list_page(target=target, page_size=1)
        assert page.next_cursor is not None
        return page.next_cursor


GARBLED_CURSORS = ["", "!!!", "a", "e30", "W10", "bnVsbA", "\u00e9t\u00e9", "x" * 5000]
"""Not cursors of this library: bad base64, ``{}``, ``[]``, ``null``, non-ASCII, huge."""

TAMPERED: dict[str, list[str]] = {
    # Cursors wrapped as this library does, holding what the adapter would never issue.
    "cyberdesk": ["abc", "-1", "1" * 13, "1.5", " 1", ""],
    "kognitos": [],  # continuation tokens are opaque; the provider checks them
    # Kognitos API cursors: base64url JSON [page_token, page_size, filter, skip].
    "kognitos-api": [
        "",
        "!!!",
        _json64([None, 0, None, 0]),
        _json64(["t", 5, None, -1]),
        _json64(["t", "5", None, 0]),
        _json64(["t", 5, None]),
        _json64({"page_token": "t"}),
    ],
    "runflow": ["a=b", "", "from_prev=1", "pq"],
}


async def test_garbled_foreign_and_tampered_cursors_are_refused(
    served: tuple[RunClient, Emulator],
) -> None:
    client, emulator = served
    target = _target_filter(client, emulator)
    foreign = [await _real_cursor(p) for p in PROVIDERS if p != client.provider]
    tampered = [_cursor(client.provider, native) for native in TAMPERED[client.provider]]
    for cursor in [*GARBLED_CURSORS, *foreign, *tampered]:
        await rejected(
            emulator, lambda c=cursor: client.list_page(target=target, cursor=c), "cursor"
        )
        await rejected(emulator, lambda c=cursor: client.list(target=target, cursor=c), "cursor")
    await rejected(emulator, lambda: client.list_page(target=target, cursor=42), "cursor")


async def test_cyberdesk_cursor_with_a_superscript_digit() -> None:
    # str.isdigit() is true for '\u00b2', which int() refuses: this was a ValueError.
    async with emulated_client("cyberdesk") as (client, emulator):
        await rejected(
            emulator, lambda: client.list_page(cursor=_cursor("cyberdesk", "\u00b2")), "cursor"
        )


# -- creates: targets, names, files, options, secrets, bulk ------------------------------


async def test_malformed_targets_are_refused(served: tuple[RunClient, Emulator]) -> None:
    client, emulator = served
    for bad in BAD_TARGETS[client.provider]:
        await rejected(emulator, lambda b=bad: client.create(b, inputs={"a": 1}), "target")


async def test_kognitos_name_length() -> None:
    async with emulated_client("kognitos") as (client, emulator):
        target = emulator.default_target
        for name in ("x" * 101, "x" * 1000, ""):
            await rejected(emulator, lambda n=name: client.create(target, name=n), "name")
        await client.create(target, name="x" * 100)  # the limit itself is fine
        assert len(emulator.requests) == 1


async def test_names_the_provider_cannot_keep_are_refused() -> None:
    async with emulated_client("cyberdesk") as (client, emulator):
        await rejected(emulator, lambda: client.create(emulator.default_target, name="n"), "name")
    async with emulated_client("runflow") as (client, emulator):
        clash = client.create(emulator.default_target, name="a", metadata={"name": "b"})
        await rejected(emulator, lambda: clash, "name")
    async with emulated_client("kognitos-api") as (client, emulator):  # runs have no name
        await rejected(emulator, lambda: client.create(emulator.default_target, name="n"), "name")


def _refused_file(provider: str) -> File:
    """Inline content for providers that take uploaded ids, and the other way round."""
    if provider == "cyberdesk":
        return File("a.txt", id="s3://bucket/a.txt")
    return File("a.txt", content=b"hello")


def _bad_creates(provider: str) -> list[tuple[dict[str, Any], str]]:
    """Keyword arguments of ``create`` each adapter refuses locally, with the field named."""
    inline = File("a.txt", content=b"hello")
    uploaded = File("a.txt", id="s3://bucket/a.txt")
    if provider == "cyberdesk":
        return [
            ({"files": [uploaded]}, "files"),
            ({"files": ["a.txt"]}, "files"),
            ({"bogus": 1}, "options.bogus"),
            ({"workflow_id": UUID}, "options.workflow_id"),
            ({"sensitive_input_values": {"k": "v"}}, "options.sensitive_input_values"),
        ]
    if provider == "kognitos":
        return [
            ({"files": [inline]}, "files"),
            ({"stage": "Draft"}, "options.stage"),
            ({"secrets": {"password": "hunter2"}}, "secrets"),
        ]
    if provider == "kognitos-api":
        return [
            ({"files": [inline]}, "files"),  # a file goes in as an input value
            ({"files": [uploaded]}, "files"),
            ({"stage": "AUTOMATION_STAGE_DRAFT"}, "options.stage"),  # the target says @draft
            ({"bogus": 1}, "options.bogus"),
            ({"secrets": {"password": "hunter2"}}, "secrets"),
            ({"inputs": {"n": 1e300}}, "inputs"),  # beyond a 96-bit decimal
            ({"inputs": {"n": 1e-29}}, "inputs"),  # more than 28 places
        ]
    return [
        ({"files": [inline]}, "files"),
        ({"files": [uploaded]}, "files"),
        ({"bogus": 1}, "options.bogus"),
        ({"metadata": "text"}, "options.metadata"),
        ({"callback_url": 5}, "options.callback_url"),
        ({"client_ref": ["x"]}, "options.client_ref"),
        ({"secrets": {"password": "hunter2"}}, "secrets"),
    ]


async def test_files_options_and_secrets_an_adapter_refuses(
    served: tuple[RunClient, Emulator],
) -> None:
    client, emulator = served
    for kwargs, field in _bad_creates(client.provider):
        await rejected(
            emulator, lambda k=kwargs: client.create(emulator.default_target, **k), field
        )


@pytest.mark.parametrize("concurrency", [0, -1])
async def test_create_many_refuses_a_concurrency_below_one(
    served: tuple[RunClient, Emulator], concurrency: int
) -> None:
    client, emulator = served
    batch = [RunRequest(target=emulator.default_target)] * 2
    await rejected(
        emulator, lambda: client.create_many(batch, concurrency=concurrency), "concurrency"
    )


async def test_create_many_reports_each_bad_request_without_sending_it(
    served: tuple[RunClient, Emulator],
) -> None:
    client, emulator = served
    # (An empty target is refused earlier still: RunRequest itself will not hold one.)
    bad = [RunRequest(target=t) for t in BAD_TARGETS[client.provider] if t][:4]
    bad.append(RunRequest(target=emulator.default_target, files=[_refused_file(client.provider)]))
    result = await client.create_many(bad)
    assert result.runs == () and len(result.errors) == len(bad) == result.requested
    assert sorted(e.index for e in result.errors if e.index is not None) == list(range(len(bad)))
    assert all(isinstance(e.error, InvalidRequest) for e in result.errors)
    assert emulator.requests == []


# -- updates ------------------------------------------------------------------------------


def _bad_updates(provider: str) -> list[tuple[dict[str, Any], str]]:
    if provider == "cyberdesk":
        return [
            ({"options": {"bogus": 1}}, "options.bogus"),
            ({"options": {"output_data": {}}}, "options.output_data"),
            ({"cost": 1}, "cost"),
            ({"bogus": 1}, "update"),
        ]
    if provider == "runflow":
        return [
            ({"inputs": {"a": 1}}, "inputs"),
            ({"failure": object()}, "failure"),
            ({}, "update"),
            ({"bogus": 1}, "update"),
        ]
    return []  # runs of either Kognitos API cannot be updated


async def test_updates_an_adapter_refuses(served: tuple[RunClient, Emulator]) -> None:
    client, emulator = served
    ref = emulator.unknown_id()
    for fields, field in _bad_updates(client.provider):
        await rejected(emulator, lambda f=fields: client.update(ref, **f), field)


# -- wrongly typed arguments --------------------------------------------------------------


WRONG_TYPES: dict[str, str] = {
    # case: the field the InvalidRequest must name
    "nan-decimal-input": "inputs",
    "int-input-key": "inputs",
    "inputs-not-a-mapping": "inputs",
    "target-not-a-string": "target",
    "name-not-a-string": "name",
    "created-after-string": "created_after",
    "status-not-a-string": "status",
    "limit-string": "limit",
    "limit-float": "limit",
    "concurrency-string": "concurrency",
}


def _wrongly_typed(case: str, client: RunClient, emulator: Emulator) -> Any:
    target = emulator.default_target
    listed = _target_filter(client, emulator)
    wrong: Any = {
        "nan-decimal-input": {"amount": Decimal("NaN")},
        "int-input-key": {1: "a"},
        "inputs-not-a-mapping": "a=1",
        "string": "2025-01-01",
        "five": 5,
        "half": 1.5,
        "two": "2",
    }
    if case in ("nan-decimal-input", "int-input-key", "inputs-not-a-mapping"):
        return client.create(target, inputs=wrong[case])
    if case == "target-not-a-string":
        return client.create(RunRequest(target=wrong["five"]))
    if case == "name-not-a-string":
        return client.create(target, name=wrong["five"])
    if case == "created-after-string":
        return client.list_page(target=listed, created_after=wrong["string"])
    if case == "status-not-a-string":
        return client.list_page(target=listed, status=wrong["five"])
    if case.startswith("limit"):
        return client.list(target=listed, limit=wrong["two" if case == "limit-string" else "half"])
    return client.create_many([RunRequest(target=target)], concurrency=wrong["two"])


@pytest.mark.parametrize("case", list(WRONG_TYPES))
async def test_wrongly_typed_arguments_are_refused(case: str) -> None:
    # Untyped callers pass such values; they must get InvalidRequest, not a crash or a
    # request the provider has to refuse.
    field = WRONG_TYPES[case]
    for provider in PROVIDERS:
        async with emulated_client(provider) as (client, emulator):
            await rejected(emulator, lambda c=client, e=emulator: _wrongly_typed(case, c, e), field)


async def test_decimal_inputs_reach_the_wire_as_numbers(provider: str) -> None:
    # A Decimal is a JSON number with its exact digits, on every provider.
    async with emulated_client(provider) as (client, emulator):
        await client.create(emulator.default_target, inputs={"amount": Decimal("1.50")})
        (sent,) = [e.body for e in emulator.log if e.operation == "create"]
        if provider == "kognitos-api":  # a typed value: mantissa 150, scale 2
            assert sent["inputs"]["amount"] == {
                "number": {"lo": 150, "mid": 0, "hi": 0, "flags": 2 << 16}
            }
        else:
            assert "1.5" in str(sent) and "'1.50'" not in str(sent)


async def test_retry_options_are_checked_before_any_request(provider: str) -> None:
    # retry first GETs the run to check the transition; options were checked only after.
    async with emulated_client(provider) as (client, emulator):
        run = await client.create(emulator.default_target, inputs={"a": 1})
        emulator.advance(3600)
        await rejected(emulator, lambda: client.retry(run, bogus=1), "options.bogus")


async def test_pause_reasons_are_checked_before_any_request(
    served: tuple[RunClient, Emulator],
) -> None:
    client, emulator = served
    if client.capabilities.support("pause") is Support.UNSUPPORTED:
        pytest.skip(f"{client.provider} cannot pause a run")
    run = await client.create(emulator.default_target)
    for reason in ("", "   ", 5, ["why"]):
        await rejected(emulator, lambda r=reason: client.pause(run, reason=r), "reason")


@pytest.mark.parametrize(
    ("provider", "fields", "field"),
    [
        ("cyberdesk", {"options": {"bogus": 1}}, "options.bogus"),
        ("cyberdesk", {"cost": 1}, "cost"),
        ("runflow", {"inputs": {"a": 1}}, "inputs"),
    ],
    ids=["cyberdesk-option", "cyberdesk-cost", "runflow-inputs"],
)
async def test_update_fields_are_checked_before_the_status_lookup(
    provider: str, fields: dict[str, Any], field: str
) -> None:
    async with emulated_client(provider) as (client, emulator):
        run = await client.create(emulator.default_target)
        changes = {"status": RunStatus.RUNNING, **fields}
        await rejected(emulator, lambda: client.update(run, **changes), field)
