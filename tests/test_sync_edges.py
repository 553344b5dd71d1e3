"""The synchronous client at the edges of its process: after ``fork()``, and when the
calling thread raises while it waits (a signal handler's ``TimeoutError``)."""

from __future__ import annotations

import asyncio
import os
import select
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import runbridge
from runbridge import ConfigError, Run, RunStatus, SyncRunClient
from runbridge.emulation import Emulator, Faults
from runbridge.testing import emulated_sync_client, load_emulator, testing_options
from support import SETTLE, posts, until

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork() and SIGALRM")

TAGGED = ("kognitos", "kognitos-api", "runflow")
"""Providers whose lost creates are found again (by tag, or by inputs)."""


class MyAlarm(Exception):
    """A caller's own exception, raised from its signal handler."""


# -- fork ----------------------------------------------------------------------------------


def in_child(work: Callable[[], str], *, within: float = 30.0) -> str:
    """What ``work`` returns in a forked child (or ``raised ...``), reported through a pipe.

    A child that does not report within ``within`` seconds is killed and the test
    fails: a regression that hangs the child cannot hang the suite.
    """
    read, write = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork of threaded process
        pid = os.fork()
    if pid == 0:  # the child: report, and never return into pytest
        try:
            os.close(read)
            try:
                report = work()
            except BaseException as exc:
                report = f"raised {exc!r}"
            os.write(write, report.encode())
        finally:
            os._exit(0)
    os.close(write)
    chunks: list[bytes] = []
    try:
        end = time.monotonic() + within
        while True:
            ready, _, _ = select.select([read], [], [], max(end - time.monotonic(), 0.0))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                pytest.fail(f"the forked child did not finish within {within}s")
            chunk = os.read(read, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read)
        os.waitpid(pid, 0)
    return b"".join(chunks).decode()


def holder_locks(journal: Path) -> list[Path]:
    """The journal's holder lock files: one for each process that has it open."""
    return sorted(journal.with_name(journal.name + ".holders").iterdir())


