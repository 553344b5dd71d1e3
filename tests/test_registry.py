"""Plugin discovery through entry points, selection, registration checks and their errors.

Every plugin a test installs here has a name no real plugin has (``tests-...``), and a
test that installs one selects it with an allow list where it can: the suite passes
whatever else is installed beside runbridge (``test_the_suite_passes_beside_a_plugin_...``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pluggy
import pytest

import runbridge
from runbridge import OPERATIONS, ConfigError, PluginError
from runbridge.adapter import UUID_FORMAT, Adapter, Capabilities, Pagination, Registry, hookimpl
from runbridge.testing import emulated_providers

BUILTINS = {"cyberdesk", "kognitos", "kognitos-api", "runflow"}

ADAPTER_SOURCE = """
from runbridge.adapter import hookimpl
from memo_plugin import MemoAdapter

class {cls}(MemoAdapter):
    name = {name!r}

@hookimpl
def runbridge_register_adapters(register):
    register({cls})
"""


def install_plugin(
    root: Path, dist: str, entries: dict[str, str], modules: dict[str, str], version: str = "1.0"
) -> None:
    """Lay out an installed distribution (dist-info with entry points) on sys.path."""
    info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    lines = "\n".join(f"{name} = {target}" for name, target in entries.items())
    (info / "entry_points.txt").write_text(f"[runbridge.adapters]\n{lines}\n")
    for module, source in modules.items():
        (root / f"{module}.py").write_text(textwrap.dedent(source))


def adapter_module(name: str, cls: str = "Adapter1") -> str:
    """A plugin module registering a memo adapter named ``name``."""
    return ADAPTER_SOURCE.format(cls=cls, name=name)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("RUNBRIDGE_PLUGINS", raising=False)
    return tmp_path


@pytest.fixture
def third_party(site: Path) -> Path:
    """``runbridge-tests-acme`` 1.0: entry point ``tests-acme`` registers provider ``testacme``."""
    install_plugin(
        site,
        "runbridge-tests-acme",
        {"tests-acme": "tests_acme_plugin"},
        {"tests_acme_plugin": adapter_module("testacme")},
    )
    return site


def hand_registry(*plugins: object) -> Registry:
    """A registry of the given plugin objects only (no entry points)."""
    registry = Registry(entry_points=False)
    for n, plugin in enumerate(plugins):
        registry.register_plugin(plugin, name=f"by-hand-{n}")
    return registry


# -- discovery ------------------------------------------------------------------------------


def test_third_party_plugins_load_from_entry_points(third_party: Path) -> None:
    info = Registry().adapters()["testacme"]  # no allow list: every installed plugin
    assert info.plugin == "tests-acme"
    assert (info.distribution, info.version, info.builtin) == ("runbridge-tests-acme", "1.0", False)
    assert info.capabilities.support("create").value == "native"
    assert {p.name for p in Registry().providers() if p.builtin} >= BUILTINS


def test_an_empty_allow_list_loads_only_the_builtins(
    third_party: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNBRIDGE_PLUGINS", "")
    assert {p.name for p in Registry().providers()} == BUILTINS


def test_an_allow_list_names_plugins_by_entry_point(
    third_party: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNBRIDGE_PLUGINS", "tests-acme")
    assert {p.name for p in Registry().providers()} == {*BUILTINS, "testacme"}
    assert "testacme" in Registry(allow=["tests-acme"]).adapters()
    assert "testacme" not in Registry(allow=[]).adapters()


def test_an_allow_list_names_plugins_by_provider(
    third_party: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_plugin(
        third_party,
        "runbridge-tests-other",
        {"tests-other": "tests_other_plugin"},
        {"tests_other_plugin": adapter_module("testother")},
    )
    monkeypatch.setenv("RUNBRIDGE_PLUGINS", " testacme , cyberdesk")
    registry = Registry()
    assert {p.name for p in registry.providers()} == {*BUILTINS, "testacme"}
    assert registry.adapters()["testacme"].plugin == "tests-acme"
    assert [p.name for p in registry.plugins() if not p.builtin] == ["tests-acme"]
    both = Registry(allow=["testother", "tests-acme"])
    assert {"testacme", "testother"} <= set(both.adapters())


def test_selecting_by_provider_skips_a_plugin_that_fails_to_import(site: Path) -> None:
    install_plugin(
        site,
        "runbridge-tests-pair",
        {"tests-good": "tests_good_plugin", "tests-bad": "tests_bad_plugin"},
        {
            "tests_good_plugin": adapter_module("testgood"),
            "tests_bad_plugin": "import module_that_does_not_exist\n",
        },
    )
    assert "testgood" in Registry(allow=["testgood"]).adapters()
    with pytest.raises(PluginError) as caught:
        Registry(allow=["testghost"]).providers()
    assert caught.value.plugin == "testghost"
    message = str(caught.value)
    assert "'testghost', named in the registry's allow list, is neither" in message
    assert "plugin 'tests-bad' could not be asked" in message
    assert "module_that_does_not_exist" in message


def test_an_allow_listed_name_that_is_nothing_installed_is_named(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNBRIDGE_PLUGINS", "ghost")
    with pytest.raises(PluginError) as caught:
        Registry().providers()
    assert caught.value.plugin == "ghost"
    assert str(caught.value).startswith(
        "'ghost', named in RUNBRIDGE_PLUGINS, is neither an installed plugin nor a provider"
    )
    assert "cyberdesk" in str(caught.value)


def test_a_provider_left_out_by_the_allow_list_says_how_to_include_it(
    third_party: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNBRIDGE_PLUGINS", "")
    with pytest.raises(ConfigError) as caught:
        runbridge.connect("testacme", token="t", registry=Registry())
    assert caught.value.field == "provider"
    assert str(caught.value) == (
        "testacme: provider 'testacme' comes from plugin 'tests-acme' (distribution "
        "runbridge-tests-acme 1.0), which RUNBRIDGE_PLUGINS leaves out; add 'tests-acme' "
        "to it [field 'provider']"
    )
    with pytest.raises(ConfigError, match="the registry's allow list leaves out"):
        Registry(allow=["cyberdesk"]).adapter("testacme")
    with pytest.raises(ConfigError, match="unknown provider 'nosuch'; available: cyberdesk"):
        Registry(allow=[]).adapter("nosuch")


def test_a_plugin_that_fails_to_import_is_named(site: Path) -> None:
    install_plugin(
        site,
        "runbridge-tests-broken",
        {"tests-broken": "tests_broken_plugin"},
        {"tests_broken_plugin": "import module_that_does_not_exist\n"},
    )
    with pytest.raises(PluginError) as caught:
        Registry(allow=["tests-broken"]).providers()
    assert caught.value.plugin == "tests-broken"
    assert "tests-broken" in str(caught.value)
    assert "module_that_does_not_exist" in str(caught.value)


def test_two_distributions_with_one_entry_point_name_are_named(site: Path) -> None:
    for dist, version in (("runbridge-tests-twin-a", "1.0"), ("runbridge-tests-twin-b", "2.3")):
        install_plugin(
            site,
            dist,
            {"tests-twin": "tests_twin_plugin"},
            {"tests_twin_plugin": adapter_module("testtwin")},
            version=version,
        )
    with pytest.raises(PluginError) as caught:
        Registry(allow=["tests-twin"]).providers()
    assert caught.value.plugin == "tests-twin"
    assert "plugin 'tests-twin' is advertised by 2 installed distributions" in str(caught.value)
    assert "runbridge-tests-twin-a 1.0, runbridge-tests-twin-b 2.3" in str(caught.value)
    assert "testtwin" not in Registry(allow=[]).adapters()  # left out: no error


def test_a_duplicate_provider_name_names_both_plugins(site: Path) -> None:
    install_plugin(
        site,
        "runbridge-tests-twins",
        {"tests-twin-a": "tests_twin_a", "tests-twin-b": "tests_twin_b"},
        {
            "tests_twin_a": adapter_module("testtwins", "A"),
            "tests_twin_b": adapter_module("testtwins", "B"),
        },
    )
    with pytest.raises(PluginError) as caught:
        Registry(allow=["tests-twin-a", "tests-twin-b"]).providers()
    assert "'testtwins'" in str(caught.value)
    assert "tests-twin-a" in str(caught.value) and "tests-twin-b" in str(caught.value)


def test_registering_something_that_is_not_an_adapter_is_refused(site: Path) -> None:
    install_plugin(
        site,
        "runbridge-tests-odd",
        {"tests-odd": "tests_odd_plugin"},
        {
            "tests_odd_plugin": """
                from runbridge.adapter import hookimpl

                @hookimpl
                def runbridge_register_adapters(register):
                    register(object)
            """
        },
    )
    with pytest.raises(PluginError, match="not an Adapter subclass") as caught:
        Registry(allow=["tests-odd"]).providers()
    assert caught.value.plugin == "tests-odd"


def test_discovery_is_lazy_and_cached(third_party: Path) -> None:
    registry = Registry(allow=["tests-acme"])
    first = registry.adapters()
    assert registry.adapters() is first


def test_plugins_say_where_they_came_from(third_party: Path) -> None:
    import memo_plugin

    registry = Registry(allow=["tests-acme"])
    registry.register_plugin(memo_plugin, name="memo-by-hand")
    plugins = {p.name: p for p in registry.plugins()}
    assert set(plugins) == {*BUILTINS, "tests-acme", "memo-by-hand"}
    acme = plugins["tests-acme"]
    assert (acme.distribution, acme.version) == ("runbridge-tests-acme", "1.0")
    assert (acme.entry_point, acme.providers, acme.builtin) == (
        "tests_acme_plugin",
        ("testacme",),
        False,
    )
    by_hand = plugins["memo-by-hand"]
    assert (by_hand.distribution, by_hand.entry_point, by_hand.providers) == (None, None, ("memo",))
    assert plugins["kognitos"].builtin and plugins["kognitos"].providers == ("kognitos",)
    assert plugins["kognitos"].entry_point == "runbridge_kognitos"


def test_an_unknown_provider_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        runbridge.connect("nosuch", token="t")
    assert caught.value.field == "provider"
    assert "memo" in str(caught.value)


def test_providers_lists_capabilities() -> None:
    memo = next(p for p in runbridge.providers() if p.name == "memo")
    assert memo.capabilities.support("retry").value == "emulated"
    assert memo.capabilities.pagination.value == "cursor"


# -- registration checks -----------------------------------------------------------------------


def bare_adapter(native: set[str], **methods: Any) -> type[Adapter]:
    """An adapter that declares ``native`` operations and implements only ``methods``."""
    declarations: dict[str, Any] = {
        "name": "bare",
        "id_format": UUID_FORMAT,
        "default_base_url": "https://bare.invalid",
        "capabilities": Capabilities.of(
            native=native, pagination=Pagination.CURSOR, max_page_size=10
        ),
    }
    return type("BareAdapter", (Adapter,), {**declarations, **methods})


def plugin_of(*adapters: type[Adapter]) -> object:
    class Plugin:
        @hookimpl
        def runbridge_register_adapters(self, register: Any) -> None:
            for adapter in adapters:
                register(adapter)

    return Plugin()


async def _implemented(*args: Any) -> Any:
    raise AssertionError("never called")


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_native_operation_must_be_implemented(operation: str) -> None:
    registry = hand_registry(plugin_of(bare_adapter({operation})))
    with pytest.raises(PluginError) as caught:
        registry.providers()
    error = caught.value
    assert (error.plugin, error.provider, error.operation) == ("by-hand-0", "bare", operation)
    method = {"list": "list_page", "create_many": "bulk_item and send_chunk"}.get(
        operation, operation
    )
    assert str(error) == (
        f"bare.{operation}: plugin 'by-hand-0': adapter BareAdapter declares {operation} "
        f"native but does not implement it (override {method})"
    )


def test_a_native_bulk_create_needs_both_methods() -> None:
    half = bare_adapter({"create", "create_many"}, create=_implemented, bulk_item=_implemented)
    with pytest.raises(PluginError, match=r"create_many native .* \(override send_chunk\)$"):
        hand_registry(plugin_of(half)).providers()
    whole = bare_adapter(
        {"create", "create_many"},
        create=_implemented,
        bulk_item=_implemented,
        send_chunk=_implemented,
    )
    assert hand_registry(plugin_of(whole)).adapter("bare") is whole


def test_emulated_and_unsupported_operations_need_no_method() -> None:
    adapter = type(
        "Lean",
        (bare_adapter(set()),),
        {
            "capabilities": Capabilities.of(
                native={"create"},
                emulated={"create_many", "retry"},
                pagination=Pagination.CURSOR,
                max_page_size=10,
            ),
            "create": _implemented,
        },
    )
    assert hand_registry(plugin_of(adapter)).adapter("bare") is adapter


def test_a_misnamed_hook_is_reported_with_the_right_name() -> None:
    class Plugin:
        @hookimpl
        def runbridge_register_adapter(self, register: Any) -> None:
            raise AssertionError("never called")

    with pytest.raises(PluginError) as caught:
        hand_registry(Plugin()).providers()
    assert caught.value.plugin == "by-hand-0"
    assert str(caught.value) == (
        "plugin 'by-hand-0' implements 'runbridge_register_adapter', which is not a "
        "runbridge hook; did you mean 'runbridge_register_adapters'?"
    )


def test_a_plugin_without_a_marked_hook_is_reported() -> None:
    class Plugin:
        def runbridge_register_adapters(self, register: Any) -> None:  # no @hookimpl
            raise AssertionError("never called")

    with pytest.raises(PluginError, match="implements no runbridge hook: mark its") as caught:
        hand_registry(Plugin()).providers()
    assert caught.value.plugin == "by-hand-0"


def test_hooks_of_other_projects_are_not_runbridges_concern() -> None:
    other = pluggy.HookimplMarker("otherproject")

    class Plugin:
        @hookimpl
        def runbridge_register_adapters(self, register: Any) -> None:
            register(bare_adapter(set()))

        @other
        def otherproject_configure(self) -> None:
            raise AssertionError("never called")

        @hookimpl(optionalhook=True)
        def runbridge_some_future_hook(self) -> None:
            raise AssertionError("never called")

    assert set(hand_registry(Plugin()).adapters()) == {"bare"}


def test_a_hook_with_the_wrong_arguments_names_the_plugin() -> None:
    class Plugin:
        @hookimpl
        def runbridge_register_adapters(self, add: Any) -> None:
            raise AssertionError("never called")

    with pytest.raises(PluginError, match="plugin 'by-hand-0' cannot be registered") as caught:
        hand_registry(Plugin()).providers()
    assert "add" in str(caught.value)


def test_a_hook_that_raises_names_the_plugin() -> None:
    class Plugin:
        @hookimpl
        def runbridge_register_adapters(self, register: Any) -> None:
            raise RuntimeError("no licence file")

    with pytest.raises(PluginError) as caught:
        hand_registry(Plugin()).providers()
    assert str(caught.value) == (
        "plugin 'by-hand-0' failed in runbridge_register_adapters: RuntimeError: no licence file"
    )


# -- isolation ----------------------------------------------------------------------------------


def install_docs_acme(root: Path) -> None:
    """A plugin named as the authoring guide's example: ``runbridge-acme``, entry point
    ``acme``, module ``runbridge_acme``, provider ``acme``, with an emulator."""
    install_plugin(
        root,
        "runbridge-acme",
        {"acme": "runbridge_acme"},
        {
            "runbridge_acme": """
                from runbridge.adapter import hookimpl
                from memo_plugin import MemoAdapter

                class AcmeAdapter(MemoAdapter):
                    name = "acme"

                @hookimpl
                def runbridge_register_adapters(register):
                    register(AcmeAdapter)
            """
        },
    )


def test_builtin_provider_fixtures_ignore_a_third_party_plugin(site: Path) -> None:
    install_docs_acme(site)
    registry = Registry()
    assert "acme" in emulated_providers(registry=registry)
    assert emulated_providers(registry=registry, builtin=True) == sorted(BUILTINS)


@pytest.mark.skipif(
    "RUNBRIDGE_TESTS_BESIDE_ACME" in os.environ, reason="already the run beside a plugin"
)
def test_the_suite_passes_beside_a_plugin_named_like_the_guides(tmp_path: Path) -> None:
    # The registry tests run in a process where a third-party plugin is installed as the
    # authoring guide names its example; none of them may assume only the built-ins.
    install_docs_acme(tmp_path)
    here = Path(__file__).parent
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(here), os.environ.get("PYTHONPATH", "")]),
        "RUNBRIDGE_TESTS_BESIDE_ACME": "1",
    }
    env.pop("RUNBRIDGE_PLUGINS", None)
    check = "import runbridge; assert 'acme' in {p.name for p in runbridge.providers()}"
    subprocess.run([sys.executable, "-c", check], env=env, check=True, timeout=120)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", str(here / "test_registry.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=here.parent,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
