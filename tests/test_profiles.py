"""Profiles: swapping providers by configuration alone, and clear configuration errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import attrs
import pytest

import runbridge
from memo_plugin.emulator import MemoEmulator
from runbridge import ConfigError, RunClient, RunStatus, parse_config
from runbridge.emulation import Emulator, Plan, RealClock
from runbridge_cyberdesk.emulator import CyberdeskEmulator
from runbridge_kognitos.emulator import KognitosEmulator
from runbridge_kognitos_api.emulator import KognitosApiEmulator
from runbridge_runflow.emulator import RunflowEmulator
from support import PROVIDERS


async def process_invoice(client: RunClient, number: str) -> dict[str, Any]:
    """Application code, written once: it never names a provider or a provider target."""
    run = await client.create("invoice", inputs={"invoice": number})
    done = await client.wait(run, timeout=30, poll_interval=0.02)
    listed = [r.ref async for r in client.list(target="invoice", status="succeeded")]
    return {
        "ref": str(done.ref),
        "status": done.status,
        "outputs": dict(done.outputs or {}),
        "listed": done.ref in listed,
    }


def fast(cls: type[Emulator]) -> Emulator:
    emulator = cls(clock=RealClock(speed=200))
    emulator.default_plan = Plan(outputs={"total": 42})
    return emulator


@pytest.fixture
async def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Path]:
    emulators = {
        "cyberdesk": fast(CyberdeskEmulator),
        "kognitos": fast(KognitosEmulator),
        "kognitos-api": fast(KognitosApiEmulator),
        "runflow": fast(RunflowEmulator),
    }
    lines = ['default_profile = "cyberdesk-dev"\n']
    async with AsyncExitStack() as stack:
        for name, emulator in emulators.items():
            url = await stack.enter_async_context(emulator.serve())
            monkeypatch.setenv(f"{name.upper()}_TOKEN", emulator.token)
            lines.append(
                f'[profiles.{name}-dev]\nprovider = "{name}"\ntoken_env = "{name.upper()}_TOKEN"\n'
                f'base_url = "{url}"\n'
                f'[profiles.{name}-dev.targets]\ninvoice = "{emulator.default_target}"\n'
            )
            for key, value in emulator.client_settings().items():
                monkeypatch.setenv(f"{name.upper()}_{key.upper()}", value)
                lines.append(
                    f'[profiles.{name}-dev.settings]\n{key}_env = "{name.upper()}_{key.upper()}"\n'
                )
        path = tmp_path / "runbridge.toml"
        path.write_text("\n".join(lines))
        monkeypatch.setenv("RUNBRIDGE_CONFIG", str(path))
        monkeypatch.delenv("RUNBRIDGE_PROFILE", raising=False)
        yield path


async def test_the_same_code_runs_on_every_provider_by_profile_alone(
    config_file: Path, provider: str
) -> None:
    async with runbridge.connect(profile=f"{provider}-dev") as client:
        result = await process_invoice(client, "INV-7")
    assert client.provider == provider
    assert result["ref"].startswith(f"{provider}:")
    assert result["status"] is RunStatus.SUCCEEDED
    assert result["outputs"] == {"total": 42}
    assert result["listed"] is True


async def test_runbridge_profile_picks_the_default(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert runbridge.connect().provider == "cyberdesk"  # default_profile
    monkeypatch.setenv("RUNBRIDGE_PROFILE", "runflow-dev")
    client = runbridge.connect()
    assert (client.provider, client.profile and client.profile.name) == ("runflow", "runflow-dev")
    assert "RUNFLOW_TOKEN" not in repr(client)


def profile(**body: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"provider": "memo", "token_env": "MEMO_TOKEN"}
    base.update(body)
    return {"profiles": {"p": base}}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"colour": 1}, "colour"),
        (profile(token="literal"), "profiles.p.token"),
        (profile(extra=1), "profiles.p.extra"),
        ({"profiles": {"p": {"token_env": "X"}}}, "profiles.p.provider"),
        ({"profiles": {"p": {"provider": "memo"}}}, "profiles.p.token_env"),
        (profile(targets={"invoice": 3}), "profiles.p.targets.invoice"),
        (profile(client={"retries": 3}), "profiles.p.client.retries"),
        (profile(settings=[1]), "profiles.p.settings"),
        ({**profile(), "default_profile": "q"}, "default_profile"),
    ],
)
def test_bad_files_name_the_key(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert caught.value.field == field


def test_missing_and_malformed_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        runbridge.load_config(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[profiles\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        runbridge.load_config(bad)


@pytest.mark.parametrize(
    ("body", "environ", "field", "words"),
    [
        ({}, {}, "profiles.p.token_env", ["'p'", "MEMO_TOKEN"]),
        ({"provider": "nosuch"}, {"MEMO_TOKEN": "t"}, "profiles.p.provider", ["'p'", "nosuch"]),
        (
            {"settings": {"signing_key_env": "SIGN"}},
            {"MEMO_TOKEN": "t"},
            "profiles.p.settings.signing_key_env",
            ["SIGN"],
        ),
        (
            {"settings": {"signing_key": "literal-secret"}},
            {"MEMO_TOKEN": "t"},
            "profiles.p.settings.signing_key",
            ["signing_key_env"],
        ),
        ({"settings": {"colour": "x"}}, {"MEMO_TOKEN": "t"}, "colour", ["colour"]),
    ],
)
def test_bad_profiles_name_the_profile_and_key(
    body: dict[str, Any], environ: dict[str, str], field: str, words: list[str]
) -> None:
    config = parse_config(profile(**body))
    with pytest.raises(ConfigError) as caught:
        runbridge.connect(profile=config.profile("p"), environ=environ)
    assert caught.value.field == field
    for word in words:
        assert word in str(caught.value)
    assert "literal-secret" not in str(caught.value)


def test_unknown_profiles_and_aliases_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUNBRIDGE_PROFILE", raising=False)
    config = parse_config(profile(targets={"invoice": "echo"}))
    with pytest.raises(ConfigError, match="unknown profile 'q'") as unknown:
        config.profile("q")
    assert unknown.value.field == "profiles.q"
    with pytest.raises(ConfigError, match="no profile chosen"):
        config.profile()
    with pytest.raises(ConfigError) as alias:
        config.profile("p").target("invoce")
    assert alias.value.field == "profiles.p.targets.invoce"
    assert "known: invoice" in str(alias.value)


async def test_aliases_resolve_everywhere_a_target_appears() -> None:
    memo = MemoEmulator()
    config = parse_config(profile(targets={"invoice": "echo", "total": "sum"}))
    async with memo.serve() as url:
        async with runbridge.connect("memo", token=memo.token, base_url=url) as plain:
            assert (await plain.create("echo")).target == "echo"  # no profile: raw targets
        aliased = runbridge.connect(
            profile=attrs.evolve(config.profile("p"), base_url=url),
            environ={"MEMO_TOKEN": memo.token},
        )
        async with aliased:
            run = await aliased.create("invoice")
            bulk = await aliased.create_many([runbridge.RunRequest(target="invoice")])
            listed = await aliased.list(target="invoice").collect()
            with pytest.raises(ConfigError):
                await aliased.create("echo")  # raw targets are refused once aliases exist
    assert run.target == "echo"
    assert bulk.ok and bulk.runs[0].target == "echo"
    assert {r.ref for r in listed} >= {run.ref, bulk.runs[0].ref}


async def test_fanout_over_profiles_runs_the_logical_target_everywhere(config_file: Path) -> None:
    profiles = [f"{p}-dev" for p in PROVIDERS]
    async with runbridge.fanout(profiles) as fan:
        outcomes = await fan.run("invoice", inputs={"invoice": "INV-9"}, poll_interval=0.02)
        merged = [r.provider async for r in fan.list(target="invoice")]
    assert [o.member for o in outcomes] == profiles
    assert all(o.succeeded for o in outcomes), outcomes
    assert sorted(merged) == sorted(PROVIDERS)
