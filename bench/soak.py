"""Soak: many logical creates under faults, late answers and caller cancellation, then an audit.

    .venv/bin/python bench/soak.py --creates 100000

Each built-in provider's emulator runs in this process with ``Faults.mixed(0.3)``
plus answers delayed past the client's timeout, and the caller cancels a share of
its creates at random moments. Afterwards every unconfirmed or cancelled create
is settled with ``client.resolve(token)``, faults are switched off, and each
emulator's runs are counted against what the caller was told:

- duplicates: two runs made for one logical create;
- lost: a create reported as made whose run is not there;
- orphans: a run on the provider that no answer and no pending token accounts for.

All three must be zero. The figures are printed as JSON (and quoted in
``docs/reliability.md``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections import Counter
from typing import Any

from runbridge import CreateUnconfirmed, RetryPolicy, Run, RunbridgeError, RunClient, RunRequest
from runbridge._journal import fingerprint
from runbridge.emulation import Emulator, Faults
from runbridge.testing import emulated_client, emulated_providers, load_emulator, testing_options

FAULTS = 0.3
"""Share of requests a fault hits (``Faults.mixed``: resets, 5xx, 429s, bad bodies...)."""
LATE = 0.05
"""Share of requests answered after the client's timeout (the run is made meanwhile)."""
CANCEL = 0.02
"""Share of creates the caller cancels at a random moment."""


def index_of(provider: str, run: Any) -> int:
    """The ``n`` input of a run as its emulator stores it."""
    if provider == "cyberdesk":
        return int(run.input_values["n"])
    if provider == "runflow":
        return int(run.input["n"])
    return int({item["name"]: item["value"] for item in run.inputs}["n"])


def add_targets(provider: str, emulator: Any, count: int) -> list[str]:
    """``count`` targets on the emulator: the default one and ``count - 1`` more."""
    targets = [emulator.default_target]
    for i in range(1, count):
        if provider == "cyberdesk":
            targets.append(emulator.add_workflow(name=f"Soak {i}"))
        elif provider == "kognitos":
            targets.append("/".join(emulator.add_process()))
        else:
            targets.append(emulator.add_model(f"soak/echo/v{i}"))
    return targets


async def soak(
    provider: str, creates: int, seed: int, in_flight: int, targets: int
) -> dict[str, Any]:
    extras = {"inputs"} if provider == "kognitos" else set()
    emulator: Emulator = (
        load_emulator(provider, extras=extras) if extras else load_emulator(provider)
    )
    rng = random.Random(seed)
    options = testing_options(
        timeout=0.25,
        deadline=4.0,
        retry=RetryPolicy(attempts=6, base_delay=0.01, max_delay=0.2),
    )
    outcome: dict[int, str] = {}
    made: dict[int, Run] = {}
    spread = add_targets(provider, emulator, targets)
    requests = {
        n: RunRequest(target=spread[n % len(spread)], inputs={"n": n}) for n in range(creates)
    }
    started = time.monotonic()
    async with emulated_client(provider, emulator=emulator, options=options) as (client, _):
        rates = _mixed(FAULTS)
        rates["slow"] = LATE
        emulator.faults = Faults(**rates, seed=seed, slow_seconds=0.4)
        gate = asyncio.Semaphore(in_flight)

        async def one(n: int) -> None:
            async with gate:
                task = asyncio.ensure_future(client.create(requests[n]))
                if rng.random() < CANCEL:
                    await asyncio.sleep(rng.uniform(0, 0.02))
                    task.cancel()
                try:
                    made[n] = await task
                    outcome[n] = "made"
                except CreateUnconfirmed:
                    outcome[n] = "unconfirmed"
                except asyncio.CancelledError:
                    outcome[n] = "cancelled"
                except RunbridgeError:
                    outcome[n] = "failed"

        await asyncio.gather(*(one(n) for n in range(creates)))
        elapsed = time.monotonic() - started
        emulator.faults = None
        await asyncio.sleep(1.0)  # late answers' handlers are still making their runs
        pending = client.unconfirmed()
        covered = {entry.fingerprint for entry in pending}
        resolved = await _resolve_all(client, [entry.token for entry in pending])
    runs_by_n = Counter(index_of(provider, run) for run in emulator.runs.values())
    by_fingerprint = {fingerprint(requests[n]): n for n in requests}
    held = {by_fingerprint[f] for f in covered if f in by_fingerprint}
    return {
        "provider": provider,
        "creates": creates,
        "targets": targets,
        **{kind: sum(1 for o in outcome.values() if o == kind) for kind in OUTCOMES},
        "pending_tokens": len(pending),
        "resolved_to_a_run": resolved,
        "runs_on_provider": sum(runs_by_n.values()),
        "duplicates": sum(1 for count in runs_by_n.values() if count > 1),
        "lost": sum(1 for n in made if runs_by_n[n] != 1),
        "orphans_without_a_token": sum(1 for n in runs_by_n if n not in made and n not in held),
        "faults_injected": sum(emulator.fault_counts.values()),
        "requests": len(emulator.requests),
        "seconds": round(elapsed, 1),
    }


OUTCOMES = ("made", "unconfirmed", "cancelled", "failed")


def _mixed(total: float) -> dict[str, float]:
    faults = Faults.mixed(total)
    return {kind: faults.rate(kind) for kind in Faults.KINDS}


async def _resolve_all(client: RunClient, tokens: list[str]) -> int:
    found = 0
    for token in tokens:
        if await client.resolve(token) is not None:
            found += 1
    return found


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=100_000, help="in all, across providers")
    parser.add_argument("--in-flight", type=int, default=32)
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument(
        "--targets",
        type=int,
        default=32,
        help="targets the creates are spread over (a lost create is looked for among its "
        "target's runs, so one target makes every lookup walk the whole history)",
    )
    parser.add_argument("--providers", nargs="*", help="a subset of the built-in providers")
    args = parser.parse_args()
    providers = args.providers or emulated_providers(builtin=True)
    share = args.creates // len(providers)
    results = []
    for i, provider in enumerate(providers):
        result = await soak(provider, share, args.seed + i, args.in_flight, args.targets)
        print(json.dumps(result), flush=True)
        results.append(result)
    bad = [r for r in results if r["duplicates"] or r["lost"] or r["orphans_without_a_token"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
