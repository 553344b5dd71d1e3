"""The ``runbridge`` command, run through its installed entry point against the emulators.

Each test serves ManualClock emulators from its own event loop and runs the
console script as a subprocess with a ``runbridge.toml`` of its own; time moves
only when the test advances the emulator clocks between (or during) commands.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import sys
import tomllib
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import pytest

import runbridge
from runbridge import RunClient, RunStatus
from runbridge.cli.hints import in_flags
from runbridge.emulation import Emulator
from runbridge.testing import load_emulator
from support import PROVIDERS

RUN_KEYS = {
    "ref", "provider", "id", "status", "native_status", "target", "name", "inputs", "outputs",
    "failure", "created_at", "started_at", "finished_at", "duration", "cost", "progress", "hold",
}  # fmt: skip

_BIN = shutil.which("runbridge", path=os.path.dirname(sys.executable))
COMMAND = [_BIN] if _BIN else [sys.executable, "-m", "runbridge"]

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@attrs.frozen
class Result:
    code: int
    stdout: str
    stderr: str

    def lines(self) -> list[dict[str, Any]]:
        """Every stdout line as JSON: fails if any line is not."""
        return [json.loads(line) for line in self.stdout.splitlines()]

    def one(self) -> dict[str, Any]:
        (only,) = self.lines()
        return only

    @property
    def error(self) -> str:
        """The single error line on stderr."""
        errors = [line for line in self.stderr.splitlines() if line.startswith("runbridge:")]
        assert len(errors) == 1, self.stderr
        assert "Traceback" not in self.stderr
        return errors[0]


@attrs.define
class World:
    """Three emulators behind one configuration file, and a way to run the CLI there."""

    path: Path
    env: dict[str, str]
    emulators: dict[str, Emulator]
    urls: dict[str, str]

    async def cli(self, *args: str, env: Mapping[str, str] | None = None) -> Result:
        proc = await self.start(*args, env=env)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode is not None
        return Result(proc.returncode, out.decode(), err.decode())

    async def start(
        self, *args: str, env: Mapping[str, str] | None = None
    ) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            *COMMAND,
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**self.env, **(env or {})},
            cwd=self.path.parent,
        )

    @asynccontextmanager
    async def client(self, provider: str) -> AsyncIterator[RunClient]:
        profile = runbridge.load_config(self.path).profile(provider)
        async with runbridge.connect(profile=profile, environ=self.env) as client:
            yield client

    def advance(self, seconds: float) -> None:
        for emulator in self.emulators.values():
            emulator.advance(seconds)


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNBRIDGE_")}
    # Only the built-in plugins: the commands here see the same providers whatever else
    # is installed beside runbridge (a test of plugins sets its own list).
    env["RUNBRIDGE_PLUGINS"] = ""
    return env


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    emulators = {p: load_emulator(p) for p in PROVIDERS}
    env = base_env()
    lines = ['default_profile = "cyberdesk"']
    async with AsyncExitStack() as stack:
        urls = {p: await stack.enter_async_context(e.serve()) for p, e in emulators.items()}
        for provider, emulator in emulators.items():
            token_env = f"{provider.upper()}_TEST_TOKEN"
            env[token_env] = emulator.token
            lines += [
                f"[profiles.{provider}]",
                f'provider = "{provider}"',
                f'token_env = "{token_env}"',
                f'base_url = "{urls[provider]}"',
                f"[profiles.{provider}.targets]",
                f'invoice = "{emulator.default_target}"',
            ]
            for key, value in emulator.client_settings().items():
                env[f"{provider.upper()}_{key.upper()}"] = value
                lines += [
                    f"[profiles.{provider}.settings]",
                    f'{key}_env = "{provider.upper()}_{key.upper()}"',
                ]
        path = tmp_path / "runbridge.toml"
        path.write_text("\n".join(lines) + "\n")
        env["RUNBRIDGE_CONFIG"] = str(path)
        yield World(path, env, emulators, urls)


def reports(provider: str, field: str) -> bool:
    """Whether the provider's run objects carry ``field`` (its capabilities say)."""
    (info,) = [p for p in runbridge.providers() if p.name == provider]
    return field in info.capabilities.reports


