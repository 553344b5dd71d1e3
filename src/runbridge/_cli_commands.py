"""The commands that talk to a provider: create, get, list, wait, cancel, retry, bulk."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ._cli_progress import Counter, StatusBoard
from ._cli_render import Output, RunRows, bulk_errors_table, run_to_dict
from ._client import RunClient
from ._config import PROFILE_ENV, load_config, parse_config
from ._connect import connect
from ._errors import ConfigError, RunbridgeError, WaitTimeout
from ._model import BulkError, Run, RunRequest, RunStatus
from ._registry import default_registry

TOKEN_ENV = "RUNBRIDGE_TOKEN"  # noqa: S105 - the name of a variable, not a token
"""Where ``--provider`` reads the token when ``--token-env`` names no other variable."""

ADHOC_PROFILE = "command-line"
"""Name of the profile built from ``--provider``, ``--base-url``, ``--token-env``, ``--setting``."""

OK, RUN_FAILED, USAGE, PROVIDER_ERROR, INTERRUPTED = 0, 1, 2, 3, 130
"""Exit codes: success, the run did not succeed, usage or configuration, provider, Ctrl+C."""

_BULK_CHUNK = 100
"""Requests per ``create_many`` call in ``bulk``: the granularity of its progress bar."""


class UsageError(Exception):
    """The command line itself is wrong (exit code 2)."""


# -- parsing arguments --------------------------------------------------------------------


def parse_value(text: str) -> Any:
    """``42`` → 42, ``true`` → True, ``{"a": 1}`` → a dict; anything not JSON stays text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_pairs(items: Iterable[str], option: str) -> dict[str, Any]:
    """``key=value`` arguments as a dict, each value parsed by ``parse_value``."""
    pairs: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{option} expects KEY=VALUE, got {item!r}")
        pairs[key.strip()] = parse_value(value)
    return pairs


def read_json_argument(text: str, option: str) -> Any:
    """JSON given inline, or read from ``@path`` (``@-`` is standard input)."""
    source = "inline"
    if text.startswith("@"):
        source = text[1:]
        try:
            text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{option}: cannot read {source!r}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{option}: {source} value is not valid JSON: {exc}") from None


def inputs_from(args: argparse.Namespace) -> dict[str, Any]:
    """``--inputs-json`` as the base, then each ``--input`` on top."""
    inputs: dict[str, Any] = {}
    if args.inputs_json is not None:
        value = read_json_argument(args.inputs_json, "--inputs-json")
        if not isinstance(value, dict):
            raise UsageError("--inputs-json must be a JSON object")
        inputs.update(value)
    inputs.update(parse_pairs(args.input or (), "--input"))
    return inputs


def parse_time(text: str, option: str) -> datetime:
    """An ISO-8601 timestamp; one without an offset is taken as UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} expects an ISO-8601 time, got {text!r}") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def positive_float(text: str) -> float:
    """An argparse type: a number above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text!r}")
    return value


