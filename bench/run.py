"""Run every benchmark and write the results into docs/performance.md.

    .venv/bin/python bench/run.py                 # full run (several minutes)
    .venv/bin/python bench/run.py --quick         # smoke run: small counts, no file written
    .venv/bin/python bench/run.py --only per_call # one section; prints JSON, writes nothing

A full run also counts instructions with valgrind (``bench/instructions.py``), when
valgrind is installed; ``--quick`` never does.

The emulators run in separate processes (``python -m runbridge emulate``, the same
interpreter and environment, so ``PYTHONPATH`` reaches them); every comparison runs all
its sides in the same run against the same emulator.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import re
import shutil
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import cases

import runbridge

SECTIONS = ("per_call", "pages", "translation", "streaming", "fanout", "imports", "instructions")

DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
PROVIDERS = ("cyberdesk", "kognitos", "kognitos-api", "runflow")
TRANSLATION_GOAL = 25_000
"""Instructions of translation per run (issue 28): ``to_run`` and the lazy raw payload."""


def _fmt(value: Any, digits: int = 2) -> str:
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> str:
    head = "| " + " | ".join(title for _, title in columns) + " |"
    rule = "|" + "---|" * len(columns)
    body = ["| " + " | ".join(_fmt(row.get(key, "")) for key, _ in columns) + " |" for row in rows]
    return "\n".join([head, rule, *body])


def _find(rows: list[dict[str, Any]], case: str, side: str) -> dict[str, Any]:
    return next(r for r in rows if r["case"] == case and r["side"] == side)


def _verdicts(results: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The issue's targets (client CPU, same run, same emulator), each measured and judged."""
    calls = results["per_call"] + results["pages"]

    def cpu(case: str, side: str = "runbridge") -> float:
        return float(_find(calls, case, side)["cpu_ratio"])

    def sdk_over_runbridge(case: str) -> float:
        return cpu(case, cases.SDK) / cpu(case)

    get1, get32 = "cyberdesk get (concurrency 1)", "cyberdesk get (concurrency 32)"
    page1 = "cyberdesk page of 100 (concurrency 1)"
    streamed = results["streaming"][0]["peak_mb"]
    imports = {row["side"]: row["cpu_ms"] for row in results["imports"]}
    first = imports["import runbridge"]
    then = next(ms for side, ms in imports.items() if side.startswith("runbridge."))
    # (target, goal, measured, met)
    measured: list[tuple[str, str, float, bool]] = [
        ("get CPU vs the floor, concurrency 1", "<= 1.15x", cpu(get1), cpu(get1) <= 1.15),
        ("get CPU vs the floor, concurrency 32", "<= 1.15x", cpu(get32), cpu(get32) <= 1.15),
    ]
    for provider in PROVIDERS:
        ratio = cpu(f"{provider} page of 100 (concurrency 1)")
        name = f"{provider} page of 100 CPU vs the floor"
        measured.append((name, "<= 1.8x", ratio, ratio <= 1.8))
    for row in results.get("instructions", []):
        if row["what"] == "translate" and row["code"] == "now":
            count = row["instructions"]
            name = f"{row['provider']} translation per run (instructions)"
            measured.append((name, f"<= {TRANSLATION_GOAL:,}", count, count <= TRANSLATION_GOAL))
    sdk_get, sdk_page = sdk_over_runbridge(get1), sdk_over_runbridge(page1)
    measured += [
        ("SDK / runbridge CPU, get", ">= 5x", sdk_get, sdk_get >= 5),
        ("SDK / runbridge CPU, page of 100", ">= 20x", sdk_page, sdk_page >= 20),
        ("peak memory growth listing 100,000 runs (MB)", "< 20 MB", streamed, streamed < 20),
        ("import runbridge (ms CPU)", "< 80 ms", first, first < 80),
        ("runbridge.providers() on top (ms CPU)", "< 60 ms", then, then < 60),
    ]
    return [
        {"target": name, "goal": goal, "measured": value, "met": "yes" if ok else "NO"}
        for name, goal, value, ok in measured
    ]


_CALL_COLUMNS = [
    ("case", "case"),
    ("side", "side"),
    ("cpu_us", "client CPU µs/call"),
    ("cpu_ratio", "CPU vs floor"),
    ("per_s", "calls/s"),
    ("rate_ratio", "calls/s vs floor"),
]


