"""The synchronous client and fan-out against emulators served over loopback HTTP."""

from __future__ import annotations

import _thread
import asyncio
import contextlib
import gc
import subprocess
import sys
import textwrap
import threading
import traceback
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

import runbridge
from memo_plugin.emulator import MemoEmulator
from runbridge import (
    CreateUnconfirmed,
    IllegalTransition,
    NotFound,
    RetryPolicy,
    RunRequest,
    RunStatus,
    SyncRunClient,
    UnsupportedOperation,
)
from runbridge.emulation import Emulator
from runbridge.testing import testing_options


@contextlib.contextmanager
def served(emulator: Emulator) -> Iterator[str]:
    """Serve ``emulator`` on 127.0.0.1 from a helper thread's loop; yield its base URL."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="emulator", daemon=True)
    thread.start()
    serving = emulator.serve()
    try:
        yield asyncio.run_coroutine_threadsafe(serving.__aenter__(), loop).result(10)
        asyncio.run_coroutine_threadsafe(serving.__aexit__(None, None, None), loop).result(10)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


@pytest.fixture(autouse=True)
def no_threads_left() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    gc.collect()
    left = [t for t in threading.enumerate() if t not in before]
    assert not left, left


@pytest.fixture
def memo() -> MemoEmulator:
    return MemoEmulator()


@pytest.fixture
def url(memo: MemoEmulator) -> Iterator[str]:
    with served(memo) as base_url:
        yield base_url


def sync_client(
    memo: MemoEmulator, url: str, *, options: runbridge.ClientOptions | None = None
) -> SyncRunClient:
    return runbridge.connect_sync(
        "memo",
        token=memo.token,
        base_url=url,
        options=options or testing_options(),
        **memo.client_settings(),
    )


@pytest.fixture
def client(memo: MemoEmulator, url: str) -> Iterator[SyncRunClient]:
    with sync_client(memo, url) as opened:
        yield opened


def loop_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("runbridge-sync")]


def test_every_operation(client: SyncRunClient, memo: MemoEmulator) -> None:
    assert (client.provider, client.profile) == ("memo", None)
    assert client.capabilities.support("create").value == "native"
    assert client.base_url.startswith("http://127.0.0.1:")
    assert repr(client).startswith("<SyncRunClient memo")
    assert not loop_threads()  # started on first use
    run = client.create("echo", inputs={"a": 1})
    assert len(loop_threads()) == 1
    assert client.ref(run.ref.id) == run.ref and client.target("echo") == "echo"
    assert client.get(run) == run
    moved = client.update(run, status="running")
    assert moved.status is RunStatus.RUNNING
    assert client.cancel(run).status is RunStatus.CANCELLED
    with pytest.raises(IllegalTransition):
        client.cancel(run)
    again = client.retry(run)
    assert again.ref != run.ref and dict(again.inputs) == {"a": 1}
    memo.advance(60)
    assert client.wait(again, timeout=5, poll_interval=0.01).status is RunStatus.SUCCEEDED
    bulk = client.create_many([RunRequest(target="echo", inputs={"n": n}) for n in range(5)])
    assert len(bulk.runs) == 5 and not bulk.errors
    listed = list(client.list(page_size=3))
    assert {r.ref for r in bulk.runs} <= {r.ref for r in listed}
    assert len(listed) == 7
    pages = list(client.list(page_size=3).pages())
    assert [len(p.items) for p in pages] == [3, 3, 1]
    assert client.list(limit=2).collect() == listed[:2]
    page = client.list_page(page_size=4)
    assert page.next_cursor is not None
    following = client.list_page(page_size=4, cursor=page.next_cursor)
    assert [*page.items, *following.items] == listed
    client.delete(run)
    with pytest.raises(NotFound):
        client.get(run)
    assert client.unconfirmed() == []
    with pytest.raises(runbridge.InvalidRequest, match="journal"):
        client.resolve("never-sent")


def test_a_listing_left_early_is_closed_on_the_loop(client: SyncRunClient) -> None:
    for n in range(4):
        client.create("echo", inputs={"n": n})
    listing = iter(client.list(page_size=1))
    first = next(listing)
    del listing  # left after one page: its async generator is closed on the loop
    assert first.target == "echo"
    assert client.get(first) == first  # the client goes on working


def test_errors_are_the_async_classes_raised_at_the_callers_line(
    client: SyncRunClient, memo: MemoEmulator
) -> None:
    with pytest.raises(NotFound) as caught:
        client.get(memo.unknown_id())
    frames = traceback.extract_tb(caught.value.__traceback__)
    assert frames[0].name == "test_errors_are_the_async_classes_raised_at_the_callers_line"
    assert caught.value.provider == "memo" and caught.value.operation == "get"
    boom = ValueError("from a callback")

    def explode(run: runbridge.Run) -> None:
        raise boom

    with pytest.raises(ValueError) as raised:
        client.wait(client.create("echo"), on_poll=explode)
    assert raised.value is boom  # the very object raised on the loop
    # Argument errors raised before any hand-off keep their classes too.
    with pytest.raises(runbridge.InvalidRequest):
        client.list(page_size=0)


def test_many_threads_share_one_client(client: SyncRunClient, memo: MemoEmulator) -> None:
    def work(n: int) -> tuple[str, str]:
        run = client.create("echo", inputs={"n": n})
        return run.ref.id, client.get(run).ref.id

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(work, range(64)))
    assert all(a == b for a, b in results)
    assert len({a for a, _ in results}) == 64
    assert len(loop_threads()) == 1
    memo.advance(60)
    with ThreadPoolExecutor(max_workers=8) as pool:
        done = list(pool.map(lambda a: client.wait(a[0], poll_interval=0.01), results[:8]))
    assert {r.status for r in done} == {RunStatus.SUCCEEDED}


def test_inside_a_running_event_loop(client: SyncRunClient, memo: MemoEmulator) -> None:
    async def notebook_cell() -> RunStatus:
        run = client.create("echo")  # a loop runs in this thread, as in Jupyter
        memo.advance(60)
        return client.wait(run, poll_interval=0.01).status

    assert asyncio.run(notebook_cell()) is RunStatus.SUCCEEDED


async def test_inside_an_async_test(client: SyncRunClient) -> None:
    run = client.create("echo")
    assert client.get(run).ref == run.ref


def test_calling_from_the_clients_own_loop_raises_instead_of_deadlocking(
    client: SyncRunClient,
) -> None:
    run = client.create("echo")
    with pytest.raises(RuntimeError, match="its own event-loop thread"):
        client.wait(run, timeout=5, poll_interval=0.01, on_poll=lambda r: client.get(r))
    assert client.get(run).ref == run.ref


def test_ctrl_c_stops_a_wait_promptly(client: SyncRunClient, memo: MemoEmulator) -> None:
    run = client.create("echo")  # the manual clock never moves: the run never finishes
    timer = threading.Timer(0.3, _thread.interrupt_main)
    timer.start()
    try:  # a wait that ignored Ctrl+C would end in WaitTimeout after 60 s instead
        with pytest.raises(KeyboardInterrupt):
            client.wait(run, timeout=60, poll_interval=0.02, max_interval=0.02)
    finally:
        timer.join()
    polled = len(memo.log)
    for _ in range(20):  # each a round trip on the loop the polling task ran on
        client.get(run)
    assert len(memo.log) == polled + 20  # the polling task was cancelled, not left running
    memo.advance(60)
    assert client.wait(run, poll_interval=0.01).status is RunStatus.SUCCEEDED


def test_close_leaves_no_thread_and_refuses_further_calls(memo: MemoEmulator, url: str) -> None:
    client = sync_client(memo, url)
    client.create("echo")
    assert len(loop_threads()) == 1
    client.close()
    client.close()  # idempotent
    assert client.closed and not loop_threads()
    with pytest.raises(RuntimeError, match="closed"):
        client.create("echo")


def test_close_after_errors_and_without_use(memo: MemoEmulator, url: str) -> None:
    with sync_client(memo, url) as unused:
        pass
    assert unused.closed and not loop_threads()
    with pytest.raises(NotFound), sync_client(memo, url) as failing:
        failing.get(memo.unknown_id())
    assert not loop_threads()
    memo.inject(500)
    with sync_client(memo, url, options=testing_options(retry=RetryPolicy.never())) as client:
        with pytest.raises(CreateUnconfirmed):
            client.create("echo")
        (pending,) = client.unconfirmed()
        with pytest.raises(UnsupportedOperation, match="cannot be found out"):
            client.resolve(pending.token)  # memo has no idempotency keys
    assert not loop_threads()


def test_unreachable_provider_and_unsupported_operations(memo: MemoEmulator) -> None:
    options = testing_options(retry=RetryPolicy.never())
    with (
        runbridge.connect_sync(
            "memo", token=memo.token, base_url="http://127.0.0.1:9", options=options
        ) as client,
        pytest.raises(runbridge.ProviderUnavailable),
    ):
        client.get(memo.unknown_id())
    assert not loop_threads()
    with (
        runbridge.connect_sync("runflow", token="t") as runflow,
        pytest.raises(UnsupportedOperation),
    ):
        runflow.cancel(f"runflow:{uuid.uuid4()}")  # without an admin token
    assert not loop_threads()


def test_a_dropped_client_is_closed_by_its_finalizer(memo: MemoEmulator, url: str) -> None:
    client = sync_client(memo, url)
    client.create("echo")
    del client
    gc.collect()
    assert not loop_threads()


def test_interpreter_exit_is_clean_without_close() -> None:
    script = textwrap.dedent(
        """
        import runbridge
        from runbridge.testing import testing_options
        client = runbridge.connect_sync(
            "runflow", token="t", base_url="http://127.0.0.1:9",
            options=testing_options(retry=runbridge.RetryPolicy.never()),
        )
        try:
            client.get("runflow:00000000-0000-4000-8000-000000000000")
        except runbridge.ProviderUnavailable:
            print("unavailable")
        """
    )
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "unavailable", "")


def test_sync_fanout(memo: MemoEmulator, url: str) -> None:
    other = MemoEmulator()
    with served(other) as other_url:
        members = []
        for label, emulator, base_url in (("a", memo, url), ("b", other, other_url)):
            client = runbridge.connect(
                "memo", token=emulator.token, base_url=base_url, options=testing_options()
            )
            client.profile = runbridge.Profile(name=label, provider="memo", token_env="UNUSED")
            members.append(client)
        with runbridge.fanout_sync(members) as fan:
            assert fan.members == ["a", "b"]
            created = fan.create("echo", inputs={"n": 1})
            assert [o.ok for o in created] == [True, True]
            memo.advance(60)
            other.advance(60)
            finished = fan.wait(created, poll_interval=0.01)
            assert [o.succeeded for o in finished] == [True, True]
            assert len(list(fan.list())) == 2
            assert len(fan.run("echo", poll_interval=0.01, timeout=0.05)) == 2
            memo.plan_next(queued=0, running=0)
            other.plan_next(queued=3600, running=3600)
            winner = fan.race("echo", poll_interval=0.01, timeout=5)
            assert (winner.member, winner.succeeded) == ("a", True)
            with pytest.raises(runbridge.ConfigError):
                runbridge.fanout_sync([runbridge.connect_sync("memo", token="t")])  # type: ignore[list-item]
        assert not loop_threads()
