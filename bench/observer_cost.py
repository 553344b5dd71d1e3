"""What observing costs: instructions per ``get`` and per page of 100 runs, without an
observer and with each kind, against an earlier revision without observers at all.

    .venv/bin/python bench/observer_cost.py --before b480464

valgrind's callgrind counts the client process's user-space instructions; each figure is
the difference between runs of ``--calls`` and ``--calls + --more`` calls, divided by
``--more``, so start-up and imports cancel out. The emulator runs in a process of its
own (not counted). ``--before`` checks out that revision in a worktree and runs the
same client code from it (``PYTHONPATH``). Instruction counts do not depend on the
load of the machine. Prints JSON lines, quoted in ``docs/performance.md`` and
``docs/observability.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import emulator_process

ROOT = Path(__file__).resolve().parent.parent

CLIENT = """
import asyncio, json, sys
import runbridge

async def main():
    what, observer, calls = sys.argv[1], sys.argv[2], int(sys.argv[3])
    served = json.loads(sys.argv[4])
    observers = []
    if observer == "otel-noop":
        from runbridge.otel import OpenTelemetryObserver
        observers = [OpenTelemetryObserver()]
    elif observer == "otel-sdk":
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from runbridge.otel import OpenTelemetryObserver
        tracing = TracerProvider()
        tracing.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
        meters = MeterProvider(metric_readers=[InMemoryMetricReader()])
        observers = [OpenTelemetryObserver(tracer_provider=tracing, meter_provider=meters)]
    elif observer == "hook":
        class Hook:
            def operation_ended(self, op): pass
            def attempt_ended(self, attempt): pass
        observers = [Hook()]
    arguments = {"token": served["token"], "base_url": served["base_url"], **served["settings"]}
    if observers:
        arguments["observers"] = observers
    async with runbridge.connect(served["provider"], **arguments) as client:
        for _ in range(20):  # warm: connection, caches
            await client.get(served["run"])
            await client.list_page(page_size=100)
        for _ in range(calls):
            if what == "get":
                await client.get(served["run"])
            else:
                await client.list_page(page_size=100)

asyncio.run(main())
"""


def instructions(path: Path, pythonpath: str | None, args: list[str]) -> int:
    """User-space instructions of one client process under callgrind."""
    out = Path(tempfile.mkdtemp()) / "callgrind.out"
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-c",
            CLIENT,
            *args,
        ],
        check=True,
        env=env,
        capture_output=True,
        cwd=path,
    )
    for line in out.read_text().splitlines():
        if line.startswith(("totals:", "summary:")):
            return int(line.split()[1])
    raise RuntimeError("callgrind wrote no totals")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="an earlier revision to compare with (a git ref)")
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--more", type=int, default=400)
    args = parser.parse_args()
    async with emulator_process("cyberdesk") as served:
        import runbridge

        arguments = {"token": served.token, "base_url": served.base_url, **served.settings}
        async with runbridge.connect(served.provider, **arguments) as client:
            requests = [runbridge.RunRequest(target=served.target)] * 100
            made = await client.create_many(requests)
        spec = json.dumps(
            {
                "provider": served.provider,
                "token": served.token,
                "base_url": served.base_url,
                "settings": served.settings,
                "run": made.runs[0].id,
            }
        )
        sides: list[tuple[str, str | None, str]] = []
        worktree = None
        if args.before:
            worktree = Path(tempfile.mkdtemp()) / "before"
            await asyncio.to_thread(
                subprocess.run,
                ["git", "worktree", "add", "--detach", str(worktree), args.before],
                check=True,
                capture_output=True,
                cwd=ROOT,
            )
            sides.append((f"before ({args.before})", f"{worktree}/src:{worktree}/plugins", "none"))
        for observer in ("none", "hook", "otel-noop", "otel-sdk"):
            sides.append(("now", None, observer))
        try:
            for what in ("get", "page"):
                for label, pythonpath, observer in sides:
                    low = await asyncio.to_thread(
                        instructions, ROOT, pythonpath, [what, observer, str(args.calls), spec]
                    )
                    more = [what, observer, str(args.calls + args.more), spec]
                    high = await asyncio.to_thread(instructions, ROOT, pythonpath, more)
                    per_call = (high - low) / args.more
                    print(
                        json.dumps(
                            {
                                "call": what,
                                "code": label,
                                "observer": observer,
                                "instructions_per_call": round(per_call),
                            }
                        ),
                        flush=True,
                    )
        finally:
            if worktree is not None:
                await asyncio.to_thread(
                    subprocess.run,
                    ["git", "worktree", "remove", "--force", str(worktree)],
                    check=False,
                    capture_output=True,
                    cwd=ROOT,
                )


if __name__ == "__main__":
    asyncio.run(main())
