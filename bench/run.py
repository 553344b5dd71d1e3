"""Run every benchmark and write the results into docs/performance.md.

    .venv/bin/python bench/run.py            # full run (a few minutes)
    .venv/bin/python bench/run.py --quick    # smoke run: small counts, no file written

The emulators run in separate processes (``runbridge emulate``); every comparison
runs all its sides in the same run against the same emulator.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import platform
import re
import sys
from pathlib import Path
from typing import Any

import cases

DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
TARGETS = {
    "get CPU vs raw aiohttp (concurrency 1)": "<= 1.15x",
    "get CPU: SDK / runbridge (concurrency 1)": ">= 2x",
    "100-run page throughput vs raw aiohttp (concurrency 1)": ">= 0.6x",
    "peak memory growth listing 100,000 runs": "< 50 MB",
    "import runbridge": "< 150 ms",
}


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
    calls = results["per_call"]
    get1 = _find(calls, "get (concurrency 1)", "runbridge")
    sdk1 = _find(calls, "get (concurrency 1)", "cyberdesk SDK 2.2.69")
    page1 = _find(calls, "list page of 100 (concurrency 1)", "runbridge")
    stream = results["streaming"][0]
    imp = _find(results["imports"], "import time", "import runbridge")
    measured = {
        "get CPU vs raw aiohttp (concurrency 1)": (get1["cpu_ratio"], get1["cpu_ratio"] <= 1.15),
        "get CPU: SDK / runbridge (concurrency 1)": (
            sdk1["cpu_us"] / get1["cpu_us"],
            sdk1["cpu_us"] / get1["cpu_us"] >= 2,
        ),
        "100-run page throughput vs raw aiohttp (concurrency 1)": (
            page1["rate_ratio"],
            page1["rate_ratio"] >= 0.6,
        ),
        "peak memory growth listing 100,000 runs": (stream["peak_mb"], stream["peak_mb"] < 50),
        "import runbridge": (imp["ms"], imp["ms"] < 150),
    }
    return [
        {"target": name, "goal": TARGETS[name], "measured": value, "met": "yes" if ok else "NO"}
        for name, (value, ok) in measured.items()
    ]


def render(results: dict[str, list[dict[str, Any]]], command: str) -> str:
    """The results block of docs/performance.md."""
    today = datetime.date.today().isoformat()
    return "\n\n".join(
        [
            START,
            f"Measured {today} with `{command}` on {platform.machine()}, "
            f"Python {platform.python_version()}, {platform.system()}.",
            "### Targets",
            _table(
                _verdicts(results),
                [("target", "target"), ("goal", "goal"), ("measured", "measured"), ("met", "met")],
            ),
            "### 1. Per-call client cost (Cyberdesk emulator in its own process)",
            "CPU is the client process's CPU time per call; ratios are against raw "
            "aiohttp + orjson in the same run.",
            _table(
                results["per_call"],
                [
                    ("case", "case"),
                    ("side", "side"),
                    ("cpu_us", "client CPU µs/call"),
                    ("cpu_ratio", "CPU vs raw"),
                    ("per_s", "calls/s"),
                    ("rate_ratio", "calls/s vs raw"),
                ],
            ),
            "### 2. Translation (payload -> canonical Run, one core)",
            _table(results["translation"], [("side", "side"), ("per_s", "payloads/s")]),
            "### 3. Streaming list",
            _table(
                results["streaming"],
                [
                    ("case", "case"),
                    ("side", "side"),
                    ("per_s", "runs/s"),
                    ("peak_mb", "peak growth MB"),
                ],
            ),
            "### 4. Fan-out creates across the three emulators",
            _table(
                results["fanout"],
                [("side", "in flight"), ("created", "runs created"), ("per_s", "creates/s")],
            ),
            "### 5. Import time (median of 7 fresh interpreters)",
            _table(results["imports"], [("side", "what"), ("ms", "ms")]),
            END,
        ]
    )


async def run_all(quick: bool) -> dict[str, list[dict[str, Any]]]:
    """Every case, in order."""
    results: dict[str, list[dict[str, Any]]] = {}
    steps = [
        ("per_call", lambda: cases.per_call(200 if quick else 3000)),
        ("translation", lambda: cases.translation(0.2 if quick else 2.0)),
        ("streaming", lambda: cases.streaming(2_000 if quick else 100_000)),
        ("fanout", lambda: cases.fanout(90 if quick else 1500)),
    ]
    for name, step in steps:
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        results[name] = await step()
    results["imports"] = cases.imports()
    return results


def main() -> int:
    """Run the benchmarks; write docs/performance.md unless ``--quick``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts; print only")
    args = parser.parse_args()
    results = asyncio.run(run_all(args.quick))
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