def test_a_forked_child_is_told_to_connect_again_and_leaves_the_parent_alone(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "journal.sqlite"
    with emulated_sync_client("runflow", journal=journal) as (client, emulator):
        run = client.create(emulator.default_target)  # connections, journal and lock open
        locks = holder_locks(journal)
        assert len(locks) == 1

        def child() -> str:
            with client:  # the parent's block, left in the child: it must not hang
                try:
                    client.get(run)
                except ConfigError as exc:
                    error = exc
                else:
                    return "the parent's client worked in the child"
            assert client.closed
            with pytest.raises(ConfigError):
                client.create(emulator.default_target)
            # The fix the error names: a client of the child's own works.
            with runbridge.connect_sync(
                "runflow",
                token=emulator.token,
                base_url=client.base_url,
                options=testing_options(),
                **emulator.client_settings(),
            ) as own:
                assert own.get(run).ref == run.ref
            return f"{type(error).__name__}: {error}"

        report = in_child(child)
        assert report.startswith("ConfigError: "), report
        assert "Connect again in the child" in report and "connect_sync()" in report
        # The child closed nothing of the parent's: its journal lock, its connections.
        assert holder_locks(journal) == locks
        assert not client.closed
        assert client.get(run).ref == run.ref
        again = client.create(emulator.default_target, inputs={"n": 2})
        assert client.get(again).ref == again.ref
        assert client.unconfirmed() == []
    assert client.closed


def test_a_forked_child_is_told_to_call_fanout_sync_again() -> None:
    with emulated_sync_client("runflow") as (client, emulator):
        member = runbridge.connect(
            "runflow",
            token=emulator.token,
            base_url=client.base_url,
            options=testing_options(),
            **emulator.client_settings(),
        )
        with runbridge.fanout_sync([member]) as fan:
            (created,) = fan.create(emulator.default_target)
            assert created.ok

            def child() -> str:
                try:
                    fan.create(emulator.default_target)
                except ConfigError as exc:
                    fan.close()
                    return f"{type(exc).__name__}: {exc}"
                return "the parent's fan-out worked in the child"

            report = in_child(child)
            assert report.startswith("ConfigError: "), report
            assert "fan-out" in report and "fanout_sync()" in report
            (again,) = fan.create(emulator.default_target)
            assert again.ok and not fan.closed


# -- the caller's own exceptions -------------------------------------------------------------


@pytest.fixture
def alarm() -> Iterator[Callable[[BaseException], None]]:
    """``alarm(exc)``: from then on, SIGALRM raises ``exc`` in the test's (main) thread."""
    raising: list[BaseException] = []

    def handler(signum: int, frame: object) -> None:
        raise raising[-1]

    previous = signal.signal(signal.SIGALRM, handler)
    try:
        yield raising.append
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class AlarmOnFirstPoll:
    """Sets off SIGALRM soon after a wait's first read: while its caller is blocked in it.

    Use as ``on_poll`` or as an observer (``wait_polled``); both run on the loop thread.
    """

    def __init__(self) -> None:
        self.polls = 0

    def __call__(self, *_: object) -> None:
        self.polls += 1
        if self.polls == 1:
            signal.setitimer(signal.ITIMER_REAL, 0.01)

    wait_polled = __call__


class Looked(Exception):
    """Ends a wait once ``on_poll`` has looked at the loop."""


def tasks_left(client: SyncRunClient, run: Run) -> list[asyncio.Task[object]]:
    """What still runs on the client's loop besides the call that looks."""
    seen: list[asyncio.Task[object]] = []

    def look(_: Run) -> None:
        seen.extend(task for task in asyncio.all_tasks() if task is not asyncio.current_task())
        raise Looked

    with pytest.raises(Looked):
        client.wait(run, on_poll=look)
    return seen


MINE = [
    pytest.param(lambda: TimeoutError("my own deadline"), id="TimeoutError"),
    pytest.param(lambda: MyAlarm("from my handler"), id="custom"),
]


@pytest.mark.runbridge_clock("manual")
@pytest.mark.runbridge_providers("runflow")
@pytest.mark.parametrize("make", MINE)
def test_the_callers_exception_stops_a_wait_and_goes_on_up(
    runbridge_sync_client: SyncRunClient,
    runbridge_emulator: Emulator,
    alarm: Callable[[BaseException], None],
    make: Callable[[], BaseException],
) -> None:
    client = runbridge_sync_client
    run = client.create(runbridge_emulator.default_target)  # the clock never moves
    mine = make()
    alarm(mine)
    with pytest.raises(type(mine)) as caught:
        client.wait(run, timeout=10, poll_interval=0.01, on_poll=AlarmOnFirstPoll())
    assert caught.value is mine
    assert tasks_left(client, run) == []  # the polling was cancelled, not left running
    runbridge_emulator.advance(SETTLE)
    assert client.wait(run, poll_interval=0.01).status is RunStatus.SUCCEEDED


def test_the_callers_timeout_error_stops_a_sync_fanout_wait(
    alarm: Callable[[BaseException], None],
) -> None:
    emulator = load_emulator("runflow")
    emulator.plan_next(queued=SETTLE, running=SETTLE)
    with emulated_sync_client("runflow", emulator=emulator) as (client, _):
        member = runbridge.connect(
            "runflow",
            token=emulator.token,
            base_url=client.base_url,
            options=testing_options(),
            observers=[AlarmOnFirstPoll()],
            **emulator.client_settings(),
        )
        with runbridge.fanout_sync([member]) as fan:
            created = fan.create(emulator.default_target)
            mine = TimeoutError("my own deadline")
            alarm(mine)
            with pytest.raises(TimeoutError) as caught:
                fan.wait(created, timeout=10, poll_interval=0.01)
            assert caught.value is mine
            (again,) = fan.create(emulator.default_target)
            assert again.ok


@pytest.mark.parametrize("provider", TAGGED)
def test_a_create_stopped_by_the_callers_exception_keeps_its_token(
    provider: str, alarm: Callable[[BaseException], None]
) -> None:
    emulator = load_emulator(provider)
    emulator.faults = Faults(slow=1.0, slow_seconds=0.3, methods={"POST"})
    main = threading.main_thread().ident
    assert main is not None

    def interrupt_once_sent() -> None:  # as an alarm would, while the answer is awaited
        asyncio.run(until(lambda: posts(emulator) == 1))
        signal.pthread_kill(main, signal.SIGALRM)

    with emulated_sync_client(provider, emulator=emulator) as (client, _):
        mine = TimeoutError("my own deadline")
        alarm(mine)
        interrupter = threading.Thread(target=interrupt_once_sent)
        interrupter.start()
        try:
            with pytest.raises(TimeoutError) as caught:
                client.create(emulator.default_target, inputs={"n": 2})
        finally:
            interrupter.join()
        assert caught.value is mine
        (pending,) = client.unconfirmed()  # the caller's exception lost nothing
        asyncio.run(until(lambda: len(emulator.runs) == 1))  # the server made it anyway
        emulator.faults = None
        found = client.resolve(pending.token)
        assert found is not None and list(emulator.runs) == [found.id]
        assert client.unconfirmed() == []
