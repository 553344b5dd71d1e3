"""Instruction counts of the read path: per run translated, per page of 100, per ``get``,
each against the floor (raw aiohttp + orjson fetching the same URL).

    .venv/bin/python bench/instructions.py                    # every provider
    .venv/bin/python bench/instructions.py --only cyberdesk   # one provider (repeatable)
    .venv/bin/python bench/instructions.py --before /tmp/old  # also an earlier tree

valgrind's callgrind counts the client process's user-space instructions; each figure is
the difference between runs of ``--calls`` and ``--calls + --more`` operations, divided by
``--more`` (and, for translation, by the runs of the page), so start-up, imports and
warm-up cancel out. The emulators run in processes of their own (not counted).
``--before`` names a directory holding the ``src/`` and ``plugins/`` of an earlier
revision (``git archive <ref> src plugins | tar -x -C DIR``): the same client code runs
from it through ``PYTHONPATH``. Instruction counts do not depend on the load of the
machine. Prints one JSON line per figure, quoted in ``docs/performance.md``;
``bench/run.py`` runs it for its ``instructions`` section.

What is counted:
- ``translate``: one run's translation on a page's read path, ``adapter.to_run`` of
  an already decoded wire run with its lazy raw payload (``response.raw("items", n)``);
- ``page``: ``client.list_page(page_size=100)``; ``floor-page``: the same URL fetched
  with the same auth header and parsed with ``orjson.loads``;
- ``get``, ``floor-get``: the same for one run (Cyberdesk only).
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
from typing import Any

from harness import emulator_process, requested_url

ROOT = Path(__file__).resolve().parent.parent

PROVIDERS = ("cyberdesk", "kognitos", "kognitos-api", "runflow")
LISTS_BY_TARGET = ("kognitos", "kognitos-api")
"""Providers that list the runs of one target only."""
PAGES = {
    "cyberdesk": ("runbridge_cyberdesk._wire:WirePage", "items"),
    "kognitos": ("runbridge_kognitos._wire:WireList", "items"),
    "kognitos-api": ("runbridge_kognitos_api._wire:WireList", "runs"),
    "runflow": ("runbridge_runflow._wire:WirePage", "items"),
}
"""Each adapter's page struct and the key of its runs (the path of each run's raw)."""

CLIENT = """
import asyncio, importlib, json, sys
import runbridge

async def main():
    what, calls, spec = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
    arguments = {"token": spec["token"], "base_url": spec["base_url"], **spec["settings"]}
    async with runbridge.connect(spec["provider"], **arguments) as client:
        if what == "get":
            async def op():
                await client.get(spec["run"])
        elif what == "page":
            async def op():
                await client.list_page(target=spec["list_target"], page_size=100)
        else:
            import aiohttp, orjson
            session = aiohttp.ClientSession(headers=spec["headers"])
            url = spec["get_url"] if what == "floor-get" else spec["page_url"]
            async def fetch():
                async with session.get(url) as response:
                    return await response.read()
            if what.startswith("floor"):
                async def op():
                    orjson.loads(await fetch())
            else:  # translate: the runs of one page, decoded once, translated each time
                from runbridge._model._payload import Body, decoder_for
                module, _, name = spec["page_struct"].partition(":")
                data = await fetch()
                items = getattr(
                    decoder_for(getattr(importlib.import_module(module), name)).decode(data),
                    spec["page_key"],
                )
                to_run, key = client.adapter.to_run, spec["page_key"]
                call = client._channel.call("list")
                async def op():
                    body = Body(data)
                    for n, item in enumerate(items):
                        to_run(call, item, body.at(key, n))
        for _ in range(20):  # warm: connection, caches
            await op()
        for _ in range(calls):
            await op()
        if what != "get" and what != "page":
            await session.close()

asyncio.run(main())
"""


def instructions(pythonpath: str | None, args: list[str]) -> int:
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
        cwd=ROOT,
    )
    try:
        for line in out.read_text().splitlines():
            if line.startswith(("totals:", "summary:")):
                return int(line.split()[1])
    finally:
        out.unlink(missing_ok=True)
    raise RuntimeError("callgrind wrote no totals")


async def _spec(provider: str, served: Any) -> dict[str, Any]:
    """What the client processes need: the emulator, a run, the URLs runbridge fetches."""
    import runbridge

    arguments = {"token": served.token, "base_url": served.base_url, **served.settings}
    async with runbridge.connect(served.provider, **arguments) as client:
        made = await client.create_many([runbridge.RunRequest(target=served.target)] * 120)
        assert made.ok, made.errors[:1]
        target = served.target if provider in LISTS_BY_TARGET else None
        run = made.runs[0].id
        page_url = await requested_url(
            client, lambda: client.list_page(target=target, page_size=100)
        )
        get_url = await requested_url(client, lambda: client.get(run))
        headers = dict(client.adapter.auth_headers(served.token))
    struct, key = PAGES[provider]
    return {
        "provider": served.provider,
        "token": served.token,
        "base_url": served.base_url,
        "settings": served.settings,
        "run": run,
        "list_target": target,
        "page_url": str(page_url),
        "get_url": str(get_url),
        "headers": headers,
        "page_struct": struct,
        "page_key": key,
    }


async def measure(
    provider: str, sides: list[tuple[str, str | None]], calls: int, more: int
) -> list[dict[str, Any]]:
    """The figures of one provider, for each side (label, ``PYTHONPATH``); each printed
    on stderr as a JSON line as soon as it is known."""
    rows: list[dict[str, Any]] = []
    async with emulator_process(provider) as served:
        spec = await _spec(provider, served)
        whats = ["translate", "page", "floor-page"]
        if provider == "cyberdesk":
            whats += ["get", "floor-get"]
        encoded = json.dumps(spec)
        for what in whats:
            for label, pythonpath in sides if not what.startswith("floor") else sides[-1:]:
                low, high = await asyncio.gather(
                    asyncio.to_thread(instructions, pythonpath, [what, str(calls), encoded]),
                    asyncio.to_thread(instructions, pythonpath, [what, str(calls + more), encoded]),
                )
                per_op = (high - low) / more
                if what == "translate":
                    per_op /= 100
                row = {
                    "provider": provider,
                    "what": what,
                    "code": "floor" if what.startswith("floor") else label,
                    "instructions": round(per_op),
                }
                print(json.dumps(row), file=sys.stderr, flush=True)
                rows.append(row)
    return rows


async def collect(
    providers: tuple[str, ...] = PROVIDERS,
    *,
    before: str | None = None,
    calls: int = 10,
    more: int = 40,
) -> list[dict[str, Any]]:
    """Every figure of ``providers``; with ``before`` (a directory), of that tree too."""
    sides: list[tuple[str, str | None]] = []
    if before:
        sides.append(("before", f"{before}/src:{before}/plugins"))
    sides.append(("now", None))
    rows: list[dict[str, Any]] = []
    for provider in providers:
        rows += await measure(provider, sides, calls, more)
    return rows


def main() -> None:
    """Measure, then print every figure as a JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="a directory with an earlier revision's src/ and plugins/")
    parser.add_argument("--only", action="append", default=[], choices=PROVIDERS)
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--more", type=int, default=40)
    args = parser.parse_args()
    before = str(Path(args.before).resolve()) if args.before else None
    rows = asyncio.run(
        collect(tuple(args.only) or PROVIDERS, before=before, calls=args.calls, more=args.more)
    )
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
