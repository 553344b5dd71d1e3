"""Whether the holder of a claim still runs, for processes on one host: a lock file each.

Every process that opens a file journal holds an exclusive ``flock`` on a file of
its own beside the journal for as long as it has the journal open. The kernel
drops the lock when the process ends, however it ends (SIGKILL included), so a
lock that can be taken is a holder that is gone. Holders on other hosts, and
hosts without ``flock``, cannot be told apart this way: their leases decide.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not on this platform: leases decide
    fcntl = None  # type: ignore[assignment]

from ._entry import host_of


class HolderLocks:
    """The lock files of one journal's holders, in ``<journal>.holders/``."""

    def __init__(self, journal: Path) -> None:
        self.directory = journal.with_name(journal.name + ".holders")
        self._fd: int | None = None
        self._path: Path | None = None
        self._host = socket.gethostname()

    def _file(self, holder: str) -> Path:
        return self.directory / (hashlib.sha256(holder.encode()).hexdigest()[:32] + ".lock")

    def hold(self, holder: str) -> None:
        """Take this process's lock, held until ``release`` or the process's end."""
        if fcntl is None or self._fd is not None:
            return
        self.directory.mkdir(exist_ok=True)
        path = self._file(holder)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._fd, self._path = fd, path

    def alive(self, holder: str) -> bool | None:
        """Whether ``holder`` still runs; ``None`` when this host cannot tell."""
        if fcntl is None or host_of(holder) != self._host:
            return None
        path = self._file(holder)
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return False  # it released its lock (closed the journal) or was found gone
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # drops the lock if it was taken
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return False

    def release(self) -> None:
        """Give the lock up (the journal is closed)."""
        if self._fd is None:
            return
        fd, path = self._fd, self._path
        self._fd = self._path = None
        with contextlib.suppress(OSError):
            if path is not None:
                path.unlink()
        os.close(fd)
