"""The argument parser of the ``runbridge`` command: one small function per command."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, NoReturn

from runbridge import RunStatus

from .arguments import count, plan_spec, positive_float
from .connection import TOKEN_ENV
from .exits import EXIT_CODES, UsageError

PROG = "runbridge"

LISTEN_PORT = 8766
"""Where ``runbridge listen`` receives unless told otherwise."""

_REF_HELP = "the run, as provider:id (or just the id)"
_TARGET_HELP = "provider target, or a profile's alias"


class _Parser(argparse.ArgumentParser):
    """Reports usage errors as exceptions, so that ``main`` prints one line and returns 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


class _RefuseToken(argparse.Action):
    """``--token`` exists only to say why there is none."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        parser.error(
            "a token is never taken on the command line, where other processes can read "
            "it: put it in an environment variable and name that with --token-env"
        )


def add_global_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # Accepted before and after the command: the command's copies default to
    # SUPPRESS so that they only overwrite what was actually given.
    unset: Any = None if top else argparse.SUPPRESS
    group = parser.add_argument_group("global options (before or after the command)")
    group.add_argument(
        "--profile", metavar="NAME", default=unset,
        help="profile of the configuration (default: $RUNBRIDGE_PROFILE, else the "
        "file's default_profile)",
    )  # fmt: skip
    group.add_argument(
        "--config", metavar="PATH", default=unset,
        help="configuration file (default: $RUNBRIDGE_CONFIG, else ./runbridge.toml)",
    )  # fmt: skip
    group.add_argument(
        "--provider", metavar="NAME", default=unset,
        help="use this provider directly instead of a profile",
    )  # fmt: skip
    group.add_argument(
        "--base-url", metavar="URL", default=unset, help="with --provider: the API base URL"
    )
    group.add_argument(
        "--token-env", metavar="VAR", default=unset,
        help=f"with --provider: the environment variable holding the token (default {TOKEN_ENV})",
    )  # fmt: skip
    group.add_argument(
        "--setting", metavar="KEY=VALUE", action="append",
        dest="settings" if top else "settings_after", default=[] if top else argparse.SUPPRESS,
        help="with --provider: a provider setting (repeatable); KEY_env=VAR reads it from VAR",
    )  # fmt: skip
    group.add_argument(
        "--json", action="store_true", default=False if top else argparse.SUPPRESS,
        help="print JSON lines (one object per line) instead of tables",
    )  # fmt: skip
    group.add_argument(
        "-v", "--verbose", action="count", dest="verbose" if top else "verbose_after",
        default=0 if top else argparse.SUPPRESS,
        help="log each operation (-v), and each HTTP attempt (-vv), to stderr",
    )  # fmt: skip
    group.add_argument("--token", nargs="?", action=_RefuseToken, help=argparse.SUPPRESS)


def _add_wait_options(parser: argparse.ArgumentParser, *, timeout: float = 600.0) -> None:
    parser.add_argument(
        "--timeout", metavar="S", type=positive_float, default=timeout,
        help=f"give up waiting after S seconds (exit 1; default {timeout:g})",
    )  # fmt: skip
    parser.add_argument(
        "--poll-interval", metavar="S", type=positive_float, default=1.0,
        help="seconds between the first polls; backs off up to 30 (default 1)",
    )  # fmt: skip
    parser.add_argument(
        "--on-hold", choices=("stop", "wait"), default="stop",
        help="a run that waits for a person or is paused: stop at once (exit 4; the "
        "default), or keep waiting",
    )  # fmt: skip


def _add_input_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input", "-i", metavar="KEY=VALUE", action="append",
        help="an input (repeatable); VALUE is parsed as JSON when it is JSON, else kept as text",
    )  # fmt: skip
    parser.add_argument(
        "--inputs-json", metavar="JSON|@FILE",
        help="all inputs as one JSON object, inline or read from a file (@- for stdin)",
    )  # fmt: skip


def _no_arguments(sub: argparse.ArgumentParser) -> None:
    pass  # no arguments besides the global options


def _create(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("target", metavar="TARGET", help=_TARGET_HELP)
    _add_input_options(sub)
    sub.add_argument(
        "--name", metavar="NAME", help="a name for the run, where the provider has one"
    )
    sub.add_argument(
        "--option", metavar="KEY=VALUE", action="append",
        help="a provider-specific create option (repeatable; VALUE parsed like --input)",
    )  # fmt: skip
    sub.add_argument("--wait", action="store_true", help="wait for the run to finish")
    _add_wait_options(sub)


def _get(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("ref", metavar="REF", help=_REF_HELP)


def _list(sub: argparse.ArgumentParser) -> None:
    statuses = [s.value for s in RunStatus]
    sub.add_argument("--target", metavar="TARGET", help="only runs of this target (or alias)")
    sub.add_argument(
        "--status", metavar="STATUS", action="append", choices=statuses,
        help=f"only runs in this status (repeatable): {', '.join(statuses)}",
    )  # fmt: skip
    sub.add_argument("--limit", metavar="N", type=count, help="stop after N runs")
    sub.add_argument("--page-size", metavar="N", type=count, help="runs per request")
    sub.add_argument("--created-after", metavar="TIME", help="ISO-8601; UTC if no offset")
    sub.add_argument("--created-before", metavar="TIME", help="ISO-8601; UTC if no offset")


def _wait(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("ref", metavar="REF", help=_REF_HELP)
    _add_wait_options(sub)


def _cancel(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("ref", metavar="REF", help=_REF_HELP)


def _retry(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("ref", metavar="REF", help=_REF_HELP)


def _pause(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("ref", metavar="REF", help=_REF_HELP)
    sub.add_argument("--reason", metavar="TEXT", help="why, for the people who see the run")


def _bulk(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("target", metavar="TARGET", help=_TARGET_HELP)
    sub.add_argument("--count", metavar="N", type=count, help="start N runs with the same inputs")
    sub.add_argument(
        "--file", metavar="PATH",
        help='JSON lines, one run each: {"inputs": {...}, "name": ..., "options": {...}} '
        "(- for stdin)",
    )  # fmt: skip
    _add_input_options(sub)
    sub.add_argument(
        "--concurrency", metavar="N", type=int, default=8,
        help="creates in flight where the provider has no bulk endpoint (default 8)",
    )  # fmt: skip
    cluster = sub.add_mutually_exclusive_group()
    cluster.add_argument(
        "--dask", metavar="ADDRESS",
        help="spread the batch over the Dask cluster at this scheduler address (needs "
        "--journal, and the 'dask' extra); its workers read the credential from their "
        "environment",
    )  # fmt: skip
    cluster.add_argument(
        "--workers", metavar="N", type=count,
        help="spread the batch over a local Dask cluster of N worker processes",
    )  # fmt: skip
    sub.add_argument(
        "--shard-size", metavar="N", type=count, default=100,
        help="requests per task on the cluster (default 100)",
    )  # fmt: skip
    sub.add_argument(
        "--journal", metavar="FILE|URL",
        help="claim every create in this SQLite file (or postgresql:// database) first; run "
        "the same command again after a crash, or from another host, to finish the batch "
        "without creating any run twice",
    )  # fmt: skip


def _emulate(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("emulated", metavar="PROVIDER", help="the provider to emulate")
    sub.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    sub.add_argument(
        "--port", type=int, default=8765, help="port to bind (default 8765; 0 picks a free one)"
    )
    sub.add_argument(
        "--speed", metavar="X", type=positive_float, default=1.0,
        help="run X times faster than real time (default 1); the times of its runs then "
        "move ahead of the wall clock",
    )  # fmt: skip
    sub.add_argument(
        "--extra", metavar="NAME", action="append", default=[],
        help="turn on an undocumented convenience of the emulator (repeatable; "
        "the emulator serves only the documented API otherwise)",
    )  # fmt: skip
    sub.add_argument(
        "--events-to", metavar="URL",
        help="deliver every run's events (webhooks, callbacks) to URL, e.g. a 'runbridge "
        "listen'; the secret that signs them is printed (providers with run events only)",
    )  # fmt: skip
    plans = sub.add_mutually_exclusive_group()
    plans.add_argument(
        "--plan", metavar="OUTCOME[:MESSAGE]", action="append", type=plan_spec, default=[],
        help="how runs created end: succeeded, failed[:MESSAGE], cancelled, running, "
        "pending, or held (a status where the run waits for a person). Repeatable: each "
        "run created takes the next plan, the last one repeats",
    )  # fmt: skip
    plans.add_argument(
        "--plan-file", metavar="PATH",
        help="the plans from a TOML file ([[plans]] tables; .json: {\"plans\": [...]}) with "
        "outcome, message, failure, queued, running, outputs, native",
    )  # fmt: skip


def _demo(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--speed", metavar="X", type=positive_float, default=2.0,
        help="emulated time runs X times faster than real time (default 2: about 4 seconds)",
    )  # fmt: skip
    sub.add_argument(
        "--timeout", metavar="S", type=positive_float, default=60.0,
        help="give up on a run after S seconds (default 60)",
    )  # fmt: skip


def _listen(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    sub.add_argument(
        "--port", type=int, default=LISTEN_PORT,
        help=f"port to bind (default {LISTEN_PORT}; 0 picks a free one)",
    )  # fmt: skip
    sub.add_argument(
        "--secret-env", metavar="VAR", action="append", default=[],
        help="the environment variable holding a webhook secret (repeatable, for a "
        "rotation); default: the profile's webhook_secrets_env",
    )  # fmt: skip
    sub.add_argument(
        "--tolerance", metavar="S", type=positive_float, default=300.0,
        help="refuse deliveries signed more than S seconds from now (default 300)",
    )  # fmt: skip
    sub.add_argument(
        "--header-timeout", metavar="S", type=positive_float, default=None,
        help="close a connection that sends no complete request within S seconds (default 10)",
    )  # fmt: skip
    sub.add_argument(
        "--body-timeout", metavar="S", type=positive_float, default=None,
        help="answer 408 when a delivery's body takes longer than S seconds (default 30)",
    )  # fmt: skip
    sub.add_argument(
        "--max-connections", metavar="N", type=count, default=None,
        help="keep at most N connections open (default 256, at most half the open-file limit)",
    )  # fmt: skip


COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None]]] = {
    "providers": ("show every available provider and what it supports", _no_arguments),
    "plugins": ("show every loaded plugin, where it came from, and its providers", _no_arguments),
    "create": ("start a run", _create),
    "get": ("show a run", _get),
    "list": ("list runs, newest first, printed page by page as they arrive", _list),
    "wait": ("wait for a run to finish, showing its status", _wait),
    "watch": ("print a line each time a run changes, until it finishes", _wait),
    "cancel": ("cancel a run that has not finished", _cancel),
    "retry": ("run a finished run again", _retry),
    "pause": ("pause a run that has not finished, where the provider can", _pause),
    "resume": ("let a paused run go on, where the provider can", _retry),
    "bulk": ("start many runs of one target at once", _bulk),
    "listen": ("receive run events (webhooks) and print the verified ones", _listen),
    "emulate": ("serve a provider's emulator on this machine, for development", _emulate),
    "demo": ("runs on every provider's emulator, in-process: no account, no network", _demo),
}
"""Each command in the order ``--help`` lists them: its summary and what adds its arguments."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``runbridge`` command."""
    from importlib.metadata import version

    parser = _Parser(
        prog=PROG,
        description="Runs on several automation providers, through one interface.",
        epilog=EXIT_CODES + "\nSee docs/cli.md for the full reference.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # "--token x" must never be taken for "--token-env x"
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {version('runbridge')}")
    add_global_options(parser, top=True)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (summary, add_arguments) in COMMANDS.items():
        sub = subparsers.add_parser(
            name,
            help=summary,
            description=summary,
            epilog=EXIT_CODES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            allow_abbrev=False,
        )
        add_global_options(sub, top=False)
        add_arguments(sub)
    return parser


# -- the library's Python spellings in the command line's words -------------------------
