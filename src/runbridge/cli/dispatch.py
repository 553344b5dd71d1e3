"""From arguments to exit code: parse, run the command, and turn what it raises into one line.

``run`` returns the exit code instead of exiting, so it can be called from tests
and other programs; the console script and ``python -m runbridge`` exit with it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence

from runbridge import (
    InvalidRequest,
    LogObserver,
    RunbridgeError,
    RunClient,
    RunHeld,
    WaitTimeout,
    plugins,
    providers,
)

from . import commands
from .connection import connect_from_args
from .exits import INTERRUPTED, OK, PROVIDER_ERROR, RUN_FAILED, RUN_HELD, USAGE, UsageError
from .hints import in_flags
from .listen import listen
from .parser import PROG, build_parser
from .render import Output

ClientCommand = Callable[[RunClient, argparse.Namespace, Output], Awaitable[int]]
LocalCommand = Callable[[argparse.Namespace, Output], Awaitable[int]]


async def _providers(args: argparse.Namespace, output: Output) -> int:
    output.providers(providers())
    return OK


async def _plugins(args: argparse.Namespace, output: Output) -> int:
    output.plugins(plugins())
    return OK


def _local_commands() -> dict[str, LocalCommand]:
    """Commands that need no client; the emulators are imported only when one runs."""
    from .demo import demo
    from .emulate import emulate

    return {"providers": _providers, "plugins": _plugins, "emulate": emulate, "demo": demo}


CLIENT_COMMANDS: dict[str, ClientCommand] = {
    "create": commands.create,
    "get": commands.get,
    "list": commands.list_runs,
    "wait": commands.wait,
    "watch": commands.watch,
    "cancel": commands.cancel,
    "retry": commands.retry,
    "pause": commands.pause,
    "resume": commands.resume,
    "bulk": commands.bulk,
    "listen": listen,
}
"""Commands that talk to a provider through the client the global options choose."""


async def _dispatch(args: argparse.Namespace, output: Output) -> int:
    if args.command not in CLIENT_COMMANDS:
        return await _local_commands()[args.command](args, output)
    async with connect_from_args(args) as client:
        return await CLIENT_COMMANDS[args.command](client, args, output)


def _log_to_stderr(level: int) -> None:
    logger = logging.getLogger("runbridge")
    logger.setLevel(level)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)


def _fail(message: str, code: int) -> int:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr, flush=True)
    return code


def _said(exc: RunbridgeError, command: str | None) -> str:
    """The library's error in the command's words: its hints name options, not parameters."""
    field = exc.field if isinstance(exc, InvalidRequest) else None
    return in_flags(str(exc), command, field=field)


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (``sys.argv[1:]`` by default); returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        return _fail(str(exc), USAGE)
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else OK
    if args.command is None:
        parser.print_help(sys.stderr)
        return USAGE
    verbosity = args.verbose + getattr(args, "verbose_after", 0)
    if verbosity:  # as RUNBRIDGE_LOG does: the command's client logs to stderr
        level = logging.DEBUG if verbosity > 1 else logging.INFO
        _log_to_stderr(level)
        args.observers = [LogObserver(level)]
    try:
        return asyncio.run(_dispatch(args, Output(json=args.json)))
    except UsageError as exc:
        return _fail(str(exc), USAGE)
    except WaitTimeout as exc:
        return _fail(_said(exc, args.command), RUN_FAILED)
    except RunHeld as exc:
        return _fail(_said(exc, args.command), RUN_HELD)
    except InvalidRequest as exc:  # ConfigError included
        return _fail(_said(exc, args.command), USAGE)
    except RunbridgeError as exc:
        return _fail(_said(exc, args.command), PROVIDER_ERROR)
    except KeyboardInterrupt:
        return _fail("interrupted", INTERRUPTED)
    except BrokenPipeError:
        # The reader went away (`runbridge list | head`): that is not an error of ours.
        # Point stdout at /dev/null so that flushing it at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return OK
    except OSError as exc:
        return _fail(str(exc), PROVIDER_ERROR)
