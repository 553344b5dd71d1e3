"""Client-side rate and in-flight limits, against emulators that enforce a rate limit.

The emulator is the witness: it counts the 429s its limit answers. A client whose own
rate is below the emulator's is never refused; without one it is; a provider's quota
headers pause a client before a 429; and a 429 one client gets pauses every client
that shares its journal.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import runbridge
from runbridge import ClientOptions, ConfigError, RateLimited, RetryPolicy, RunRequest
from runbridge.emulation import Emulator, RealClock
from runbridge.testing import emulated_client, load_emulator, testing_options
from support import posts


def limited(provider: str, rate_limit: str) -> Emulator:
    extras = {"inputs"} if provider == "kognitos" else set()
    return load_emulator(provider, clock=RealClock(), rate_limit=rate_limit, extras=extras)


async def burst(client: runbridge.RunClient, emulator: Emulator, count: int) -> int:
    """``count`` creates at once; how many runs were made."""
    requests = [RunRequest(target=emulator.default_target, inputs={"i": i}) for i in range(count)]
    results = await asyncio.gather(*(client.create(r) for r in requests), return_exceptions=True)
    return sum(1 for r in results if isinstance(r, runbridge.Run))


@pytest.mark.parametrize("provider", ["cyberdesk", "kognitos", "runflow"])
async def test_a_client_below_the_providers_rate_is_never_refused(provider: str) -> None:
    emulator = limited(provider, "25/s")
    options = testing_options(rate="20/s", retry=RetryPolicy.never())
    async with emulated_client(provider, emulator=emulator, options=options) as (client, _):
        assert await burst(client, emulator, 45) == 45
    assert emulator.rate_limiter is not None and emulator.rate_limiter.total_refused == 0


@pytest.mark.parametrize("provider", ["cyberdesk", "kognitos", "runflow"])
async def test_without_a_rate_of_its_own_the_same_client_is_refused(provider: str) -> None:
    emulator = limited(provider, "25/s")
    options = testing_options(retry=RetryPolicy.never())
    async with emulated_client(provider, emulator=emulator, options=options) as (client, _):
        made = await burst(client, emulator, 45)
    assert emulator.rate_limiter is not None and emulator.rate_limiter.total_refused > 0
    assert made < 45


async def test_the_providers_answers_are_its_documented_429s() -> None:
    checks: dict[str, Any] = {}
    for provider in ("cyberdesk", "kognitos", "runflow"):
        emulator = limited(provider, "1/min")
        options = testing_options(retry=RetryPolicy.never())
        async with emulated_client(provider, emulator=emulator, options=options) as (client, _):
            await client.create(emulator.default_target)
            with pytest.raises(RateLimited) as caught:
                await client.create(emulator.default_target)
        checks[provider] = (caught.value.status, caught.value.code, caught.value.retry_after)
    assert checks["cyberdesk"][0] == 429 and checks["cyberdesk"][2] is not None  # Retry-After
    assert checks["runflow"][:2] == (429, "RATE_LIMITED")
    assert checks["runflow"][2] is None  # documented: no rate-limit headers
    assert checks["kognitos"][0] == 429


async def test_cyberdesk_quota_headers_pause_a_client_before_a_429() -> None:
    # No rate of its own (only a cap on requests in flight): the client reads
    # X-RateLimit-Remaining: 0 and waits for X-RateLimit-Reset instead of being refused.
    emulator = limited("cyberdesk", "5/s")
    options = testing_options(max_in_flight=1, retry=RetryPolicy.never())
    async with emulated_client("cyberdesk", emulator=emulator, options=options) as (client, _):
        for _ in range(12):
            await client.create(emulator.default_target)
    assert emulator.rate_limiter is not None and emulator.rate_limiter.total_refused == 0


async def test_a_429_pauses_every_client_sharing_the_journal(tmp_path: Path) -> None:
    emulator = load_emulator("kognitos", clock=RealClock())
    journal = tmp_path / "journal.sqlite"
    options = testing_options(rate="100/s", retry=RetryPolicy.never(), deadline=1.0)
    async with emulator.serve() as url:
        arguments: dict[str, Any] = {"token": emulator.token, "base_url": url, "options": options}
        async with runbridge.connect("kognitos", journal=journal, **arguments) as first, \
                runbridge.connect("kognitos", journal=journal, **arguments) as second:  # fmt: skip
            emulator.inject(429, headers={"Retry-After": "30"})
            with pytest.raises(RateLimited):
                await first.create(emulator.default_target)
            seen = posts(emulator)
            # The other client (another process, as far as the journal goes) holds off:
            # its create cannot get a token before its deadline, and nothing is sent.
            with pytest.raises(RateLimited) as held:
                await second.create(emulator.default_target)
            assert "client's own limits" in held.value.message
            assert posts(emulator) == seen


async def test_in_flight_is_capped() -> None:
    emulator = load_emulator("kognitos")
    from runbridge.emulation import Faults

    emulator.faults = Faults(slow=1.0, slow_seconds=0.2, methods={"POST"})
    options = testing_options(max_in_flight=2)
    peak = 0
    async with emulated_client("kognitos", emulator=emulator, options=options) as (client, _):
        task = asyncio.ensure_future(burst(client, emulator, 6))
        while not task.done():
            peak = max(peak, posts(emulator) - len(emulator.runs))
            await asyncio.sleep(0.01)
        assert await task == 6
    assert 1 <= peak <= 2


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"rate": "fast"}, "rate"),
        ({"rate": "0/s"}, "rate"),
        ({"rate": 5}, "rate"),
        ({"max_in_flight": 0}, "max_in_flight"),
        ({"max_in_flight": True}, "max_in_flight"),
    ],
)
def test_limits_are_checked(options: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ClientOptions(**options)
    assert caught.value.field == field


def test_a_profile_sets_its_limits(tmp_path: Path) -> None:
    (tmp_path / "runbridge.toml").write_text(
        """
[profiles.k]
provider = "kognitos"
token_env = "K"
[profiles.k.client]
rate = "50/s"
max_in_flight = 20
"""
    )
    profile = runbridge.load_config(tmp_path / "runbridge.toml").profile("k")
    from runbridge._client._config import client_options

    options = client_options(profile)
    assert (options.rate, options.max_in_flight) == ("50/s", 20)
