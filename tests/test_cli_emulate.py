"""``runbridge emulate`` from a shell: run events to ``runbridge listen``, and planned runs.

Each test starts the console script as subprocesses (the emulator on a sped-up wall
clock), reads what they print with a deadline per line, and stops them with SIGTERM.
Nothing sleeps to wait for a state: a test waits for the line that shows it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import sys
import tomllib
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import pytest

import runbridge
from runbridge import RunStatus
from runbridge.cli import main

_BIN = shutil.which("runbridge", path=os.path.dirname(sys.executable))
COMMAND = [_BIN] if _BIN else [sys.executable, "-m", "runbridge"]

DEADLINE = 30.0
"""Seconds a line may take to come: a generous bound, never an expectation."""

SPEED = 1000.0
"""Emulated seconds per real one: a planned run (3 s) is over in milliseconds."""

FAILURE = "the expected record was not found"


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNBRIDGE_")}
    env["RUNBRIDGE_PLUGINS"] = ""  # the built-in providers only, whatever else is installed
    return env


def free_port() -> int:
    """A port nothing listens on now (``listen`` binds it next)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@attrs.frozen
class Result:
    code: int
    stdout: str
    stderr: str

    def one(self) -> dict[str, Any]:
        (line,) = self.stdout.splitlines()
        return dict(json.loads(line))

    @property
    def error(self) -> str:
        (line,) = [x for x in self.stderr.splitlines() if x.startswith("runbridge:")]
        assert "Traceback" not in self.stderr
        return line


@attrs.define
class Process:
    """A running ``runbridge`` whose stdout is read line by line; stderr goes to a file."""

    proc: asyncio.subprocess.Process
    stderr: Path

    async def line(self) -> str:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), DEADLINE)
        assert line, f"exited {self.proc.returncode}: {self.stderr.read_text()}"
        return line.decode().rstrip("\n")

    async def json_line(self) -> dict[str, Any]:
        return dict(json.loads(await self.line()))

    async def stop(self) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(self.proc.communicate(), DEADLINE)
        assert self.proc.returncode is not None
        return self.proc.returncode


@attrs.define
class Shell:
    """Where the commands run: a directory, an environment, and the processes started."""

    path: Path
    env: dict[str, str]
    stack: AsyncExitStack
    started: int = 0

    async def cli(self, *args: str) -> Result:
        proc = await asyncio.create_subprocess_exec(
            *COMMAND, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=self.env, cwd=self.path,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), DEADLINE * 2)
        assert proc.returncode is not None
        return Result(proc.returncode, out.decode(), err.decode())

    async def start(self, *args: str) -> Process:
        self.started += 1
        stderr = self.path / f"stderr-{self.started}.txt"
        with stderr.open("wb") as sink:
            proc = await asyncio.create_subprocess_exec(
                *COMMAND, *args, stdout=asyncio.subprocess.PIPE, stderr=sink,
                env=self.env, cwd=self.path,
            )  # fmt: skip
        process = Process(proc, stderr)
        self.stack.push_async_callback(process.stop)
        return process

    async def emulate(self, provider: str, *options: str) -> dict[str, Any]:
        """Serve ``provider``'s emulator; its start line, its profile written to
        ``runbridge.toml`` and its variables exported, as a person would paste them."""
        served = await (await self.start("--json", "emulate", provider, *options)).json_line()
        (self.path / "runbridge.toml").write_text(served["profile"] + "\n")
        self.env.update(served["environment"])
        self.env["RUNBRIDGE_PROFILE"] = f"{provider}-emulator"
        return served


@pytest.fixture
async def shell(tmp_path: Path) -> AsyncIterator[Shell]:
    async with AsyncExitStack() as stack:
        yield Shell(tmp_path, base_env(), stack)


@asynccontextmanager
async def client_of(served: Mapping[str, Any]) -> AsyncIterator[runbridge.RunClient]:
    """A client of the served emulator, from the profile and variables it printed."""
    (profile,) = runbridge.parse_config(tomllib.loads(served["profile"])).profiles.values()
    async with runbridge.connect(profile=profile, environ=served["environment"]) as client:
        yield client


