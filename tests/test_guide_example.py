"""The authoring guide's plugin (docs/examples/acme) works, and the guide still quotes it.

The example's own tests, which subclass the conformance kit, run in a separate
pytest process with the plugin registered as its entry point would register it
(so nothing of it stays registered in this process). The guide's runnable
example runs too, and every piece of code the guide quotes from the example
(``<!-- quote: path -->`` above a fence) must still be in that file.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import runbridge

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "adapter-authoring.md"
EXAMPLE = ROOT / "docs" / "examples" / "acme"

REGISTER = """\
import runbridge_acme
from runbridge.adapter import register_plugin

register_plugin(runbridge_acme, name="acme")  # as its entry point would, once installed
"""

_FENCED = re.compile(r"<!-- (quote: (?P<path>\S+)|run) -->\n```\w*\n(?P<code>.*?)^```", re.S | re.M)


def _blocks(kind: str) -> list[tuple[str | None, str]]:
    found = [
        (match["path"], match["code"])
        for match in _FENCED.finditer(GUIDE.read_text(encoding="utf-8"))
        if (match["path"] is not None) == (kind == "quote")
    ]
    assert found, f"the guide has no {kind} blocks"
    return found


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    # The example first, ahead of any installed package of the same name; no plugin
    # from the environment, so an installed "acme" cannot clash with this one.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(EXAMPLE), env.get("PYTHONPATH")]))
    env["RUNBRIDGE_PLUGINS"] = ""
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # leave docs/examples as it is
    return env


def test_the_guide_quotes_the_example_verbatim() -> None:
    quoted = set()
    for path, code in _blocks("quote"):
        assert path is not None
        source = (EXAMPLE / path).read_text(encoding="utf-8")
        assert code in source, f"the guide's quote of {path} is no longer in it:\n{code}"
        quoted.add(path)
    files = {
        "pyproject.toml",
        "runbridge_acme/__init__.py",
        "runbridge_acme/_adapter.py",
        "runbridge_acme/emulator/_server.py",
        "tests/test_acme.py",
    }
    assert quoted == files


def test_the_example_passes_the_conformance_kit(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(acme_registration=REGISTER)
    for name, value in _environment().items():
        monkeypatch.setenv(name, value)
    result = pytester.runpytest_subprocess(
        "-p",
        "acme_registration",
        "-p",
        "no:cacheprovider",
        "-c",
        str(EXAMPLE / "pyproject.toml"),
        "--rootdir",
        str(EXAMPLE),
        str(EXAMPLE / "tests"),
        timeout=300,
    )
    outcomes = result.parseoutcomes()
    assert result.ret == 0, result.stdout.str()
    assert outcomes.get("failed", 0) == outcomes.get("errors", 0) == 0
    # The kit ran: Acme supports most of it (update and delete are the skips).
    result.stdout.no_fnmatch_line("*no tests ran*")
    assert outcomes["passed"] >= 30


def test_the_guides_runnable_example_runs() -> None:
    for _, code in _blocks("run"):
        done = subprocess.run(
            [sys.executable, "-c", REGISTER + code],
            env=_environment(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert re.match(r"acme:\d+ succeeded \{'echo': \{'width': 640\}\}", done.stdout)


def test_the_example_is_packaged_as_the_guide_says() -> None:
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["entry-points"]["runbridge.adapters"] == {"acme": "runbridge_acme"}
    assert any(dep.startswith("runbridge") for dep in project["project"]["dependencies"])
    assert (EXAMPLE / "runbridge_acme" / "py.typed").exists()
    init = ast.parse((EXAMPLE / "runbridge_acme" / "__init__.py").read_text(encoding="utf-8"))
    functions = [node.name for node in init.body if isinstance(node, ast.FunctionDef)]
    assert functions == ["runbridge_register_adapters"]


def test_the_example_emulator_keeps_the_emulator_contract() -> None:
    bad = []
    for path in sorted((EXAMPLE / "runbridge_acme" / "emulator").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [(alias.name, 0) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [(node.module or "", node.level)]
            else:
                continue
            for module, level in modules:
                top = module.split(".")[0]
                allowed = (
                    level == 1
                    or (level == 0 and top in sys.stdlib_module_names)
                    or (level == 0 and top == "aiohttp")
                    or (level == 0 and (module + ".").startswith("runbridge.emulation."))
                )
                if not allowed:
                    bad.append(f"{path.name}:{node.lineno}: {'.' * level}{module}")
    assert not bad, bad


def _upgrading() -> str:
    text = GUIDE.read_text(encoding="utf-8")
    return text.split("## 10. Upgrading a plugin", 1)[1].split("\n## ", 1)[0]


def test_the_upgrade_snippets_are_python() -> None:
    snippets = re.findall(r"^```python\n(.*?)^```", _upgrading(), re.S | re.M)
    assert len(snippets) >= 8
    for snippet in snippets:
        compile(snippet, "docs/adapter-authoring.md (Upgrading a plugin)", "exec")


def test_the_upgrade_section_names_every_moved_name() -> None:
    section = _upgrading()
    moved = runbridge._MOVED  # what warns from runbridge; the upgrade notes must name each
    assert moved
    missing = [name for name in moved if f"`{name}`" not in section and f".{name}`" not in section]
    assert missing == []
