"""Upgrading from runbridge 0.1: the names 0.2 moved out of ``runbridge`` still work from
there with a ``DeprecationWarning`` that names their new home; a plugin written for 0.1
(``tests/old_plugin``, untouched since) imports and runs, and where 0.2 asks more of it,
the kit says what and where to read about it. Also: ``__version__``, and errors shown
under their public names.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import pickle
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

import runbridge
import runbridge.adapter
from runbridge import PluginError, RunStatus
from runbridge.adapter import Registry
from runbridge.testing import emulated_client

pytest_plugins = ["pytester"]

TESTS = Path(__file__).resolve().parent

OLD_ALL = (
    # runbridge.__all__ of 0.1.0, verbatim (git show 15326c3^:src/runbridge/__init__.py)
    "ENTRY_POINT_GROUP", "FILTERS", "OPERATIONS", "RUN_FIELDS", "TERMINAL", "TRANSITIONS",
    "UUID_FORMAT", "Adapter", "AuthError", "BulkError", "BulkResult", "Call", "Capabilities",
    "ClientOptions", "Config", "ConfigError", "Conflict", "CreateUnconfirmed", "ErrorInfo",
    "ErrorMap", "Failure", "FailureKind", "Fanout", "FanoutError", "File", "IdFormat",
    "IllegalTransition", "InvalidRequest", "NoSettings", "NotFound", "Outcome", "Page",
    "Pagination", "PluginError", "Profile", "Progress", "ProviderInfo", "ProviderUnavailable",
    "RateLimited", "Redactor", "Registry", "Response", "ResponseError", "RetryPolicy", "Run",
    "RunClient", "RunFilter", "RunIterator", "RunRef", "RunRequest", "RunStatus", "RunUpdate",
    "RunbridgeError", "StatusMap", "Support", "UnsupportedOperation", "WaitTimeout",
    "can_transition", "check_transition", "connect", "fanout", "format_timestamp", "hookimpl",
    "load_config", "make_converter", "parse_config", "parse_decimal", "parse_timestamp",
    "providers", "register_plugin", "secret_setting", "structure",
)  # fmt: skip

MOVED = sorted(set(OLD_ALL) - set(runbridge.__all__))
"""What 0.1 exported from ``runbridge`` that 0.2 does not."""

RETIRED = {
    # name: (the private module it still comes from, what the warning points to instead)
    "TERMINAL": ("runbridge._model._run", "RunStatus.is_terminal"),
    "Redactor": ("runbridge._wire._redact", "Redactor is private"),
}
"""0.1 names with no public home in 0.2; every other moved name is in runbridge.adapter."""

OLD_PLUGIN_MOVED = {
    "Adapter",
    "ErrorMap",
    "IdFormat",
    "StatusMap",
    "hookimpl",
    "make_converter",
    "secret_setting",
}
"""The moved names the 0.1 plugin reads while it is imported."""


def _new_home(name: str) -> str:
    return RETIRED[name][1] if name in RETIRED else f"runbridge.adapter.{name}"


def test_every_name_0_1_exported_is_still_public_or_moved_to_the_kit() -> None:
    assert MOVED, "nothing moved: the list of 0.1 names is wrong"
    homeless = [n for n in MOVED if n not in RETIRED and n not in runbridge.adapter.__all__]
    assert homeless == []


def test_terminal_is_what_is_terminal_says() -> None:
    with pytest.warns(DeprecationWarning, match="RunStatus.is_terminal"):
        terminal = runbridge.TERMINAL
    assert terminal == {s for s in RunStatus if s.is_terminal}


@pytest.mark.parametrize("name", MOVED)
def test_a_moved_name_warns_from_its_old_home_and_is_the_same_object(name: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = getattr(runbridge, name)
    [warning] = caught
    assert warning.category is DeprecationWarning
    text = str(warning.message)
    assert f"runbridge.{name} is deprecated" in text
    assert _new_home(name) in text, text
    assert "0.3" in text  # when it stops working
    assert warning.filename == __file__  # the warning points at the line that used the name
    if name in RETIRED:
        assert value is getattr(importlib.import_module(RETIRED[name][0]), name)
    else:
        assert value is getattr(runbridge.adapter, name)


@pytest.mark.parametrize("name", MOVED)
def test_a_moved_name_imports_from_its_old_home(name: str) -> None:
    namespace: dict[str, Any] = {}
    with pytest.warns(DeprecationWarning, match=rf"runbridge\.{name} is deprecated") as caught:
        exec(f"from runbridge import {name}", namespace)
    assert {w.filename for w in caught} == {"<string>"}  # the importer, not importlib
    if name not in RETIRED:
        assert namespace[name] is getattr(runbridge.adapter, name)


def test_moved_names_stay_out_of_the_listed_surface() -> None:
    listed = set(runbridge.__all__) | set(dir(runbridge))
    assert listed.isdisjoint(MOVED)  # star-imports and completion offer the new surface only
    with pytest.raises(AttributeError, match="no attribute 'Adaptor'"):
        runbridge.Adaptor  # noqa: B018 - a name that never existed is still an AttributeError


def test_names_that_did_not_move_import_without_a_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in sorted(set(OLD_ALL) - set(MOVED)):
            exec(f"from runbridge import {name}", {})


def test_version_is_the_installed_distributions() -> None:
    assert runbridge.__version__ == importlib.metadata.version("runbridge")
    assert runbridge.__version__.split(".")[:2] == ["0", "2"]  # what the policy speaks of


# -- a plugin written for 0.1 ------------------------------------------------------------


def _import_old_plugin() -> tuple[Any, list[warnings.WarningMessage]]:
    for loaded in [m for m in sys.modules if m == "old_plugin" or m.startswith("old_plugin.")]:
        del sys.modules[loaded]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plugin = importlib.import_module("old_plugin")
        importlib.import_module("old_plugin.emulator")
    return plugin, caught


def _moved_names_in(caught: list[warnings.WarningMessage]) -> set[str]:
    """The moved names ``caught`` warns about; fails on any other warning."""
    names = set()
    for warning in caught:
        assert warning.category is DeprecationWarning, warning
        text = str(warning.message)
        name = text.removeprefix("runbridge.").split(" ", 1)[0]
        assert f"use runbridge.adapter.{name}" in text, text
        names.add(name)
    return names


def test_a_0_1_plugin_imports_with_deprecation_warnings_only() -> None:
    _, caught = _import_old_plugin()
    assert _moved_names_in(caught) == OLD_PLUGIN_MOVED
    plugin_file = str(TESTS / "old_plugin" / "__init__.py")
    assert {w.filename for w in caught} == {plugin_file}  # each names the plugin's own line


async def test_a_0_1_plugin_registers_and_runs() -> None:
    plugin, _ = _import_old_plugin()
    registry = Registry(entry_points=False)
    registry.register_plugin(plugin, name="oldacme")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with emulated_client("oldacme", registry=registry) as (client, emulator):
            run = await client.create(emulator.default_target, inputs={"width": 640})
            emulator.advance(60)
            assert (await client.wait(run, timeout=5, poll_interval=0.01)).status.is_terminal
            assert [r.id for r in await client.list().collect()] == [run.id]
            with pytest.raises(runbridge.NotFound, match="no such run"):
                await client.get(emulator.unknown_id())  # the plugin's own parse_error
    # What its methods read from runbridge at run time warns too, naming the new home.
    assert {"parse_timestamp", "ErrorInfo"} <= _moved_names_in(caught)


def test_a_0_1_bulk_create_override_is_named_at_registration() -> None:
    plugin, _ = _import_old_plugin()

    async def create_many(self: Any, call: Any, requests: Any) -> Any:
        raise AssertionError("0.2 never calls it")

    capabilities = runbridge.Capabilities.of(
        native={"create", "create_many", "get", "list", "cancel"},
        pagination=runbridge.Pagination.CURSOR,
        max_page_size=50,
    )
    bulk = type(
        "BulkAcme",
        (plugin.AcmeAdapter,),
        {"capabilities": capabilities, "create_many": create_many},
    )
    registry = Registry(entry_points=False)
    registry.register_plugin(_plugin_of(bulk), name="bulk")
    with pytest.raises(PluginError) as caught:
        registry.providers()
    message = str(caught.value)
    assert "override bulk_item and send_chunk" in message
    assert "instead of create_many" in message and "Upgrading a plugin" in message


def test_a_0_1_find_tagged_is_named_at_registration() -> None:
    plugin, _ = _import_old_plugin()

    async def find_tagged(self: Any, call: Any, request: Any, token: str) -> Any:
        raise AssertionError("0.2 never calls it")

    tagged = type("TaggedAcme", (plugin.AcmeAdapter,), {"find_tagged": find_tagged})
    registry = Registry(entry_points=False)
    registry.register_plugin(_plugin_of(tagged), name="tagged")
    with pytest.warns(DeprecationWarning, match=r"find_tagged is no longer called.*search_tagged"):
        registry.providers()


def _plugin_of(adapter: type) -> object:
    class Plugin:
        @runbridge.adapter.hookimpl
        def runbridge_register_adapters(self, register: Any) -> None:
            register(adapter)

    return Plugin()


KIT_FAILURES = {
    # what the 0.2 kit asks of the 0.1 plugin, and the piece each failure must name
    "test_created_runs_say_what_was_asked": "record_created",
    "test_calls_are_counted_per_operation": "`operations`",
    "test_a_plan_for_the_target_is_followed": "take_plan",
    "test_every_declared_status_reads_as_declared": "`statuses`",
    "test_documented_statuses_are_declared_as_documented": "`statuses`",
    "test_held_statuses_end_waits_at_once": "`statuses`",
    "test_on_hold_wait_keeps_waiting_until_the_run_ends": "`statuses`",
    "test_secrets_reach_the_provider_masked_in_its_log": "secrets=False",
}


def test_the_kit_names_what_0_2_asks_of_a_0_1_plugin(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        conftest=(
            "import old_plugin\n"
            "from runbridge.adapter import register_plugin\n\n"
            "register_plugin(old_plugin, name='oldacme')  # as its entry point would\n"
        ),
        test_oldacme=(TESTS / "old_plugin" / "conformance_suite.py").read_text(),
    )
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
        "filterwarnings =\n    error\n    default::DeprecationWarning\n"
    )
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])
    )
    monkeypatch.setenv("RUNBRIDGE_PLUGINS", "")
    report = pytester.path / "report.xml"
    pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--junitxml={report}")
    failed = {}
    passed = 0
    for case in ElementTree.parse(report).iter("testcase"):
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is not None:
            failed[case.get("name")] = problem.get("message", "")
        elif case.find("skipped") is None:
            passed += 1
    assert sorted(failed) == sorted(KIT_FAILURES)
    for test, piece in KIT_FAILURES.items():
        assert piece in failed[test], f"{test}: {failed[test]}"
        if piece != "secrets=False":  # new in 0.2, so the message says where to read up
            assert "Upgrading a plugin" in failed[test], f"{test}: {failed[test]}"
    assert passed >= 30  # the rest of the kit still passes unchanged


# -- errors under their public names -----------------------------------------------------


ERRORS = sorted(
    name
    for name in runbridge.__all__
    if isinstance(value := getattr(runbridge, name), type) and issubclass(value, BaseException)
)


def _instance(name: str) -> BaseException:
    cls = getattr(runbridge, name)
    run = runbridge.Run(ref=runbridge.RunRef("cyberdesk", "r1"), status=RunStatus.RUNNING)
    extra: dict[str, Any] = {
        "PluginError": {"plugin": "p"},
        "JournalError": {"store": "memory", "reason": "closed"},
        "WaitTimeout": {"run": run},
        "RunHeld": {"run": run},
        "UnknownStatus": {"run": run},
        "CreateUnconfirmed": {"token": "t"},
        "IllegalTransition": {"current": RunStatus.SUCCEEDED, "requested": RunStatus.RUNNING},
        "EventRejected": {"reason": "signature"},
    }
    if name == "FanoutError":
        return cls("one failed", [runbridge.NotFound("gone", provider="cyberdesk")])
    return cls("went wrong", provider="cyberdesk", operation="get", **extra.get(name, {}))


def test_every_public_error_is_listed() -> None:
    assert {"RunbridgeError", "NotFound", "EventRejected", "FanoutError"} <= set(ERRORS)


@pytest.mark.parametrize("name", ERRORS)
def test_errors_show_under_their_public_name(name: str) -> None:
    error = _instance(name)
    cls = type(error)
    assert cls.__module__ == "runbridge"
    assert str(cls) == f"<class 'runbridge.{name}'>"
    try:
        raise error
    except BaseException as raised:
        shown = traceback.format_exception_only(raised)[0]
    assert shown.startswith(f"runbridge.{name}: "), shown
    assert repr(error).startswith(f"{name}(")


@pytest.mark.parametrize("name", ERRORS)
def test_errors_still_pickle_whole(name: str) -> None:
    error = _instance(name)
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error)
    assert str(again) == str(error)
    assert vars(again) == vars(error)


def test_load_emulator_still_imports_from_emulation_with_a_warning() -> None:
    import runbridge.emulation
    import runbridge.testing

    with pytest.warns(DeprecationWarning, match=r"runbridge\.testing\.load_emulator"):
        moved = runbridge.emulation.load_emulator  # type: ignore[attr-defined]
    assert moved is runbridge.testing.load_emulator


def test_native_statuses_take_0_1_s_empty_extra_and_name_the_new_form() -> None:
    from runbridge.emulation import NativeStatuses

    fields: dict[str, Any] = {
        "pending": ("queued",),
        "running": ("working",),
        "succeeded": "done",
        "failed": {"task": "failed", "system": "failed", "timeout": "failed"},
        "cancelled": "aborted",
    }
    assert NativeStatuses(**fields, extra=()).extra == {}
    with pytest.raises(TypeError, match="Upgrading a plugin"):
        NativeStatuses(**fields, extra=("paused",))


def test_the_emulations_delivery_attempt_keeps_its_old_name_with_a_warning() -> None:
    import runbridge.emulation

    with pytest.warns(DeprecationWarning, match=r"runbridge\.emulation\.DeliveryAttempt"):
        old = runbridge.emulation.Attempt  # type: ignore[attr-defined]
    assert old is runbridge.emulation.DeliveryAttempt
