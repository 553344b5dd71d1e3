"""The journals the tests run against: an SQLite file, and a database on the throwaway
PostgreSQL server ``scripts/test.sh`` starts (``RUNBRIDGE_TEST_POSTGRES``).

Run without that variable, the ``postgres_server`` fixture starts a server of its own
with ``scripts/postgres.sh``; where none can be started the PostgreSQL tests skip,
except in CI (``CI`` set), where they fail: CI always runs them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "postgres.sh"
KINDS = ("sqlite", "postgres")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server on 127.0.0.1 the tests may make databases on."""
    url = os.environ.get("RUNBRIDGE_TEST_POSTGRES")
    if url:
        yield url
        return
    home = tempfile.mkdtemp(prefix="runbridge-pg-")
    os.chmod(home, 0o755)  # the server's own user must reach its directory
    try:
        started = subprocess.run(
            ["bash", str(SCRIPT), "start", f"{home}/pg", str(_free_port())],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if started.returncode != 0:
            message = f"no PostgreSQL server: {started.stderr.strip()[-300:]}"
            if os.environ.get("CI"):
                pytest.fail(message + " (CI must run the PostgreSQL tests)")
            pytest.skip(message + " (bash scripts/postgres.sh install)")
        yield started.stdout.strip()
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", f"{home}/pg"], check=False, timeout=120)
        shutil.rmtree(home, ignore_errors=True)


def database_url(server: str, name: str) -> str:
    """``server``'s URL naming database ``name``."""
    return urlunsplit(urlsplit(server)._replace(path=f"/{name}"))


async def _new_database(server: str) -> str:
    import asyncpg

    name = f"rb_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return name


async def _drop_database(server: str, name: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def postgres_url(postgres_server: str) -> AsyncIterator[str]:
    """A new, empty database on the test server, dropped afterwards."""
    name = await _new_database(postgres_server)
    yield database_url(postgres_server, name)
    await _drop_database(postgres_server, name)


@pytest.fixture(params=KINDS)
def journal_kind(request: pytest.FixtureRequest) -> str:
    """Each journal store in turn."""
    return str(request.param)


@pytest.fixture
async def journal_location(
    journal_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    """Where a journal of ``journal_kind`` lives: a new SQLite file or a new database."""
    if journal_kind == "sqlite":
        yield str(tmp_path / "journal.sqlite")
        return
    server: str = request.getfixturevalue("postgres_server")
    name = await _new_database(server)
    yield database_url(server, name)
    await _drop_database(server, name)
