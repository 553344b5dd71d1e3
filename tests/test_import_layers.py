"""Every module of the core sits in a layer of the import contract.

The layers contract in ``.importlinter`` checks only the modules it names: a new module
left out of it could import anything, in any direction. So every module and package
directly under ``runbridge`` is in a layer, except the package's own ``__init__`` and
``__main__`` and the public facades that only re-export a layer's names.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import runbridge

ROOT = Path(__file__).resolve().parent.parent
FACADES = frozenset({"__init__", "__main__", "adapter", "journal"})
"""Modules outside the layers: the package itself, ``python -m runbridge``, and the
public re-exports of the adapter kit and the journal."""


def _layered() -> set[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter", encoding="utf-8")
    layers = config["importlinter:contract:core-layers"]["layers"]
    return set(re.findall(r"runbridge\.([A-Za-z_][A-Za-z0-9_]*)", layers))


def _modules() -> set[str]:
    package = Path(runbridge.__file__).parent
    found = {p.stem for p in package.glob("*.py")}
    found |= {p.name for p in package.iterdir() if (p / "__init__.py").is_file()}
    return found - FACADES


def test_every_core_module_is_in_a_layer() -> None:
    missing = sorted(_modules() - _layered())
    assert not missing, f"add to a layer of .importlinter's core-layers: {missing}"


def test_the_layers_name_no_module_that_is_gone() -> None:
    assert not sorted(_layered() - _modules())
