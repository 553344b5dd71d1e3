"""The core never imports an integration: ``import runbridge``, a client, a create and a
journal in a file pull in none of Dask, asyncpg or OpenTelemetry."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import asyncio, sys, tempfile, os
import runbridge
from runbridge.testing import emulated_client

async def main():
    path = os.path.join(tempfile.mkdtemp(), "j.sqlite")
    async with emulated_client("kognitos", journal=path) as (client, emulator):
        await client.create(emulator.default_target)
        await client.create_many([runbridge.RunRequest(target=emulator.default_target)])

asyncio.run(main())
loaded = sorted(m for m in ("distributed", "dask", "asyncpg", "opentelemetry") if m in sys.modules)
print(",".join(loaded))
"""


def test_the_core_imports_no_integration() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == ""
