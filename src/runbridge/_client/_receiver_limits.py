"""What keeps ``EventReceiver.serve()`` answering while a hostile sender tries to stop it.

aiohttp has no timeout for a request's headers (a client that sends them a byte at a
time holds its connection for ever) and no cap on connections (so a flood of them runs
the process out of file descriptors, and asyncio then logs a traceback per failed
accept). So ``serve()`` accepts connections itself and hands each to aiohttp's own
request handler behind a ``ConnectionGuard``:

- a connection that has not sent a complete request within ``header_timeout`` (from when
  it opened, and again after each response) is closed;
- a request let through is bounded by ``request_timeout`` as a backstop (the receiver's
  own body and callback timeouts answer it before that);
- at most ``max_connections`` are open, and never more than half the process's
  open-file limit: at the cap a new connection closes the one that has waited longest
  without sending a request (once it has waited ``GRACE``), and while none can be
  closed the server stops accepting (new ones wait in the kernel's backlog);
- running out of file descriptors (``EMFILE``) is handled the same way, with one line.

Its refusals are logged through ``_quiet_logs``, so a flood cannot fill a log.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ._quiet_logs import RateLimitedLog, one_line

if TYPE_CHECKING:
    from aiohttp import web

BACKLOG = 1024
"""Connections the kernel holds for ``serve()`` while it accepts no more (the system may
lower it: ``somaxconn``). Large, so that a flood queues in order with a provider's
connection rather than having the provider's attempts dropped (they hold no descriptor
until accepted)."""
RETRY = 0.5
"""Seconds before accepting again after running out of file descriptors (at most)."""
GRACE = 0.25
"""Seconds a connection is idle before another may close it to make room: a sender
that has just been let in gets the time to send its request."""
_OUT_OF_FILES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_GONE = frozenset(
    code for name in ("ECONNABORTED", "ECONNRESET", "EPROTO", "EAGAIN", "EWOULDBLOCK")
    if (code := getattr(errno, name, None)) is not None
)  # fmt: skip
"""Accept errors that mean the client left first: nothing to report."""
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def open_file_cap() -> int | None:
    """Half the process's open-file limit (the rest is the application's), if it has one."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return None
    return max(1, soft // 2)


class _Connection(asyncio.Protocol):
    """One accepted connection: aiohttp's request handler, behind a deadline."""

    def __init__(self, inner: asyncio.Protocol, guard: ConnectionGuard) -> None:
        self._inner = inner
        self._guard = guard
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.idle_since = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._guard._opened(self, transport)
        self.idle()
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        transport, self._transport = self._transport, None
        self._guard._closed(self, transport)
        self._inner.connection_lost(exc)

    # -- the deadline ---------------------------------------------------------------------

    def busy(self) -> None:
        """A request came in: it has ``request_timeout``, and the connection is not idle."""
        self._guard._idle.pop(self, None)
        self._arm(self._guard.request_timeout, "request")

    def idle(self) -> None:
        """Waiting for a request (the first, or the next): ``header_timeout`` to send it."""
        if self._transport is None or self._transport.is_closing():
            return
        self.idle_since = asyncio.get_running_loop().time()
        self._guard._idle[self] = None
        self._arm(self._guard.header_timeout, "headers")

    def cut(self) -> None:
        """Close the connection now (its socket is freed on the next turn of the loop)."""
        self._guard._idle.pop(self, None)
        self._disarm()
        if self._transport is not None:
            self._transport.abort()

    def _arm(self, seconds: float, phase: str) -> None:
        self._disarm()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(seconds, self._expired, phase, seconds)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self, phase: str, seconds: float) -> None:
        self._timer = None
        if phase == "headers":
            self._guard.log.log(
                logging.INFO,
                "header-timeout",
                "closed a connection that sent no complete request within %g s",
                seconds,
            )
        else:
            self._guard.log.log(
                logging.WARNING,
                "request-timeout",
                "closed a connection whose request was not over within %g s",
                seconds,
            )
        self.cut()