def render(results: dict[str, list[dict[str, Any]]], command: str) -> str:
    """The results block of docs/performance.md."""
    today = datetime.date.today().isoformat()
    return "\n\n".join(
        [
            START,
            f"Measured {today} with `{command}` on {platform.machine()}, "
            f"Python {platform.python_version()}, {platform.system()}, "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end.",
            "### Targets",
            _table(
                _verdicts(results),
                [("target", "target"), ("goal", "goal"), ("measured", "measured"), ("met", "met")],
            ),
            "### 1. Per-call client cost on the Cyberdesk emulator",
            "Client CPU per call; ratios against the floor (raw aiohttp + orjson fetching "
            "the URL runbridge fetches, with the same auth header) in the same run.",
            _table(results["per_call"], _CALL_COLUMNS),
            "### 2. A page of 100 on the Kognitos, Kognitos API and Runflow emulators",
            _table(results["pages"], _CALL_COLUMNS),
            "### 3. Translation (payload -> canonical Run, one core)",
            _table(results["translation"], [("side", "side"), ("per_s", "payloads/s")]),
            "### 4. Streaming list",
            _table(
                results["streaming"],
                [
                    ("case", "case"),
                    ("side", "side"),
                    ("per_s", "runs/s"),
                    ("peak_mb", "peak growth MB"),
                ],
            ),
            "### 5. Fan-out creates across the three emulators",
            _table(
                results["fanout"],
                [("side", "in flight"), ("created", "runs created"), ("per_s", "creates/s")],
            ),
            "### 6. Import time (median of fresh interpreters, bytecode cached)",
            _table(results["imports"], [("side", "what"), ("cpu_ms", "ms CPU"), ("ms", "ms wall")]),
            *_instruction_block(results.get("instructions")),
            END,
        ]
    )


def _instruction_block(rows: list[dict[str, Any]] | None) -> list[str]:
    """Section 7, when valgrind measured it: instructions per operation, by provider."""
    if not rows:
        return []
    return [
        "### 7. Instructions (callgrind, client process, user space)",
        "Per run translated (`to_run` with its lazy raw payload), per page of 100, per "
        "`get`; the floor fetches the same URL and parses it with `orjson.loads`. "
        "`bench/instructions.py` measures them; they do not depend on the load.",
        _table(
            rows,
            [
                ("provider", "provider"),
                ("what", "what"),
                ("code", "code"),
                ("instructions", "instructions"),
            ],
        ),
    ]


async def run_all(quick: bool, only: set[str]) -> dict[str, list[dict[str, Any]]]:
    """Every case (or those in ``only``), in order."""
    results: dict[str, list[dict[str, Any]]] = {}
    rounds = 2 if quick else 5
    steps: list[tuple[str, Callable[[], Awaitable[list[dict[str, Any]]]]]] = [
        ("per_call", lambda: cases.per_call(200 if quick else 3000, rounds=rounds)),
        ("pages", lambda: cases.pages(200 if quick else 3000, rounds=rounds)),
        ("translation", lambda: cases.translation(0.2 if quick else 2.0)),
        ("streaming", lambda: cases.streaming(2_000 if quick else 100_000)),
        ("fanout", lambda: cases.fanout(90 if quick else 1500)),
    ]
    for name, step in steps:
        if only and name not in only:
            continue
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        results[name] = await step()
    if not only or "imports" in only:
        print("bench: imports ...", file=sys.stderr, flush=True)
        results["imports"] = cases.imports(3 if quick else 9)
    # Instruction counts need valgrind and take minutes: full runs (or --only) only.
    if ("instructions" in only or not (only or quick)) and shutil.which("valgrind"):
        print("bench: instructions (valgrind) ...", file=sys.stderr, flush=True)
        import instructions

        results["instructions"] = await instructions.collect()
    return results


def main() -> int:
    """Run the benchmarks; write docs/performance.md unless ``--quick``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts; print only")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        choices=[*SECTIONS],
        help="run only this section (repeatable); prints its rows, writes nothing",
    )
    args = parser.parse_args()
    print(f"bench: runbridge from {Path(runbridge.__file__).parent}", file=sys.stderr)
    results = asyncio.run(run_all(args.quick, set(args.only)))
    if args.only:
        print(json.dumps(results, indent=1))
        return 0
    command = "bash scripts/bench.sh" + (" --quick" if args.quick else "")
    block = render(results, command)
    if args.quick:
        print(block)
        return 0
    text = DOC.read_text(encoding="utf-8")
    if START in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOC.write_text(text, encoding="utf-8")
    (DOC.parent.parent / "bench" / "results.json").write_text(json.dumps(results, indent=1))
    print(block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
