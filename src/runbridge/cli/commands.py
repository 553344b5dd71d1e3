"""The commands that talk to a provider: create, get, list, wait, watch, cancel, retry,
pause, resume, bulk.

Each takes the connected client, the parsed arguments and the ``Output``, and
returns the exit code.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import attrs

from runbridge import (
    BulkError,
    OnHold,
    Run,
    RunbridgeError,
    RunClient,
    RunHeld,
    RunRequest,
    RunStatus,
    WaitTimeout,
)

from .arguments import inputs_from, parse_pairs, parse_time, requests_from_file
from .exits import OK, RUN_FAILED, UsageError
from .hints import in_flags
from .progress import Counter, StatusBoard
from .records import bulk_error_to_dict, run_to_dict
from .render import Output, RunRows, bulk_errors_table

_BULK_CHUNK = 100
"""Requests per ``create_many`` call in ``bulk``: the granularity of its progress bar."""


# -- waiting ------------------------------------------------------------------------------


def outcome_code(run: Run) -> int:
    """1 for a run that ended failed or cancelled, else 0."""
    return RUN_FAILED if run.status in (RunStatus.FAILED, RunStatus.CANCELLED) else OK


def _on_hold(args: argparse.Namespace) -> OnHold:
    return "wait" if getattr(args, "on_hold", "stop") == "wait" else "raise"


async def _wait_and_show(
    client: RunClient, run: Run | str, args: argparse.Namespace, output: Output
) -> int:
    error: WaitTimeout | RunHeld | None = None
    with StatusBoard(output, transient=True) as board:
        line = board.add("")  # the ref is on the line already
        try:
            done = await client.wait(
                run,
                timeout=args.timeout,
                poll_interval=args.poll_interval,
                on_poll=lambda r: board.update(line, r),
                on_hold=_on_hold(args),
            )
        except (WaitTimeout, RunHeld) as exc:
            if exc.run is None:  # the provider never answered in time: nothing to show
                raise
            error, done = exc, exc.run
    output.run(done)  # after a timeout or a hold too: the last state seen, for scripts
    if error is not None:
        raise error
    return outcome_code(done)


# -- commands -----------------------------------------------------------------------------


async def create(client: RunClient, args: argparse.Namespace, output: Output) -> int:
    """Start one run; with ``--wait`` follow it to the end."""
    options = parse_pairs(args.option or (), "--option")
    run = await client.create(args.target, inputs=inputs_from(args), name=args.name, **options)
    if not args.wait:
        output.run(run)
        return OK
    return await _wait_and_show(client, run, args, output)


async def get(client: RunClient, args: argparse.Namespace, output: Output) -> int:
    """Read one run."""
    run = await client.get(args.ref)
    output.run(run)
    return outcome_code(run)


async def wait(client: RunClient, args: argparse.Namespace, output: Output) -> int:
    """Follow a run until it finishes."""
    return await _wait_and_show(client, args.ref, args, output)


async def watch(client: RunClient, args: argparse.Namespace, output: Output) -> int:
    """Print a line each time the run changes, until it finishes."""
    last: Run | None = None
    async for change in client.watch(
        args.ref, timeout=args.timeout, poll_interval=args.poll_interval, on_hold=_on_hold(args)
    ):  # a timeout raises WaitTimeout (exit 1), a hold RunHeld (exit 4), after the last line
        last = change.run
        output.change(change.run, sorted(change.changed))
    assert last is not None  # the stream ends only after a terminal state
    return outcome_code(last)


async def cancel(client: RunClient, args: argparse.Namespace, output: Output) -> int:
    """Cancel a run that has not finished."""
    output.run(await client.cancel(args.ref))
    return OK


async def retry(client: RunClient, args: argparse.Namespace, output: Output) -> int:
    """Run a finished run again (in place, or as a new run: the ref printed says which)."""
    output.run(await client.retry(args.ref))
    return OK


async def pause(client: RunClient, args: argparse.Namespace, output: Output) -> int:
    """Pause a run that has not finished."""
    output.run(await client.pause(args.ref, reason=args.reason))
    return OK


async def resume(client: RunClient, args: argparse.Namespace, output: Output) -> int:
    """Let a paused run go on."""
    output.run(await client.resume(args.ref))
    return OK


async def list_runs(client: RunClient, args: argparse.Namespace, output: Output) -> int:
    """Print runs page by page as they arrive."""
    listing = client.list(
        target=args.target,
        status=args.status,
        created_after=parse_time(args.created_after, "--created-after")
        if args.created_after
        else None,
        created_before=parse_time(args.created_before, "--created-before")
        if args.created_before
        else None,
        page_size=args.page_size,
        limit=args.limit,
    )
    rows = RunRows(output)
    async for page in listing.pages():
        rows.add(page.items)
    if not output.json:
        output.note(f"{rows.count} run{'s' if rows.count != 1 else ''}", style="dim")
    return OK


async def bulk(client: RunClient, args: argparse.Namespace, output: Output) -> int:
    """Create many runs with ``create_many``; report every run and every failure by index."""
    if args.file is not None:
        if args.count is not None or args.input or args.inputs_json is not None:
            raise UsageError("--file excludes --count, --input and --inputs-json")
        requests = requests_from_file(args.file, args.target)
    elif args.count is not None:
        inputs = inputs_from(args)
        requests = [RunRequest(target=args.target, inputs=inputs) for _ in range(args.count)]
    else:
        raise UsageError("bulk needs --count N or --file requests.jsonl")
    if args.dask is not None or args.workers is not None:
        from .scale_out import bulk_on_cluster

        result = await bulk_on_cluster(client, args, requests, output)
        _report_bulk(output, list(result.runs), list(result.errors), len(requests))
        return OK if result.ok else RUN_FAILED
    created: list[Run] = []
    errors: list[BulkError] = []
    with Counter(output, "creating", len(requests)) as counter:
        for start in range(0, len(requests), _BULK_CHUNK):
            chunk = requests[start : start + _BULK_CHUNK]
            try:
                result = await client.create_many(
                    chunk, concurrency=args.concurrency, resume=args.journal is not None
                )
            except RunbridgeError as exc:
                if start == 0:
                    raise  # nothing was created: an error like any other command's
                errors += [BulkError(str(exc), start + i, exc) for i in range(len(chunk))]
            else:
                created += result.runs
                errors += [
                    BulkError(
                        e.message, None if e.index is None else start + e.index, e.error, e.token
                    )
                    for e in result.errors
                ]
            counter.advance(len(chunk))
    _report_bulk(output, created, errors, len(requests))
    return OK if not errors and len(created) == len(requests) else RUN_FAILED


def _report_bulk(
    output: Output, runs: Sequence[Run], errors: Sequence[BulkError], asked: int
) -> None:
    errors = [attrs.evolve(e, message=in_flags(e.message, "bulk")) for e in errors]
    if output.json:
        for run in runs:
            output.line(run_to_dict(run))
        for error in errors:
            output.line(bulk_error_to_dict(error))
        return
    RunRows(output).add(runs)
    if errors:
        output.out.print(bulk_errors_table(errors))
    style = "green" if not errors and len(runs) == asked else "red"
    output.note(f"created {len(runs)} of {asked}; {len(errors)} failed", style=style)