def inputs_of(world: World, provider: str, run: Mapping[str, Any]) -> Any:
    """A run's inputs: as reported, or, where the provider does not report them, as the
    emulator received them (Kognitos keeps ``[{name, value}]``)."""
    if reports(provider, "inputs"):
        return run["inputs"]
    assert run["inputs"] == {}
    stored = world.emulators[provider].runs[run["id"]].inputs
    return {item["name"]: item["value"] for item in stored}


def table_rows(text: str, first: str) -> list[list[str]]:
    """Whitespace-split rows of a table whose lines start with ``first``."""
    return [line.split() for line in text.splitlines() if line.split()[:1] == [first]]


# -- providers ----------------------------------------------------------------------------


async def test_providers_prints_the_capability_matrix(world: World) -> None:
    table, lines = await asyncio.gather(world.cli("providers"), world.cli("providers", "--json"))
    assert (table.code, lines.code) == (0, 0)
    by_name = {line["provider"]: line for line in lines.lines()}
    assert set(PROVIDERS) <= set(by_name)
    assert by_name["kognitos"]["operations"]["cancel"] == "unsupported"
    assert by_name["kognitos"]["operations"]["retry"] == "emulated"
    cyberdesk = dict(by_name["cyberdesk"]["operations"])
    assert {cyberdesk.pop("pause"), cyberdesk.pop("resume")} == {"unsupported"}
    assert set(cyberdesk.values()) == {"native"}
    assert by_name["runflow"]["pagination"] == "cursor"
    header = table.stdout.splitlines()[0].split()
    assert header == ["provider", "plugin", "pagination", *runbridge.OPERATIONS]
    for provider in PROVIDERS:
        (row,) = table_rows(table.stdout, provider)
        ops, notes = by_name[provider]["operations"], by_name[provider]["notes"]
        shown = {"native": "native", "emulated": "emulated", "unsupported": "—"}
        assert row[3:] == [
            shown[ops[op]] + ("*" if op in notes and ops[op] != "unsupported" else "")
            for op in runbridge.OPERATIONS
        ]
        for op, note in notes.items():
            said = note.replace("target='", "--target '")  # in the command line's words
            assert f"* {provider} {op}: {said[:30]}" in " ".join(table.stdout.split())
    assert "retry" in by_name["kognitos"]["notes"]
    assert "target='" in by_name["kognitos"]["notes"]["list"]  # JSON keeps the library's
    assert "needs --target '<agent_id>/<process_id>[@Draft]'" in table.stdout
    assert "target='" not in table.stdout


# -- plugins ------------------------------------------------------------------------------

PLUGIN_SOURCE = """
from runbridge.adapter import UUID_FORMAT, Adapter, Capabilities, Pagination, hookimpl

class TestCliAdapter(Adapter):
    name = "testcli"
    id_format = UUID_FORMAT
    default_base_url = "https://testcli.invalid"
    emulator = {emulator!r}
    capabilities = Capabilities.of(native={{"get"}}, pagination=Pagination.CURSOR, max_page_size=9)

    async def get(self, call, run_id):
        raise NotImplementedError

@hookimpl
def runbridge_register_adapters(register):
    register(TestCliAdapter)
"""


def install_cli_plugin(root: Path, emulator: str | None = None) -> dict[str, str]:
    """``runbridge-tests-cli`` 2.5, entry point ``tests-cli`` (module ``tests_cli_plugin``),
    provider ``testcli``; the environment that makes it visible to the command."""
    info = root / "runbridge_tests_cli-2.5.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: runbridge-tests-cli\nVersion: 2.5\n"
    )
    (info / "entry_points.txt").write_text("[runbridge.adapters]\ntests-cli = tests_cli_plugin\n")
    (root / "tests_cli_plugin.py").write_text(PLUGIN_SOURCE.format(emulator=emulator))
    path = os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH")) if p)
    return {"PYTHONPATH": path, "RUNBRIDGE_PLUGINS": "tests-cli"}


