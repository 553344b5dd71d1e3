"""Provider settings and options never take runbridge's own keyword names.

``connect(**settings)`` and ``create(**options)`` / ``retry(**options)`` share one
keyword space with runbridge's parameters: a setting named ``token`` or an option named
``inputs`` would be silently taken for runbridge's own. Registration refuses such a
plugin, naming it and the name.
"""

from __future__ import annotations

import inspect
from typing import Any

import attrs
import pytest

import runbridge
from runbridge import PluginError, RunClient
from runbridge._plugins._checks import RESERVED
from runbridge.adapter import Option, Options, Registry, hookimpl
from runbridge_kognitos import KognitosAdapter


def _keywords(function: Any, *, skip: tuple[str, ...] = ("self",)) -> frozenset[str]:
    parameters = inspect.signature(function).parameters.values()
    return frozenset(
        p.name for p in parameters if p.kind is not p.VAR_KEYWORD and p.name not in skip
    )


def test_the_reserved_names_are_the_signatures_keywords() -> None:
    assert _keywords(runbridge.connect) == RESERVED["connect"]
    assert _keywords(RunClient.create) == RESERVED["create"]
    assert _keywords(RunClient.retry) == RESERVED["retry"]


def _register(adapter: type) -> Registry:
    class Plugin:
        @hookimpl
        def runbridge_register_adapters(self, register: Any) -> None:
            register(adapter)

    registry = Registry(entry_points=False)
    registry.register_plugin(Plugin(), name="clashing")
    return registry


@attrs.define
class TokenSettings:
    token: str = ""


@pytest.mark.parametrize(
    ("members", "kind", "name"),
    [
        ({"settings_type": TokenSettings}, "setting", "token"),
        ({"create_options": Options({"inputs": Option(dict, "x")})}, "create option", "inputs"),
        ({"create_options": Options({"run": Option(str, "x")})}, "create option", "run"),
        ({"retry_options": Options({"run": Option(str, "x")})}, "retry option", "run"),
    ],
)
def test_a_setting_or_option_named_like_a_runbridge_keyword_is_refused(
    members: dict[str, Any], kind: str, name: str
) -> None:
    clashing = type("ClashingAdapter", (KognitosAdapter,), {"name": "clashing", **members})
    with pytest.raises(PluginError) as caught:
        _register(clashing).providers()
    message = str(caught.value)
    assert "'clashing'" in message and f"{kind} named {name!r}" in message
    assert caught.value.plugin == "clashing"


def test_every_built_in_adapter_passes() -> None:
    assert {p.name for p in runbridge.providers() if p.builtin} >= {
        "cyberdesk",
        "kognitos",
        "kognitos-api",
        "runflow",
    }
