"""A process that claims one batch slot in a journal, for tests of claims across processes.

``python journal_claimer.py LOCATION BATCH`` opens the journal (an SQLite path or a
PostgreSQL URL), claims slot 0 of ``BATCH``, prints the claim's outcome, and keeps
its claim (its process alive) until its standard input closes.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
from datetime import UTC, datetime

from runbridge.journal import JournalEntry, open_journal


async def main(location: str, batch: str) -> None:
    journal = open_journal(location)
    await journal.open()
    wanted = JournalEntry(
        token=secrets.token_hex(8),
        provider="kognitos",
        target="p/a",
        name=None,
        options={},
        fingerprint="f" * 64,
        since=datetime.now(UTC),
        batch=batch,
        index=0,
    )
    (claim,) = await journal.claim([wanted], lease=3600)
    print(claim.outcome, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await journal.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