async def test_plugins_lists_each_plugin_and_where_it_came_from(
    world: World, tmp_path: Path
) -> None:
    env = install_cli_plugin(tmp_path)
    table, lines, builtins = await asyncio.gather(
        world.cli("plugins", env=env), world.cli("plugins", "--json", env=env), world.cli("plugins")
    )
    assert (table.code, lines.code, builtins.code) == (0, 0, 0), table.stderr + lines.stderr
    by_name = {line["plugin"]: line for line in lines.lines()}
    assert set(by_name) == {*PROVIDERS, "tests-cli"}
    assert by_name["tests-cli"] == {
        "plugin": "tests-cli",
        "distribution": "runbridge-tests-cli",
        "version": "2.5",
        "providers": ["testcli"],
        "entry_point": "tests_cli_plugin",
        "builtin": False,
    }
    assert by_name["runflow"]["distribution"] == "runbridge"
    assert by_name["runflow"]["entry_point"] == "runbridge_runflow"
    assert table.stdout.splitlines()[0].split() == [
        "plugin", "distribution", "version", "providers", "entry", "point",
    ]  # fmt: skip
    assert table_rows(table.stdout, "tests-cli") == [
        ["tests-cli", "runbridge-tests-cli", "2.5", "testcli", "tests_cli_plugin"]
    ]
    assert {line.split()[0] for line in builtins.stdout.splitlines()[2:]} == set(PROVIDERS)


async def test_a_provider_the_allow_list_leaves_out_says_how_to_include_it(
    world: World, tmp_path: Path
) -> None:
    env = {**install_cli_plugin(tmp_path), "RUNBRIDGE_PLUGINS": "runflow"}
    result = await world.cli("--provider", "testcli", "get", "x", env=env)
    assert result.code == 2
    assert result.error == (
        "runbridge: error: testcli: provider 'testcli' comes from plugin 'tests-cli' "
        "(distribution runbridge-tests-cli 2.5), which RUNBRIDGE_PLUGINS leaves out; "
        "add 'tests-cli' to it [field 'provider']"
    )
    by_provider = await world.cli("plugins", "--json", env={**env, "RUNBRIDGE_PLUGINS": "testcli"})
    assert "tests-cli" in {line["plugin"] for line in by_provider.lines()}


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("tests_cli_nowhere.emulator:AcmeEmulator", "ModuleNotFoundError: No module named"),
        ("tests_cli_plugin:NoSuchEmulator", "AttributeError"),
        ("tests_cli_plugin:TestCliAdapter", "TypeError"),
    ],
)
async def test_emulate_with_a_bad_emulator_path_prints_one_line(
    world: World, tmp_path: Path, path: str, reason: str
) -> None:
    env = install_cli_plugin(tmp_path, emulator=path)
    result = await world.cli("emulate", "testcli", "--port", "0", env=env)
    assert result.code == 2 and result.stdout == ""
    assert result.error.startswith(
        f"runbridge: error: provider 'testcli': its emulator '{path}' cannot be loaded: {reason}"
    )
    assert result.stderr.strip() == result.error


# -- create, get, list, retry --------------------------------------------------------------