class ConnectionGuard:
    """Accepts the connections of ``serve()`` and keeps them within the limits."""

    def __init__(
        self,
        *,
        header_timeout: float,
        request_timeout: float,
        max_connections: int,
        log: RateLimitedLog,
    ) -> None:
        self.header_timeout = header_timeout
        self.request_timeout = request_timeout
        self.grace = min(GRACE, header_timeout)
        files = open_file_cap()
        self.cap = max_connections if files is None else min(max_connections, files)
        self.log = log
        self._live: set[_Connection] = set()
        self._idle: dict[_Connection, None] = {}  # oldest first
        self._by_transport: dict[asyncio.BaseTransport, _Connection] = {}
        self._a_connection_closed = asyncio.Event()

    @property
    def open(self) -> int:
        """Connections open now."""
        return len(self._live)

    def middleware(self) -> Callable[..., Awaitable[web.StreamResponse]]:
        """An aiohttp middleware telling the guard when a request starts and ends."""
        from aiohttp import web

        @web.middleware
        async def guard(
            request: web.Request,
            handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
        ) -> web.StreamResponse:
            transport = request.transport
            connection = self._by_transport.get(transport) if transport is not None else None
            if connection is None:
                return await handler(request)
            connection.busy()
            try:
                return await handler(request)
            finally:
                connection.idle()

        return guard

    @contextlib.asynccontextmanager
    async def listen(
        self, protocol: Callable[[], asyncio.Protocol], host: str | None, port: int
    ) -> AsyncIterator[list[Any]]:
        """Accept on ``host``:``port`` while inside; yields the bound socket addresses.
        Every connection gets a protocol from ``protocol`` (aiohttp's ``web.Server``)."""
        sockets = _bind(host, port)
        accepting = [asyncio.create_task(self._accept(sock, protocol)) for sock in sockets]
        try:
            yield [sock.getsockname() for sock in sockets]
        finally:
            for task in accepting:
                task.cancel()
            await asyncio.gather(*accepting, return_exceptions=True)
            for sock in sockets:
                sock.close()

    # -- accepting ------------------------------------------------------------------------

    async def _accept(self, sock: socket.socket, protocol: Callable[[], asyncio.Protocol]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while len(self._live) >= self.cap and (wait := self._evictable_in()) != 0:
                # None can be closed yet (busy with requests, or just let in): new
                # connections wait in the kernel's backlog meanwhile.
                await self._until_one_closes(wait)
            try:
                conn, _ = await loop.sock_accept(sock)
            except OSError as exc:
                await self._accept_failed(exc)
                continue
            if len(self._live) >= self.cap and not self._evict():
                self._turn_away(conn)
                continue
            try:
                await loop.connect_accepted_socket(lambda: _Connection(protocol(), self), conn)
            except Exception as exc:  # the client left already, or aiohttp failed
                conn.close()
                self.log.log(logging.INFO, "accept", "dropped a new connection: %s", one_line(exc))

    async def _accept_failed(self, exc: OSError) -> None:
        if exc.errno in _GONE:
            return
        if exc.errno in _OUT_OF_FILES:
            self.log.log(
                logging.WARNING,
                "out-of-files",
                "could not accept a connection (%s) with %d open: accepting again once one closes",
                errno.errorcode.get(exc.errno or 0, exc.errno),
                len(self._live),
            )
            self._evict()
            # Its socket is freed when it closes; another part of the process may hold
            # the descriptors, so look again after a while all the same.
            await self._until_one_closes(RETRY)
            return
        self.log.log(logging.WARNING, "accept", "could not accept a connection: %s", one_line(exc))
        await asyncio.sleep(RETRY)

    def _evictable_in(self) -> float | None:
        """Seconds until the connection idle the longest may be closed (0: now); ``None``
        when every connection is busy with a request."""
        if not self._idle:
            return None
        oldest = next(iter(self._idle))
        return max(0.0, oldest.idle_since + self.grace - asyncio.get_running_loop().time())

    def _evict(self) -> bool:
        """Close the connection that has waited longest without a request, if it may."""
        if self._evictable_in() != 0:
            return False
        oldest = next(iter(self._idle))
        self.log.log(
            logging.WARNING,
            "evict",
            "%d connections open (the cap is %d): closed the one idle the longest",
            len(self._live),
            self.cap,
        )
        oldest.cut()
        return True

    def _turn_away(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            conn.send(_BUSY)  # a fresh socket's buffer takes these few bytes at once
        conn.close()
        self.log.log(
            logging.WARNING,
            "busy",
            "turned a connection away with 503: all %d open are busy with requests",
            len(self._live),
        )

    async def _until_one_closes(self, seconds: float | None = None) -> None:
        self._a_connection_closed.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._a_connection_closed.wait()

    # -- bookkeeping (called by _Connection) ----------------------------------------------

    def _opened(self, connection: _Connection, transport: asyncio.BaseTransport) -> None:
        self._live.add(connection)
        self._by_transport[transport] = connection

    def _closed(self, connection: _Connection, transport: asyncio.BaseTransport | None) -> None:
        self._live.discard(connection)
        self._idle.pop(connection, None)
        if transport is not None:
            self._by_transport.pop(transport, None)
        self._a_connection_closed.set()


def _bind(host: str | None, port: int) -> list[socket.socket]:
    """Listening sockets for every address ``host`` resolves to (all interfaces when
    empty); with port 0, one free port for them all."""
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    bound: list[socket.socket] = []
    seen: set[tuple[int, Any]] = set()
    try:
        for family, _, _, _, address in infos:
            if (family, address) in seen:
                continue
            seen.add((family, address))
            if bound and port == 0:
                address = (address[0], bound[0].getsockname()[1], *address[2:])
            try:
                sock = socket.create_server(address, family=family, backlog=BACKLOG)
            except OSError:
                if bound and port == 0:
                    continue  # that port is taken on this address: the others will do
                raise
            sock.setblocking(False)
            bound.append(sock)
    except BaseException:
        for sock in bound:
            sock.close()
        raise
    return bound
