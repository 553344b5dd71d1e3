"""Which members of ``Adapter`` a plugin must provide, as the type, the registry and the
guide all say: the three agree, and registration refuses what is missing."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path
from typing import Any

import pytest

from runbridge import Pagination, PluginError
from runbridge._plugins import _adapter
from runbridge._plugins._adapter import OPERATION_METHODS, REQUIRED, TO_READ_RUNS
from runbridge.adapter import OPERATIONS, UUID_FORMAT, Adapter, Capabilities, Registry, hookimpl

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "adapter-authoring.md"
OPERATION_NAMES = {m for op in OPERATIONS for m in OPERATION_METHODS.get(op, (op,))}


def _docstrings() -> dict[str, str]:
    """Each member of ``Adapter`` with its docstring (attribute docstrings included)."""
    tree = ast.parse(inspect.getsource(_adapter))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Adapter")
    found: dict[str, str] = {}
    for before, node in zip(cls.body, cls.body[1:], strict=False):
        if isinstance(before, ast.AnnAssign | ast.Assign) and isinstance(node, ast.Expr):
            target = before.target if isinstance(before, ast.AnnAssign) else before.targets[0]
            assert isinstance(target, ast.Name) and isinstance(node.value, ast.Constant)
            found[target.id] = str(node.value.value)
    for node in cls.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found[node.name] = ast.get_docstring(node) or ""
    return found


def test_required_members_say_so_and_have_no_default() -> None:
    docs = _docstrings()
    for name in [n for n, _ in REQUIRED] + ["statuses", "wire_run"]:
        assert docs[name].startswith("Required"), name
        assert not hasattr(Adapter, name), f"{name} has a default, yet is required"
    assert docs["run_from"].startswith("Required to read runs")


def test_every_other_member_is_optional_with_a_default() -> None:
    required = {n for n, _ in REQUIRED} | set(TO_READ_RUNS) | OPERATION_NAMES
    for name, doc in _docstrings().items():
        if name.startswith("_") or name in required:
            continue
        assert hasattr(Adapter, name), f"{name} is optional but has no default"
        assert not doc.startswith("Required"), name


def test_the_guide_lists_exactly_the_required_members() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    table = text.split("### What an adapter must provide", 1)[1].split("###", 1)[0]
    listed = set(re.findall(r"^\| ([^|]+) \|", table, flags=re.M)) - {"member", "---"}
    named = {n for cell in listed for n in re.findall(r"`(\w+)`", cell)}
    assert named == {n for n, _ in REQUIRED} | set(TO_READ_RUNS) | OPERATION_NAMES


def _register(adapter: type) -> Registry:
    class Plugin:
        @hookimpl
        def runbridge_register_adapters(self, register: Any) -> None:
            register(adapter)

    registry = Registry(entry_points=False)
    registry.register_plugin(Plugin(), name="partial")
    return registry


async def _get(self: Adapter, call: object, run_id: str) -> None:
    raise NotImplementedError


DECLARED: dict[str, Any] = {
    "name": "partial",
    "id_format": UUID_FORMAT,
    "capabilities": Capabilities.of(native={"get"}, pagination=Pagination.CURSOR, max_page_size=10),
    "default_base_url": "https://partial.invalid",
}


def test_an_adapter_with_what_is_required_registers() -> None:
    adapter = type("PartialAdapter", (Adapter,), {**DECLARED, "get": _get})
    assert [p.name for p in _register(adapter).providers() if p.name == "partial"]


@pytest.mark.parametrize("missing", [n for n, _ in REQUIRED])
def test_registration_refuses_an_adapter_without_a_required_declaration(missing: str) -> None:
    members = {k: v for k, v in DECLARED.items() if k != missing}
    adapter = type("PartialAdapter", (Adapter,), {**members, "get": _get})
    with pytest.raises(PluginError, match=rf"must declare {missing} "):
        _register(adapter).providers()


def test_registration_refuses_a_native_operation_left_unimplemented() -> None:
    adapter = type("PartialAdapter", (Adapter,), DECLARED)
    with pytest.raises(PluginError, match=r"declares get native but does not implement it"):
        _register(adapter).providers()