async def test_create_wait_get_list_and_retry(world: World, provider: str) -> None:
    emulator = world.emulators[provider]
    emulator.plan_next(queued=0, running=0, outputs={"total": 42})
    created = await world.cli(
        "--profile", provider, "--json", "create", "invoice",
        "--input", "invoice=INV-1", "-i", "amount=12.5", "-i", "code=007", "--wait",
    )  # fmt: skip
    assert created.code == 0, created.stderr
    run = created.one()
    assert set(run) == RUN_KEYS
    assert run["provider"] == provider and run["ref"] == f"{provider}:{run['id']}"
    assert run["status"] == "succeeded" and run["outputs"] == {"total": 42}
    sent = {"invoice": "INV-1", "amount": 12.5, "code": "007"}
    assert inputs_of(world, provider, run) == sent
    assert run["target"] == emulator.default_target
    assert run["failure"] is None
    if reports(provider, "finished_at"):
        assert run["finished_at"].endswith("Z")

    async with world.client(provider) as client:
        newer = []
        for n in range(3):
            world.advance(1)
            newer.append(await client.create("invoice", inputs={"n": n}))
    listing = ("--profile", provider, "list", "--target", "invoice")
    shown, limited, paged, succeeded = await asyncio.gather(
        world.cli("get", run["ref"], "--profile", provider),  # options after the command too
        world.cli(*listing, "--limit", "2", "--json"),
        world.cli(*listing, "--page-size", "2"),  # a table, streamed two rows a page
        world.cli(*listing, "--status", "succeeded", "--status", "failed", "--json"),
    )
    assert shown.code == 0, shown.stderr
    rows = [line.split(maxsplit=1) for line in shown.stdout.splitlines()]
    assert ["ref", run["ref"]] in rows
    assert ["status", f"succeeded ({run['native_status']})"] in rows
    assert ["outputs", '{"total":42}'] in rows

    assert limited.code == 0, limited.stderr
    assert [r["ref"] for r in limited.lines()] == [str(r.ref) for r in reversed(newer[1:])]

    assert paged.code == 0, paged.stderr
    lines = paged.stdout.splitlines()
    assert lines[0].split()[:3] == ["ref", "status", "native"]  # one header for all pages
    listed = [line.split()[0] for line in lines[1:]]
    assert listed == [*(str(r.ref) for r in reversed(newer)), run["ref"]]
    assert "4 runs" in paged.stderr

    assert succeeded.code == 0, succeeded.stderr
    assert [r["ref"] for r in succeeded.lines()] == [run["ref"]]

    retried = await world.cli("--profile", provider, "--json", "retry", run["ref"])
    if provider == "kognitos":
        # Kognitos does not report a run's inputs, and this process did not create it.
        assert retried.code == 3 and retried.stdout == ""
        assert "only runs this client created" in retried.error
        return
    assert retried.code == 0, retried.stderr
    again = retried.one()
    assert again["status"] == "pending" and again["inputs"] == run["inputs"]
    # Cyberdesk retries in place; the others start a new run that the core creates.
    assert (again["ref"] == run["ref"]) is (provider == "cyberdesk")


# -- wait, get and exit code 1 -------------------------------------------------------------


async def test_wait_follows_a_run_until_it_fails(world: World, provider: str) -> None:
    emulator = world.emulators[provider]
    emulator.plan_next(outcome=RunStatus.FAILED, queued=0, running=30)
    async with world.client(provider) as client:
        run = await client.create("invoice", inputs={"invoice": "INV-2"})
    proc = await world.start(
        "--profile", provider, "--json", "wait", str(run.ref), "--poll-interval", "0.05"
    )
    assert proc.stderr is not None
    seen = []
    while not any(" running (" in line for line in seen):  # its status, live, on stderr
        line = await asyncio.wait_for(proc.stderr.readline(), 30)
        assert line, f"wait ended early: {seen}"
        seen.append(line.decode())
    emulator.advance(60)  # the run fails while the command is waiting
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 1, err
    (final,) = [json.loads(line) for line in out.decode().splitlines()]
    assert final["ref"] == str(run.ref) and final["status"] == "failed"
    assert final["failure"]["kind"] == "task"

    shown = await world.cli("--profile", provider, "--json", "get", str(run.ref))
    assert shown.code == 1 and shown.one()["status"] == "failed"


async def test_watch_prints_a_line_per_change_until_the_run_finishes(world: World) -> None:
    emulator = world.emulators["runflow"]
    emulator.plan_next(queued=10, running=40)
    async with world.client("runflow") as client:
        run = await client.create("invoice")
    proc = await world.start(
        "--profile", "runflow", "--json", "watch", str(run.ref), "--poll-interval", "0.05"
    )
    assert proc.stdout is not None
    lines = [json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))]
    for step in (15, 20, 30):  # queued, then running (nodes as they complete), then done
        emulator.advance(step)
        lines.append(json.loads(await asyncio.wait_for(proc.stdout.readline(), 30)))
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    lines += [json.loads(line) for line in out.decode().splitlines()]
    assert proc.returncode == 0, err
    assert lines[0]["status"] == "pending" and "status" in lines[0]["changed"]
    assert lines[-1]["status"] == "succeeded" and "outputs" in lines[-1]["changed"]
    assert all(line["ref"] == str(run.ref) and line["changed"] for line in lines)


