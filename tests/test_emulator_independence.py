"""Emulators are witnesses: they never import the adapter they check, nor it them.

An emulator may import only ``runbridge.emulation``, aiohttp and the standard
library, and modules of its own ``emulator`` package. Every constant it needs is
restated from the provider's documentation, so an adapter's mistake is not
mirrored by its own test double.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import runbridge

ALLOWED_EXTERNAL = frozenset({"aiohttp"})


def _package_dir(provider: str) -> Path:
    info = next(p for p in runbridge.providers() if p.name == provider)
    module = sys.modules[info.adapter.__module__]
    assert module.__file__ is not None
    return Path(module.__file__).parent


def _imports(path: Path) -> list[tuple[int, str, int]]:
    """``(line, module, level)`` of every import in a file, ``TYPE_CHECKING`` ones too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name, 0) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.append((node.lineno, node.module or "", node.level))
    return found


def _allowed_in_emulator(module: str, level: int) -> bool:
    if level == 1:
        return True  # a sibling inside the emulator package
    if level > 1:
        return False  # reaches up into the plugin: the adapter's modules
    top = module.split(".")[0]
    if top in sys.stdlib_module_names or top in ALLOWED_EXTERNAL:
        return True
    return module == "runbridge.emulation" or module.startswith("runbridge.emulation.")


def test_emulator_imports_only_emulation_aiohttp_and_the_standard_library(provider: str) -> None:
    emulator_dir = _package_dir(provider) / "emulator"
    files = sorted(emulator_dir.rglob("*.py"))
    assert files, f"{provider}: the emulator must live in its own emulator/ package"
    bad = [
        f"{path.relative_to(emulator_dir.parent.parent)}:{line}: {'.' * level}{module}"
        for path in files
        for line, module, level in _imports(path)
        if not _allowed_in_emulator(module, level)
    ]
    assert not bad, "emulator imports outside runbridge.emulation/aiohttp/stdlib:\n" + "\n".join(
        bad
    )


def test_adapter_never_imports_its_emulator(provider: str) -> None:
    package = _package_dir(provider)
    bad = []
    for path in sorted(package.glob("*.py")):
        for line, module, level in _imports(path):
            names_emulator = module.split(".")[0] == "emulator" and level == 1
            if names_emulator or module.startswith(("runbridge.emulation", f"{package.name}.emu")):
                bad.append(f"{path.name}:{line}: {'.' * level}{module}")
    assert not bad, "adapter modules import emulator code:\n" + "\n".join(bad)


def test_plugin_init_holds_only_registration(provider: str) -> None:
    init = _package_dir(provider) / "__init__.py"
    tree = ast.parse(init.read_text(encoding="utf-8"))
    functions = [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    assert functions == ["runbridge_register_adapters"]


def test_the_rule_catches_an_adapter_import(tmp_path: Path) -> None:
    # The check itself must be able to fail.
    sample = tmp_path / "emu.py"
    sample.write_text("from .._adapter import STATUSES\nimport orjson\nfrom aiohttp import web\n")
    verdicts = [_allowed_in_emulator(module, level) for _, module, level in _imports(sample)]
    assert verdicts == [False, False, True]