def count(text: str) -> int:
    """An argparse type: an integer of at least zero."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer of at least 0, got {text!r}")
    return value


def connect_from_args(args: argparse.Namespace) -> RunClient:
    """A client from ``--provider`` and friends, or from a profile of the configuration."""
    settings = [*args.settings, *getattr(args, "settings_after", [])]
    if args.provider is None:
        if args.base_url is not None or args.token_env is not None or settings:
            raise UsageError(
                "--base-url, --token-env and --setting go with --provider "
                "(a profile sets them in the configuration file)"
            )
        config = load_config(args.config)
        if not (args.profile or os.environ.get(PROFILE_ENV) or config.default_profile):
            known = ", ".join(sorted(config.profiles)) or "none"
            raise ConfigError(
                f"no profile chosen: pass --profile NAME (known: {known}), set "
                f"{PROFILE_ENV}, or set default_profile in {config.path}",
                field="profile",
            )
        return connect(profile=args.profile, config=config)
    if args.profile is not None or args.config is not None:
        raise UsageError("use either --provider or --profile/--config, not both")
    default_registry.adapter(args.provider)  # an unknown provider is the first thing to say
    token_env = args.token_env or TOKEN_ENV
    if not os.environ.get(token_env):
        raise ConfigError(
            f"--provider {args.provider}: environment variable {token_env!r} is not set "
            f"(it holds the token; name another with --token-env)",
            field="token_env",
        )
    body: dict[str, Any] = {
        "provider": args.provider,
        "token_env": token_env,
        "settings": parse_pairs(settings, "--setting"),
    }
    if args.base_url is not None:
        body["base_url"] = args.base_url
    # An in-memory profile gets the same checks as one from a file: settings ending in
    # _env are read from the environment, and credentials as literals are refused.
    return connect(profile=parse_config({"profiles": {ADHOC_PROFILE: body}}).profile(ADHOC_PROFILE))


# -- waiting ------------------------------------------------------------------------------


def outcome_code(run: Run) -> int:
    """1 for a run that ended failed or cancelled, else 0."""
    return RUN_FAILED if run.status in (RunStatus.FAILED, RunStatus.CANCELLED) else OK


async def _wait_and_show(
    client: RunClient, run: Run | str, args: argparse.Namespace, output: Output
) -> int:
    error: WaitTimeout | None = None
    with StatusBoard(output, transient=True) as board:
        line = board.add("")  # the ref is on the line already
        try:
            done = await client.wait(
                run,
                timeout=args.timeout,
                poll_interval=args.poll_interval,
                on_poll=lambda r: board.update(line, r),
            )
        except WaitTimeout as exc:
            error, done = exc, exc.run
    output.run(done)  # after a timeout too: the last state seen, for scripts
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


async def cancel(client: RunClient, args: argparse.Namespace, output: Output) -> int:
    """Cancel a run that has not finished."""
    output.run(await client.cancel(args.ref))
    return OK


async def retry(client: RunClient, args: argparse.Namespace, output: Output) -> int:
    """Run a finished run again (in place, or as a new run: the ref printed says which)."""
    output.run(await client.retry(args.ref))
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


def requests_from_file(path: str, target: str) -> list[RunRequest]:
    """``{"inputs": {...}, "name": ..., "options": {...}}`` per line; blank lines skipped."""
    try:
        lines = (
            sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        ).splitlines()
    except OSError as exc:
        raise UsageError(f"--file: cannot read {path!r}: {exc.strerror}") from None
    requests = []
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            item = json.loads(text)
        except ValueError as exc:
            raise UsageError(f"--file line {number}: not valid JSON: {exc}") from None
        if not isinstance(item, dict) or set(item) - {"inputs", "name", "options"}:
            raise UsageError(
                f'--file line {number}: expected {{"inputs": {{...}}, "name": ..., '
                f'"options": {{...}}}}, got {text[:80]!r}'
            )
        inputs, name, options = item.get("inputs", {}), item.get("name"), item.get("options", {})
        if not isinstance(inputs, dict) or not isinstance(options, dict):
            raise UsageError(f"--file line {number}: inputs and options must be objects")
        if name is not None and not isinstance(name, str):
            raise UsageError(f"--file line {number}: name must be a string")
        requests.append(RunRequest(target=target, inputs=inputs, name=name, options=options))
    return requests


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
    created: list[Run] = []
    errors: list[BulkError] = []
    with Counter(output, "creating", len(requests)) as counter:
        for start in range(0, len(requests), _BULK_CHUNK):
            chunk = requests[start : start + _BULK_CHUNK]
            try:
                result = await client.create_many(chunk, concurrency=args.concurrency)
            except RunbridgeError as exc:
                if start == 0:
                    raise  # nothing was created: an error like any other command's
                errors += [BulkError(str(exc), start + i, exc) for i in range(len(chunk))]
            else:
                created += result.runs
                errors += [
                    BulkError(e.message, None if e.index is None else start + e.index, e.error)
                    for e in result.errors
                ]
            counter.advance(len(chunk))
    _report_bulk(output, created, errors, len(requests))
    return OK if not errors and len(created) == len(requests) else RUN_FAILED


def _report_bulk(
    output: Output, runs: Sequence[Run], errors: Sequence[BulkError], asked: int
) -> None:
    if output.json:
        for run in runs:
            output.line(run_to_dict(run))
        for error in errors:
            output.line(_error_line(error))
        return
    RunRows(output).add(runs)
    if errors:
        output.out.print(bulk_errors_table(errors))
    style = "green" if not errors and len(runs) == asked else "red"
    output.note(f"created {len(runs)} of {asked}; {len(errors)} failed", style=style)


def _error_line(error: BulkError) -> Mapping[str, Any]:
    kind = type(error.error).__name__ if error.error is not None else "Error"
    return {"index": error.index, "error": {"type": kind, "message": error.message}}