async def test_verbose_logs_each_operation_and_each_attempt(world: World) -> None:
    async with world.client("kognitos") as client:
        run = await client.create("invoice")
    once = await world.cli("--profile", "kognitos", "-v", "get", str(run.ref))
    twice = await world.cli("--profile", "kognitos", "-vv", "get", str(run.ref))
    assert once.code == twice.code == 0
    assert "INFO runbridge: kognitos.get kognitos:" in once.stderr
    assert "runbridge.http" not in once.stderr
    assert "DEBUG runbridge.http: kognitos.get GET /runs/{id} -> 200" in twice.stderr
    assert world.env["KOGNITOS_TEST_TOKEN"] not in twice.stderr


async def test_wait_gives_up_at_its_timeout_with_the_last_state(world: World) -> None:
    async with world.client("runflow") as client:
        run = await client.create("invoice")  # time never moves: it stays pending
    result = await world.cli(
        "--profile", "runflow", "--json", "wait", str(run.ref),
        "--timeout", "0.3", "--poll-interval", "0.1",
    )  # fmt: skip
    assert result.code == 1
    assert result.one()["status"] == "pending"
    assert result.error.startswith(f"runbridge: error: runflow.wait: run {run.ref} still pending")


# -- cancel ---------------------------------------------------------------------------------


async def test_cancel(world: World, provider: str) -> None:
    async with world.client(provider) as client:
        run = await client.create("invoice", inputs={"invoice": "INV-3"})
    result = await world.cli("--profile", provider, "--json", "cancel", str(run.ref))
    if provider in ("kognitos", "kognitos-api"):  # neither API can cancel a run
        assert result.code == 3 and result.stdout == ""
        assert result.error.startswith(f"runbridge: error: {provider}.cancel:")
        return
    assert result.code == 0, result.stderr
    assert result.one()["status"] == "cancelled"
    again = await world.cli("--profile", provider, "cancel", str(run.ref))
    assert again.code == 3 and "already finished as cancelled" in again.error


# -- bulk ------------------------------------------------------------------------------------


async def test_bulk_reports_every_run_and_every_failure_by_index(
    world: World, provider: str, tmp_path: Path
) -> None:
    # More than one create_many call (100 each): failure indexes are the file's.
    bad = {1, 101}
    lines = [
        {"inputs": {"i": i}, "options": {"bogus": 1}} if i in bad else {"inputs": {"i": i}}
        for i in range(103)
    ]
    requests = tmp_path / "requests.jsonl"
    requests.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    result = await world.cli(
        "--profile", provider, "--json", "bulk", "invoice", "--file", str(requests)
    )
    assert result.code == 1, result.stderr
    out = result.lines()
    runs = [line for line in out if "ref" in line]
    errors = [line for line in out if "error" in line]
    assert sorted(inputs_of(world, provider, r)["i"] for r in runs) == sorted(set(range(103)) - bad)
    assert {e["index"] for e in errors} == bad
    assert {e["error"]["type"] for e in errors} == {"InvalidRequest"}
    assert all("bogus" in e["error"]["message"] for e in errors)
    assert "creating 100/103" in result.stderr and "creating 103/103" in result.stderr

    table = await world.cli("--profile", provider, "bulk", "invoice", "--count", "3", "-i", "x=1")
    assert table.code == 0, table.stderr
    assert len(table_rows(table.stdout, "ref")) == 1
    rows = [line.split() for line in table.stdout.splitlines()[1:]]
    assert len(rows) == 3 and all(row[0].startswith(f"{provider}:") for row in rows)
    assert "created 3 of 3; 0 failed" in table.stderr
    async with world.client(provider) as client:
        listed = [r async for r in client.list(target="invoice")]
    assert len(listed) == len(runs) + 3
    listed_inputs = [inputs_of(world, provider, {"id": r.id, "inputs": r.inputs}) for r in listed]
    assert listed_inputs.count({"x": 1}) == 3


