"""Soak: many logical creates under faults, late answers and caller cancellation, then an
audit of every create against the emulator's own state.

    .venv/bin/python bench/soak.py --creates 30000 --clock real
    .venv/bin/python bench/soak.py --creates 30000 --clock lagging

Each built-in provider's emulator runs in this process with ``Faults.mixed(0.3)``
plus answers delayed past the client's timeout, and the caller cancels a share of
its creates at random moments. The emulator's clock is the real one, or lags ours
by five minutes (``--clock lagging``). Afterwards the faults are switched off and
every create the caller was not told the outcome of (unconfirmed, cancelled) is
settled with ``client.resolve(token, timeout=...)``. Then each logical create is
audited against the runs the emulator holds:

- confirmed: the caller got its run, and it is the emulator's one run for it;
- settled to a run / to none: its token resolved, and the emulator agrees;
- unsettled: its token still could not be settled (a failure, never "held");
- duplicates: two runs for one logical create;
- lost: a run the caller was given that the emulator does not hold;
- orphans: a run no answer and no token accounts for (a plain failure that made one);
- wrong settlements: a token that resolved to "no run" while its run exists, or to
  another run than the emulator's.

The last five must be zero. The figures are printed as JSON lines (and quoted in
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
from runbridge.emulation import Emulator, Faults, RealClock
from runbridge.testing import emulated_client, emulated_providers, load_emulator, testing_options

FAULTS = 0.3
"""Share of requests a fault hits (``Faults.mixed``: resets, 5xx, 429s, bad bodies...)."""
LATE = 0.05
"""Share of requests answered after the client's timeout (the run is made meanwhile)."""
CANCEL = 0.02
"""Share of creates the caller cancels at a random moment."""
SETTLE = 2.0
"""The client's settle window: longer than any answer the emulator delays (0.4 s)."""
CLOCKS = {"real": 0.0, "lagging": -300.0}
"""The emulator's clock: ours, or five minutes behind."""


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
    provider: str, creates: int, seed: int, in_flight: int, targets: int, clock: str
) -> dict[str, Any]:
    extras = {"inputs"} if provider == "kognitos" else set()
    emulator: Emulator = load_emulator(
        provider, extras=extras, clock=RealClock(offset=CLOCKS[clock])
    )
    rng = random.Random(seed)
    options = testing_options(
        timeout=0.25,
        deadline=4.0,
        settle_window=SETTLE,
        retry=RetryPolicy(attempts=6, base_delay=0.01, max_delay=0.2),
    )
    outcome: dict[int, str] = {}
    made: dict[int, Run] = {}
    tokens: dict[int, str] = {}
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
                    outcome[n] = "confirmed"
                except CreateUnconfirmed as exc:
                    outcome[n] = "unconfirmed"
                    tokens[n] = exc.token
                except asyncio.CancelledError:
                    outcome[n] = "cancelled"
                except RunbridgeError:
                    outcome[n] = "failed"

        await asyncio.gather(*(one(n) for n in range(creates)))
        elapsed = time.monotonic() - started
        emulator.faults = None
        by_fingerprint = {fingerprint(requests[n]): n for n in requests}
        for entry in await client.unconfirmed():  # cancelled creates keep their tokens here
            n = by_fingerprint.get(entry.fingerprint)
            if n is not None:
                tokens.setdefault(n, entry.token)
        settled = await _settle_all(client, tokens, requests)
    runs: dict[int, list[str]] = {}
    for run_id, run in emulator.runs.items():
        runs.setdefault(index_of(provider, run), []).append(run_id)
    return {
        "provider": provider,
        "clock": clock,
        "creates": creates,
        "targets": targets,
        **{kind: sum(1 for o in outcome.values() if o == kind) for kind in OUTCOMES},
        **_audit(creates, outcome, made, tokens, settled, runs),
        "faults_injected": sum(emulator.fault_counts.values()),
        "requests": len(emulator.requests),
        "seconds": round(elapsed, 1),
    }


def _audit(
    creates: int,
    outcome: dict[int, str],
    made: dict[int, Run],
    tokens: dict[int, str],
    settled: dict[int, Run | str | None],
    runs: dict[int, list[str]],
) -> dict[str, int]:
    """Every logical create against the emulator's runs: the counts of the docstring."""
    counts = Counter[str]()
    for n in range(creates):
        held = runs.get(n, [])
        counts["duplicates"] += len(held) > 1
        if outcome[n] == "confirmed":
            counts["lost"] += made[n].id not in held
            continue
        if n not in tokens:  # failed outright, or cancelled before it was claimed
            counts["orphans_without_a_token"] += bool(held)
            continue
        answer = settled[n]
        if answer == "unsettled":
            counts["unsettled"] += 1
        elif answer is None:
            counts["settled_to_none"] += 1
            counts["wrong_settlements"] += bool(held)
        else:
            assert isinstance(answer, Run)
            counts["settled_to_a_run"] += 1
            counts["wrong_settlements"] += answer.id not in held
    counts["runs_on_provider"] = sum(len(v) for v in runs.values())
    keys = (
        "settled_to_a_run",
        "settled_to_none",
        "unsettled",
        "runs_on_provider",
        "duplicates",
        "lost",
        "orphans_without_a_token",
        "wrong_settlements",
    )
    return {key: counts[key] for key in keys}


OUTCOMES = ("confirmed", "unconfirmed", "cancelled", "failed")
FAILURES = ("unsettled", "duplicates", "lost", "orphans_without_a_token", "wrong_settlements")


def _mixed(total: float) -> dict[str, float]:
    faults = Faults.mixed(total)
    return {kind: faults.rate(kind) for kind in Faults.KINDS}


async def _settle_all(
    client: RunClient, tokens: dict[int, str], requests: dict[int, RunRequest]
) -> dict[int, Run | str | None]:
    """Each token resolved (waiting out its settle window), or ``"unsettled"``."""
    gate = asyncio.Semaphore(32)
    answers: dict[int, Run | str | None] = {}

    async def one(n: int, token: str) -> None:
        async with gate:
            try:
                answers[n] = await client.resolve(token, request=requests[n], timeout=30)
            except CreateUnconfirmed:
                answers[n] = "unsettled"

    await asyncio.gather(*(one(n, t) for n, t in tokens.items()))
    return answers


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
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        nargs="*",
        default=sorted(CLOCKS),
        help="the emulators' clock: ours, or lagging five minutes (default: each in turn)",
    )
    parser.add_argument(
        "--shards",
        type=int,
        default=1,
        help="fresh emulators each provider's creates are split over (an emulator's "
        "search scans its whole history, so one holding 30,000 runs slows the soak down)",
    )
    args = parser.parse_args()
    providers = args.providers or emulated_providers(builtin=True)
    share = args.creates // len(providers)
    results = []
    for clock in args.clock:
        for i, provider in enumerate(providers):
            for shard in range(args.shards):
                creates = share // args.shards + (1 if shard < share % args.shards else 0)
                seed = args.seed + i + 1000 * shard
                result = await soak(provider, creates, seed, args.in_flight, args.targets, clock)
                result["shard"] = shard
                print(json.dumps(result), flush=True)
                results.append(result)
    bad = [r for r in results if any(r[key] for key in FAILURES)]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
