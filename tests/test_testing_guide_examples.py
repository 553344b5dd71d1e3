"""Every example of docs/testing.md runs as written.

The guide's blocks are written into an empty directory exactly as they stand: the
block after ``<!-- file: NAME -->`` as that file (its ``pyproject.toml`` and the
application's ``app.py``), every other Python block as a test module of its own.
One pytest process runs them, with warnings as errors and only the built-in
providers; each block must have run at least one test, and every test must pass
(none skipped). A block meant as a fragment says so with ``<!-- fragment -->``.
The provider table is checked against what the adapters declare, and the testing
helpers the guide introduces are tested here where the guide does not reach.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import attrs
import pytest

import runbridge
from runbridge import Support, UnsupportedOperation
from runbridge.testing import emulated_events, emulated_fanout, emulated_providers, load_emulator

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "testing.md"

_FENCE = re.compile(
    r"(?:^<!-- (?P<mark>[^>]*?) -->\n)?^```(?P<lang>\w*)\n(?P<code>.*?)^```$", re.S | re.M
)


@attrs.frozen
class Block:
    """A fenced block of the guide: where it starts, its language, its mark, its code."""

    line: int
    lang: str
    mark: str | None
    code: str

    @property
    def file(self) -> str | None:
        """The file name the block is written as, if it is one."""
        if self.mark is not None and self.mark.startswith("file: "):
            return self.mark.removeprefix("file: ")
        if self.lang == "python" and self.mark is None:
            return f"test_guide_line_{self.line:04d}.py"
        return None


def _blocks() -> list[Block]:
    text = GUIDE.read_text(encoding="utf-8")
    return [
        Block(text.count("\n", 0, m.start("code")), m["lang"], m["mark"], m["code"])
        for m in _FENCE.finditer(text)
    ]


BLOCKS = _blocks()
EXAMPLES = [b for b in BLOCKS if b.file is not None and b.file.startswith("test_")]


def test_the_guide_has_its_setup_its_application_and_its_examples() -> None:
    files = {b.file for b in BLOCKS if b.file is not None}
    assert {"pyproject.toml", "app.py"} <= files
    assert len(EXAMPLES) >= 10
    python = [b for b in BLOCKS if b.lang == "python"]
    assert len(python) == len(EXAMPLES) + 1 + sum(b.mark == "fragment" for b in python)


def test_marks_are_known_and_fragments_rare() -> None:
    marks = [b.mark for b in BLOCKS if b.mark is not None]
    assert all(m == "fragment" or m.startswith("file: ") for m in marks), marks
    assert marks.count("fragment") <= 2  # an example that cannot run needs a good reason


@attrs.frozen
class Result:
    """One test of a guide block, as the pytest run reported it."""

    name: str
    outcome: str
    message: str


@attrs.frozen
class Run:
    returncode: int
    output: str
    results: dict[str, list[Result]]


def _pytest(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["RUNBRIDGE_PLUGINS"] = ""  # the built-in providers only, as a fresh install has
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("PYTHONPATH", None)  # nothing of runbridge's own tests
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-W", "error", *args],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def guide_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The guide's blocks written out and run by one pytest process."""
    directory = tmp_path_factory.mktemp("guide")
    for block in BLOCKS:
        if block.file is not None:
            (directory / block.file).write_text(block.code, encoding="utf-8")
    report = directory / "report.xml"
    done = _pytest(directory, f"--junitxml={report}", "-q")
    results: dict[str, list[Result]] = {}
    if report.exists():
        for case in ElementTree.parse(report).iter("testcase"):
            module = case.get("classname", "").split(".")[0] + ".py"
            outcome, message = "passed", ""
            for kind in ("failure", "error", "skipped"):
                found = case.find(kind)
                if found is not None:
                    outcome, message = kind, f"{found.get('message', '')}\n{found.text or ''}"
                    break
            results.setdefault(module, []).append(Result(case.get("name", ""), outcome, message))
    return Run(done.returncode, done.stdout + done.stderr, results)


@pytest.mark.parametrize("block", EXAMPLES, ids=lambda b: f"line{b.line}")
def test_the_example_runs_as_written(guide_run: Run, block: Block) -> None:
    assert block.file is not None
    results = guide_run.results.get(block.file)
    assert results, f"the example at docs/testing.md:{block.line} ran no test\n{guide_run.output}"
    wrong = [r for r in results if r.outcome != "passed"]
    assert not wrong, "\n".join(f"{r.name}: {r.outcome}\n{r.message}" for r in wrong)


def test_the_guide_runs_without_a_warning(guide_run: Run) -> None:
    assert guide_run.returncode == 0, guide_run.output
    assert "warning" not in guide_run.output.lower(), guide_run.output