# -- emulate ----------------------------------------------------------------------------------


async def test_emulate_serves_until_terminated(world: World, provider: str) -> None:
    # Kognitos does not report inputs: its emulator echoes them only as a named extra.
    extra = ("--extra", "inputs") if provider == "kognitos" else ()
    proc = await world.start(
        "--json", "emulate", provider, "--port", "0", "--speed", "1000", *extra
    )
    assert proc.stdout is not None
    try:
        first = await asyncio.wait_for(proc.stdout.readline(), 30)
        served = json.loads(first)
        assert served["provider"] == provider
        assert served["base_url"].startswith("http://127.0.0.1:")
        # The printed profile, with the printed environment, reaches the emulator.
        config = runbridge.parse_config(tomllib.loads(served["profile"]))
        (profile,) = config.profiles.values()
        assert profile.base_url == served["base_url"]
        assert served["environment"][profile.token_env] == served["token"]
        async with runbridge.connect(profile=profile, environ=served["environment"]) as client:
            run = await client.create("default", inputs={"hello": "world"})
            done = await client.wait(run, timeout=30, poll_interval=0.01)
        assert done.status is RunStatus.SUCCEEDED
        async with runbridge.connect(
            provider, token=served["token"], base_url=served["base_url"], **served["settings"]
        ) as client:
            assert (await client.get(run.ref)).inputs == {"hello": "world"}
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err
    assert f"{provider} emulator stopped" in err.decode()


async def test_emulate_prints_a_profile_to_paste(world: World) -> None:
    proc = await world.start("emulate", "runflow", "--port", "0")
    assert proc.stdout is not None
    try:
        printed = []
        while not (printed and printed[-1].startswith("export RUNFLOW_EMULATOR_ADMIN_TOKEN")):
            line = await asyncio.wait_for(proc.stdout.readline(), 30)
            assert line, printed
            printed.append(line.decode().rstrip())
    finally:
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0
    assert printed[0].startswith("runflow emulator serving at http://127.0.0.1:")
    text = "\n".join(printed)
    snippet = text.split("# runbridge.toml\n")[1].split("\n# in your shell")[0]
    (profile,) = runbridge.parse_config(tomllib.loads(snippet)).profiles.values()
    exports = dict(
        line.removeprefix("export ").split("=", 1) for line in printed if line.startswith("export ")
    )
    assert set(exports) == {profile.token_env, profile.settings["admin_token_env"]}
    assert f"token: {exports[profile.token_env]}" in printed


# -- demo ---------------------------------------------------------------------------------------


async def test_demo_json_runs_on_every_builtin_provider(world: World) -> None:
    result = await world.cli("demo", "--json", "--speed", "40")
    assert result.code == 0, result.stderr
    runs = result.lines()
    assert all(set(run) == RUN_KEYS for run in runs)
    statuses = {p: sorted(r["status"] for r in runs if r["provider"] == p) for p in PROVIDERS}
    assert statuses == {p: ["failed", "succeeded"] for p in PROVIDERS}
    for run in runs:
        if run["status"] == "succeeded":
            assert run["outputs"] == {"total": "1250.00", "currency": "EUR"}
        else:
            assert run["failure"]["kind"] == "task"
    assert f"{2 * len(PROVIDERS)} runs on {len(PROVIDERS)} providers, each ended as planned" in (
        result.stderr
    )


def _demo_rows(stdout: str) -> Iterator[list[str]]:
    for line in _ANSI.sub("", stdout).splitlines():
        cells = line.split()
        if cells and cells[0] in PROVIDERS:
            yield cells