# -- run events ---------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["cyberdesk", "runflow"])
async def test_listen_verifies_the_events_emulate_sends(shell: Shell, provider: str) -> None:
    receiver = f"http://127.0.0.1:{free_port()}/{provider}"
    served = await shell.emulate(provider, "--port", "0", "--speed", "50", "--events-to", receiver)
    assert served["events_to"] == receiver and served["speed"] == 50
    secret = served["webhook_secret"]
    assert secret and secret in served["environment"].values()
    port = receiver.split(":")[2].split("/")[0]
    listen = await shell.start("--json", "listen", "--port", port)
    assert await listen.json_line() == {"listening": receiver}

    created = await shell.cli("--json", "create", "default", "--wait", "--poll-interval", "0.05")
    assert created.code == 0, created.stderr
    run = created.one()
    event = await listen.json_line()  # printed only once verified with the secret
    assert (event["provider"], event["run"]["id"]) == (provider, run["id"])
    assert event["run"]["status"] == "succeeded"


async def test_emulate_prints_the_secret_and_why_its_times_run_ahead(shell: Shell) -> None:
    receiver = f"http://127.0.0.1:{free_port()}/cyberdesk"
    emulate = await shell.start("emulate", "cyberdesk", "--port", "0", "--speed", "5",
                                "--events-to", receiver)  # fmt: skip
    printed = [await emulate.line()]
    while not printed[-1].startswith("export CYBERDESK_EMULATOR_WEBHOOK_SECRETS="):
        printed.append(await emulate.line())
    assert await emulate.stop() == 0
    secret = printed[-1].split("=", 1)[1]
    assert secret.startswith("whsec_")
    assert f"run events to: {receiver}" in printed
    assert f"webhook secret: {secret}" in printed
    assert 'webhook_secrets_env = "CYBERDESK_EMULATOR_WEBHOOK_SECRETS"' in printed
    notes = " ".join(emulate.stderr.read_text().split())
    assert "--speed 5: emulated time runs 5 times as fast as the wall clock" in notes
    assert "move ahead of it" in notes
    assert "Receive its run events: runbridge --profile cyberdesk-emulator listen --port" in notes


async def test_at_speed_1_nothing_is_said_of_the_clock(shell: Shell) -> None:
    emulate = await shell.start("emulate", "runflow", "--port", "0")
    await emulate.line()
    assert await emulate.stop() == 0
    assert "wall clock" not in emulate.stderr.read_text()


# -- plans --------------------------------------------------------------------------------


async def test_each_run_takes_the_next_plan_and_the_last_one_repeats(shell: Shell) -> None:
    served = await shell.emulate(
        "runflow", "--port", "0", "--speed", str(SPEED),
        "--plan", f"failed:{FAILURE}", "--plan", "cancelled", "--plan", "succeeded",
    )  # fmt: skip
    assert (served["events_to"], served["webhook_secret"]) == (None, None)
    async with client_of(served) as client:
        refs = [str((await client.create("default")).ref) for _ in range(4)]
    waits = await asyncio.gather(
        *(shell.cli("--json", "wait", ref, "--poll-interval", "0.05") for ref in refs)
    )
    assert [w.code for w in waits] == [1, 1, 0, 0], [w.stderr for w in waits]
    runs = [w.one() for w in waits]
    assert [r["status"] for r in runs] == ["failed", "cancelled", "succeeded", "succeeded"]
    assert runs[0]["failure"]["message"] == FAILURE


@pytest.mark.parametrize("provider", ["cyberdesk", "kognitos", "kognitos-api"])
async def test_failed_and_cancelled_plans_make_wait_exit_1(shell: Shell, provider: str) -> None:
    served = await shell.emulate(
        provider, "--port", "0", "--speed", str(SPEED),
        "--plan", f"failed:{FAILURE}", "--plan", "cancelled",
    )  # fmt: skip
    async with client_of(served) as client:
        refs = [str((await client.create("default")).ref) for _ in range(2)]
    failed, cancelled = await asyncio.gather(
        *(shell.cli("--json", "wait", ref, "--poll-interval", "0.05") for ref in refs)
    )
    assert (failed.code, cancelled.code) == (1, 1), failed.stderr + cancelled.stderr
    assert failed.one()["status"] == "failed"
    assert cancelled.one()["status"] == "cancelled"
    if provider != "kognitos":  # Kognitos reports no failure text
        assert FAILURE in failed.one()["failure"]["message"]


