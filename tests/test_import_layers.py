"""Every module of the core sits in a layer of the import contract.

The layers contracts in ``.importlinter`` check only the modules they name: a module left
out of them could import anything, in any direction. So every module and package directly
under ``runbridge`` is in a layer of the wings contract (except the package's own
``__init__`` and ``__main__`` and the public facades that only re-export), and every
module inside a private wing is in a layer of that wing's own contract.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest

import runbridge

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(runbridge.__file__).parent
FACADES = frozenset({"__init__", "__main__", "adapter", "journal"})
"""Modules outside the layers: the package itself, ``python -m runbridge``, and the
public re-exports of the adapter kit and the journal."""
WINGS = ("_model", "_wire", "_journal", "_plugins", "_creates", "_client", "_sync")


def _contracts() -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter", encoding="utf-8")
    return config


def _modules(package: Path) -> set[str]:
    found = {p.stem for p in package.glob("*.py")}
    found |= {p.name for p in package.iterdir() if (p / "__init__.py").is_file()}
    return found


def _layered() -> set[str]:
    layers = _contracts()["importlinter:contract:core-layers"]["layers"]
    return set(re.findall(r"runbridge\.([A-Za-z_][A-Za-z0-9_]*)", layers))


def test_every_core_module_is_in_a_layer() -> None:
    missing = sorted(_modules(PACKAGE) - FACADES - _layered())
    assert not missing, f"add to a layer of .importlinter's core-layers: {missing}"


def test_the_layers_name_no_module_that_is_gone() -> None:
    assert not sorted(_layered() - _modules(PACKAGE))


def test_the_core_is_its_wings_and_public_modules() -> None:
    # A private module directly under runbridge belongs in a wing.
    loose = sorted(m for m in _modules(PACKAGE) - FACADES if m.startswith("_"))
    assert loose == sorted(WINGS)


@pytest.mark.parametrize("wing", WINGS)
def test_every_module_of_a_wing_is_in_its_contract(wing: str) -> None:
    contract = _contracts()[f"importlinter:contract:wing-{wing.strip('_')}"]
    assert contract["containers"].strip() == f"runbridge.{wing}"
    layered = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", contract["layers"]))
    modules = _modules(PACKAGE / wing) - {"__init__"}
    assert modules == layered, f"{wing}: not in its contract {sorted(modules - layered)}"