async def test_demo_prints_a_table_on_a_pipe_and_on_a_terminal(world: World) -> None:
    # A terminal is simulated for rich with TTY_COMPATIBLE/TTY_INTERACTIVE: live display.
    tty = {"TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1", "COLUMNS": "250"}
    piped, live = await asyncio.gather(
        world.cli("demo", "--speed", "40"), world.cli("demo", "--speed", "40", env=tty)
    )
    for result in (piped, live):
        assert result.code == 0, result.stderr
        header = _ANSI.sub("", result.stdout).splitlines()[0].split()
        assert header[:4] == ["provider", "ref", "status", "native"]
        rows = list(_demo_rows(result.stdout))
        assert sorted((r[0], r[2]) for r in rows) == sorted(
            (p, s) for p in PROVIDERS for s in ("failed", "succeeded")
        )
        assert all(r[1].startswith(f"{r[0]}:") for r in rows)
    assert "\x1b[" not in piped.stdout + piped.stderr


# -- connection options and errors ----------------------------------------------------------------


async def test_a_provider_without_a_profile(world: World) -> None:
    async with world.client("runflow") as client:
        run = await client.create("invoice")
    env = {"RF": world.emulators["runflow"].token, "RF_ADMIN": world.env["RUNFLOW_ADMIN_TOKEN"]}
    adhoc = ("--provider", "runflow", "--base-url", world.urls["runflow"], "--token-env", "RF")
    result = await world.cli(
        *adhoc, "--setting", "admin_token_env=RF_ADMIN", "--json", "cancel", str(run.ref), env=env
    )
    assert result.code == 0, result.stderr
    assert result.one()["status"] == "cancelled"
    literal = await world.cli(*adhoc, "--setting", "admin_token=rf_svc_x", "get", "x", env=env)
    assert literal.code == 2 and "credential" in literal.error and "rf_svc_x" not in literal.stderr


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["--profile", "nope", "get", "x"], 2, "unknown profile 'nope'"),
        (["--provider", "nope", "get", "x"], 2, "unknown provider 'nope'"),
        (["--provider", "cyberdesk", "get", "x"], 2, "'RUNBRIDGE_TOKEN'"),
        (["--config", "missing.toml", "get", "x"], 2, "'missing.toml' not found"),
        (["--profile", "cyberdesk", "--provider", "runflow", "get", "x"], 2, "not both"),
        (["--token", "sk_live_secret", "get", "x"], 2, "never taken on the command line"),
        (["create", "invoice", "--input", "novalue"], 2, "--input expects KEY=VALUE"),
        (["create", "invoice", "--inputs-json", "[1]"], 2, "must be a JSON object"),
        (["create", "invoic"], 2, "no target alias 'invoic'"),
        (["list", "--limit", "x"], 2, "argument --limit: expected an integer"),
        (["list", "--created-after", "yesterday"], 2, "expects an ISO-8601 time"),
        (["--profile", "kognitos", "list"], 2, "kognitos.list: kognitos lists the runs of one"),
        (["get", "cyberdesk:not-a-uuid"], 2, "run id 'not-a-uuid' does not match the uuid format"),
        (["bulk", "invoice"], 2, "bulk needs --count N or --file"),
        (["emulate", "kognitos", "--extra", "colour"], 2, "no extra 'colour' (extras: inputs"),
        # The library's hints, in flags: never Python's target='...'
        (["--profile", "kognitos", "list"], 2,
         "pass --target '<agent_id>/<process_id>[@Draft|@Published]'"),
        (["--profile", "kognitos-api", "list"], 2,
         "pass --target 'organizations/<o>/workspaces/<w>/automations/<a>[@draft]'"),
        (["list", "--page-size", "0"], 2, "cyberdesk.list: --page-size must be an integer from 1"),
        (["listen", "--port", "0"], 2, "no webhook secret: pass --secret-env VAR (or set "
         "webhook_secrets_env in the profile)"),
        (["--provider", "cyberdesk", "--token-env", "CYBERDESK_TEST_TOKEN", "--base-url",
          "http://example.com", "get", "x"], 2,
         "use https or set allow_insecure_http = true in the profile's client table"),
    ],
)  # fmt: skip
async def test_usage_and_configuration_errors_exit_2_with_one_line(
    world: World, argv: list[str], code: int, message: str
) -> None:
    result = await world.cli(*argv)
    assert result.code == code
    assert result.error.startswith("runbridge: error: ") and message in result.error
    assert not PYTHON_HINT.search(result.error), result.error
    assert "sk_live_secret" not in result.stderr
    assert result.stdout == ""


