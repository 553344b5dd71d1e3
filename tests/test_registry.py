"""Plugin discovery through entry points, allow-listing, and registration errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import runbridge
from runbridge import ConfigError, PluginError
from runbridge.adapter import Registry

ADAPTER_SOURCE = """
from runbridge.adapter import hookimpl
from memo_plugin import MemoAdapter

class {cls}(MemoAdapter):
    name = {name!r}

@hookimpl
def runbridge_register_adapters(register):
    register({cls})
"""


def install_plugin(root: Path, dist: str, entries: dict[str, str], modules: dict[str, str]) -> None:
    """Lay out an installed distribution (dist-info with entry points) on sys.path."""
    info = root / f"{dist}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    lines = "\n".join(f"{name} = {target}" for name, target in entries.items())
    (info / "entry_points.txt").write_text(f"[runbridge.adapters]\n{lines}\n")
    for module, source in modules.items():
        (root / f"{module}.py").write_text(textwrap.dedent(source))


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("RUNBRIDGE_PLUGINS", raising=False)
    return tmp_path


@pytest.fixture
def third_party(site: Path) -> Path:
    install_plugin(
        site,
        "runbridge-acme",
        {"acme": "acme_plugin"},
        {"acme_plugin": ADAPTER_SOURCE.format(cls="AcmeAdapter", name="acme")},
    )
    return site


def test_third_party_plugins_load_from_entry_points(third_party: Path) -> None:
    names = {p.name for p in Registry().providers()}
    assert "acme" in names
    info = Registry().adapters()["acme"]
    assert info.plugin == "acme"
    assert info.capabilities.support("create").value == "native"


def test_an_empty_allow_list_loads_only_the_builtins(
    third_party: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNBRIDGE_PLUGINS", "")
    names = {p.name for p in Registry().providers()}
    assert "acme" not in names
    assert {"cyberdesk", "kognitos", "runflow"} >= {n for n in names if n != "memo"}


def test_an_allow_list_names_the_plugins_to_load(
    third_party: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNBRIDGE_PLUGINS", "acme")
    assert "acme" in {p.name for p in Registry().providers()}
    assert "acme" in {p.name for p in Registry(allow=["acme"]).providers()}
    assert "acme" not in {p.name for p in Registry(allow=[]).providers()}


def test_an_allow_listed_plugin_that_is_not_installed_is_named(site: Path) -> None:
    with pytest.raises(PluginError) as caught:
        Registry(allow=["ghost"]).providers()
    assert caught.value.plugin == "ghost"
    assert "ghost" in str(caught.value)


def test_a_plugin_that_fails_to_import_is_named(site: Path) -> None:
    install_plugin(
        site,
        "runbridge-broken",
        {"broken": "broken_plugin"},
        {"broken_plugin": "import module_that_does_not_exist\n"},
    )
    with pytest.raises(PluginError) as caught:
        Registry().providers()
    assert caught.value.plugin == "broken"
    assert "broken" in str(caught.value) and "module_that_does_not_exist" in str(caught.value)


def test_a_duplicate_provider_name_names_both_plugins(site: Path) -> None:
    install_plugin(
        site,
        "runbridge-twins",
        {"twin-a": "twin_a", "twin-b": "twin_b"},
        {
            "twin_a": ADAPTER_SOURCE.format(cls="A", name="twin"),
            "twin_b": ADAPTER_SOURCE.format(cls="B", name="twin"),
        },
    )
    with pytest.raises(PluginError) as caught:
        Registry().providers()
    assert "'twin'" in str(caught.value)
    assert "twin-a" in str(caught.value) and "twin-b" in str(caught.value)


def test_registering_something_that_is_not_an_adapter_is_refused(site: Path) -> None:
    install_plugin(
        site,
        "runbridge-odd",
        {"odd": "odd_plugin"},
        {
            "odd_plugin": """
                from runbridge.adapter import hookimpl

                @hookimpl
                def runbridge_register_adapters(register):
                    register(object)
            """
        },
    )
    with pytest.raises(PluginError, match="not an Adapter subclass") as caught:
        Registry().providers()
    assert caught.value.plugin == "odd"


def test_discovery_is_lazy_and_cached(third_party: Path) -> None:
    registry = Registry()
    first = registry.adapters()
    assert registry.adapters() is first


def test_an_unknown_provider_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        runbridge.connect("nosuch", token="t")
    assert caught.value.field == "provider"
    assert "memo" in str(caught.value)


def test_providers_lists_capabilities() -> None:
    memo = next(p for p in runbridge.providers() if p.name == "memo")
    assert memo.capabilities.support("retry").value == "emulated"
    assert memo.capabilities.pagination.value == "cursor"