async def test_a_held_plan_makes_wait_exit_4(shell: Shell) -> None:
    served = await shell.emulate("kognitos-api", "--port", "0", "--speed", str(SPEED),
                                 "--plan", "held")  # fmt: skip
    async with client_of(served) as client:
        run = await client.create("default")
    waited = await shell.cli("--json", "wait", str(run.ref), "--poll-interval", "0.05")
    assert waited.code == 4, waited.stderr
    assert waited.one()["native_status"] == "awaiting_guidance"
    assert waited.one()["hold"]["kind"] == "person"
    assert "--on-hold wait" in waited.error and "on_hold=" not in waited.error


@pytest.mark.parametrize("suffix", [".toml", ".json"])
async def test_a_plan_file(shell: Shell, suffix: str) -> None:
    plans = [
        {"outcome": "failed", "message": FAILURE, "failure": "system", "running": 4},
        {"outcome": "succeeded", "outputs": {"total": 42}},
    ]
    path = shell.path / f"plans{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps({"plans": plans}))
    else:
        path.write_text(
            f'[[plans]]\noutcome = "failed"\nmessage = "{FAILURE}"\nfailure = "system"\n'
            'running = 4\n\n[[plans]]\noutcome = "succeeded"\noutputs = { total = 42 }\n'
        )
    served = await shell.emulate(
        "runflow", "--port", "0", "--speed", str(SPEED), "--plan-file", str(path)
    )
    async with client_of(served) as client:
        first, second = [await client.create("default") for _ in range(2)]
        failed = await client.wait(first, poll_interval=0.05, timeout=DEADLINE)
        done = await client.wait(second, poll_interval=0.05, timeout=DEADLINE)
    assert failed.status is RunStatus.FAILED and failed.failure is not None
    assert failed.failure.message == FAILURE
    assert done.status is RunStatus.SUCCEEDED and done.outputs == {"total": 42}


# -- what emulate refuses -----------------------------------------------------------------
# Refused before anything is served: run in-process, where each takes milliseconds.


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The one error line of ``runbridge emulate ...``, which must exit 2 printing nothing."""
    assert main(["emulate", *argv, "--port", "0"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    (line,) = err.splitlines()
    return line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["kognitos", "--events-to", "http://127.0.0.1:8766/kognitos"],
         "--events-to: kognitos pushes no run events"),
        (["kognitos-api", "--events-to", "http://127.0.0.1:8766/x"],
         "--events-to: kognitos-api pushes no run events"),
        (["cyberdesk", "--events-to", "127.0.0.1:8766"], "--events-to expects an http(s) URL"),
        (["cyberdesk", "--plan", "held"], "the cyberdesk emulator has no status in which a run"),
        (["runflow", "--plan", "done"], "argument --plan: expected one of succeeded, failed"),
        (["runflow", "--plan", "cancelled:why"], "only failed takes a :MESSAGE"),
        (["runflow", "--plan", "failed:"], "the message after 'failed:' is empty"),
        (["runflow", "--plan", "failed", "--plan-file", "p.toml"], "not allowed with argument"),
        (["runflow", "--plan-file", "missing.toml"], "--plan-file: cannot read 'missing.toml'"),
    ],
)  # fmt: skip
def test_usage_errors_exit_2_before_serving(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert message in refused(capsys, *args)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("plans = []", "must hold a non-empty list 'plans'"),
        ("[[plans]]\noutcome = 'won'", "plans[0]: outcome must be one of"),
        ("[[plans]]\nseconds = 3", "plans[0]: unknown key 'seconds'"),
        ("[[plans]]\noutcome = 'cancelled'\nmessage = 'x'", "plans[0]: message is the text of"),
        ("[[plans]]\nrunning = -1", "plans[0]: running must be a non-negative number"),
        ("[[plans]]\noutcome = 'held'\nnative = 'x'", "plans[0]: held takes no native"),
        ("[[plans", "is not valid TOML"),
    ],
)
def test_a_bad_plan_file_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "plans.toml"
    path.write_text(text)
    assert message in refused(capsys, "kognitos-api", "--plan-file", str(path))