PYTHON_HINT = re.compile(r"[a-z_]=('|\.\.\.|\[|True)|\(\.\.\.,")
"""A hint in Python's words: ``target='...'``, ``profile=...``, ``f(..., x=[...])``."""


@pytest.mark.parametrize(
    ("text", "command", "field", "said"),
    [
        ("pass target='<a>/<p>[@Draft]' [field 'target']", "list", "target",
         "pass --target '<a>/<p>[@Draft]'"),
        ("x.list: page_size must be from 1 to 100 [field 'page_size']", "list", "page_size",
         "x.list: --page-size must be from 1 to 100"),
        ("or wait with on_hold='wait'", "watch", None, "or wait with --on-hold wait"),
        ("no profile chosen: pass profile=..., set X", "get", "profile",
         "no profile chosen: pass --profile NAME, set X"),
        ("x.create: x runs have no name [field 'name']", "create", "name",
         "x.create: x runs have no name [--name]"),
        # bulk takes names from its --file: its errors keep naming the field
        ("x.create: x runs have no name [field 'name']", "bulk", "name",
         "x.create: x runs have no name [field 'name']"),
        ("the shard failed; resume the batch (resume=True) to settle them", "bulk", None,
         "the shard failed; run the same command again (its --journal resumes the batch) "
         "to settle them"),
        # not an option of the command, or not a hint: left as it is
        ("pass File(name, id='s3://...')", "create", None, "pass File(name, id='s3://...')"),
        ("the provider said limit=0", "list", "limit", "the provider said limit=0 [--limit]"),
    ],
)  # fmt: skip
def test_the_librarys_hints_are_said_with_flags(
    text: str, command: str, field: str | None, said: str
) -> None:
    assert in_flags(text, command, field=field) == said


async def test_an_unknown_run_exits_3(world: World, provider: str) -> None:
    missing = f"{provider}:{world.emulators[provider].unknown_id()}"
    result = await world.cli("--profile", provider, "get", missing)
    assert result.code == 3 and result.stdout == ""
    assert result.error.startswith(f"runbridge: error: {provider}.get: ")
    assert "(HTTP 404)" in result.error


async def test_refused_credentials_exit_3(world: World) -> None:
    world.emulators["cyberdesk"].inject(401, body={"detail": "Invalid API key"})
    result = await world.cli("get", f"cyberdesk:{world.emulators['cyberdesk'].unknown_id()}")
    assert result.code == 3
    assert result.error == "runbridge: error: cyberdesk.get: Invalid API key (HTTP 401)"


async def test_help_version_and_python_m(world: World) -> None:
    bare, version = await asyncio.gather(
        world.cli(),
        asyncio.create_subprocess_exec(
            sys.executable, "-m", "runbridge", "--version",
            stdout=asyncio.subprocess.PIPE, env=world.env,
        ),
    )  # fmt: skip
    assert bare.code == 2 and "COMMAND" in bare.stderr and "exit codes" in bare.stderr
    out, _ = await version.communicate()
    assert version.returncode == 0
    assert out.decode().strip() == f"runbridge {runbridge.__version__}"


async def test_without_rich_it_names_the_extra_to_install(world: World) -> None:
    # rich comes with the 'cli' extra; an install without it gets one line, not a traceback.
    code = "import sys; sys.modules['rich'] = None; import runbridge.cli as c; sys.exit(c.main())"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, "providers",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=world.env,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2 and out == b""
    assert err.decode().splitlines() == [
        "runbridge: error: the command line needs the 'cli' extra: pip install 'runbridge[cli]'"
    ]