def test_without_the_guides_settings_pytest_asyncio_warns(tmp_path: Path) -> None:
    # The reason the setup block has two lines: drop the loop scope and a warning is back.
    [setup] = [b for b in BLOCKS if b.file == "pyproject.toml"]
    assert 'asyncio_default_fixture_loop_scope = "function"' in setup.code
    without = setup.code.replace('asyncio_default_fixture_loop_scope = "function"\n', "")
    (tmp_path / "pyproject.toml").write_text(without, encoding="utf-8")
    (tmp_path / "test_nothing.py").write_text("async def test_nothing() -> None:\n    pass\n")
    done = _pytest(tmp_path, "-q")
    assert done.returncode != 0
    assert "asyncio_default_fixture_loop_scope" in done.stdout + done.stderr


# -- the provider table -----------------------------------------------------------------


def _table() -> dict[str, dict[str, str]]:
    """The guide's provider table: row label -> provider -> cell."""
    text = GUIDE.read_text(encoding="utf-8")
    section = text.split("## Where providers differ", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    providers = [re.match(r"`([a-z-]+)`", cell)[1] for cell in header[1:]]  # type: ignore[index]
    table: dict[str, dict[str, str]] = {}
    for row in rows[2:]:
        label, *cells = (cell.strip() for cell in row.strip("|").split("|"))
        table[label] = dict(zip(providers, cells, strict=True))
    return table


def test_the_provider_table_covers_the_built_in_providers() -> None:
    for label, cells in _table().items():
        assert sorted(cells) == sorted(emulated_providers(builtin=True)), label


@pytest.mark.parametrize("provider", emulated_providers(builtin=True))
def test_the_provider_table_says_what_the_adapter_declares(provider: str) -> None:
    table = _table()
    [info] = [p for p in runbridge.providers() if p.name == provider]
    capabilities = info.capabilities

    def says(row: str, claim: bool, *, part: int = 0) -> None:
        cell = table[row][provider].split(" / ")[part]
        assert cell.startswith("yes" if claim else "no"), f"{row} on {provider}: {cell!r}"

    def supported(operation: str) -> bool:
        return capabilities.support(operation) is not Support.UNSUPPORTED

    says("`cancel`", supported("cancel"))
    if "admin" in table["`cancel`"][provider]:
        assert "admin" in capabilities.notes["cancel"]
    says("`pause` / `resume`", supported("pause") and supported("resume"))
    says("run events", capabilities.events)
    says("`Run.inputs` reported", "inputs" in capabilities.reports)
    says("sensitive inputs (`secrets=`)", capabilities.secrets)
    says("`update` / `delete`", supported("update"), part=0)
    says("`update` / `delete`", supported("delete"), part=1)
    in_place = table["`retry`"][provider].startswith("in place")
    assert in_place == ("in place" in capabilities.notes.get("retry", "")), provider
    needs_target = "needs `target`" in table["`list`"][provider]
    assert needs_target == ("needs target" in capabilities.notes.get("list", "")), provider
    oldest_first = "oldest first" in table["`list`"][provider]
    assert oldest_first == (not capabilities.newest_first), provider


# -- the helpers, where the guide does not reach --------------------------------------------


async def test_a_fanout_refuses_emulators_of_providers_it_leaves_out() -> None:
    with pytest.raises(ValueError, match="'runflow'"):
        async with emulated_fanout("cyberdesk", emulators={"runflow": load_emulator("runflow")}):
            pass


async def test_a_fanout_member_per_provider_each_on_its_own_emulator() -> None:
    async with emulated_fanout("kognitos-api", "runflow", target="t") as (fan, emulators):
        assert fan.members == ["kognitos-api", "runflow"]
        assert list(emulators) == fan.members
        outcomes = await fan.create("t", inputs={"n": 1})
        for outcome in outcomes:
            [created] = emulators[outcome.provider].created
            assert outcome.run is not None and created.id == outcome.run.id
            assert fan.clients[outcome.member].base_url != ""
        refused = await fan.create("other")  # each profile knows the one alias only
        assert all(isinstance(o.error, runbridge.ConfigError) for o in refused)


async def test_events_are_refused_for_a_provider_that_pushes_none() -> None:
    with pytest.raises(UnsupportedOperation, match="kognitos does not push run events"):
        async with emulated_events("kognitos"):
            pass


async def test_an_event_for_every_run_that_ends() -> None:
    async with emulated_events("runflow") as events:
        runs = [
            await events.client.create(events.emulator.default_target, **events.create_options)
            for _ in range(3)
        ]
        events.emulator.advance(60)
        heard = {(await events.next_event()).run.ref for _ in runs}
        assert heard == {run.ref for run in runs}
        with pytest.raises(TimeoutError):
            await events.next_event(timeout=0.2)  # nothing else ended
