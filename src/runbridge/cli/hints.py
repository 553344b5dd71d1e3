"""The library's hints in the command's words: ``pass target='x'`` becomes
``pass --target x``, so an error read in a shell names the option to use."""

from __future__ import annotations

import argparse
import re
import shlex
from collections.abc import Callable
from typing import NamedTuple

from .parser import COMMANDS, add_global_options


class Flag(NamedTuple):
    """How the command line spells one of the library's parameters."""

    spelling: str
    """``--page-size``."""
    metavar: str | None
    """What it takes (``N``); ``None`` for a switch such as ``--wait``."""


_ALIASES = {"inputs": "input", "options": "option", "webhook_secrets": "secret_env"}
"""Parameters of the library whose option has another name."""

_PHRASES = (
    (
        "connect(..., webhook_secrets=[...])",
        "--secret-env VAR (or set webhook_secrets_env in the profile)",
    ),
    (
        "pass ClientOptions(allow_insecure_http=True)",
        "set allow_insecure_http = true in the profile's client table",
    ),
    (
        "resume the batch (resume=True)",
        "run the same command again (its --journal resumes the batch)",
    ),
)
"""Hints of the library written as Python calls, and what a shell user does instead."""

_KEYWORD = re.compile(r"(?<![\w.])([a-z][a-z0-9_]*)=('[^']*'|\"[^\"]*\"|\.\.\.|True\b)")
"""``name='value'``, ``name=...`` or ``name=True``: a keyword argument in a hint."""


def _flags(add_arguments: Callable[[argparse.ArgumentParser], None]) -> dict[str, Flag]:
    scratch = argparse.ArgumentParser(add_help=False)
    add_arguments(scratch)
    flags: dict[str, Flag] = {}
    for action in scratch._actions:  # argparse lists a parser's actions nowhere public
        spelled = [o for o in action.option_strings if o.startswith("--")]
        if not spelled or action.help == argparse.SUPPRESS:
            continue
        metavar = None if action.nargs == 0 else str(action.metavar or action.dest.upper())
        flags[action.dest] = Flag(spelled[0], metavar)
    return flags


def flags_of(command: str | None) -> tuple[dict[str, Flag], dict[str, Flag]]:
    """The options of ``command`` (none for another name) and the global ones, by the
    names of the library's parameters they stand for."""
    own = _flags(COMMANDS[command][1]) if command in COMMANDS else {}
    return own, _flags(lambda parser: add_global_options(parser, top=True))


def in_flags(text: str, command: str | None, *, field: str | None = None) -> str:
    """``text`` (an error, a note) with the library's Python spellings in ``command``'s
    words: ``pass target='x'`` becomes ``pass --target x``, and ``field``, the parameter
    an ``InvalidRequest`` names, its option (``page_size`` becomes ``--page-size``)."""
    own, common = flags_of(command)
    for phrase, words in _PHRASES:
        text = text.replace(phrase, words)

    def keyword(match: re.Match[str]) -> str:
        name, value = match[1], match[2]
        flag = own.get(_ALIASES.get(name, name)) or common.get(name)
        if flag is None:
            return match[0]
        if value == "True":
            return flag.spelling if flag.metavar is None else match[0]
        if value == "...":
            return f"{flag.spelling} {flag.metavar or ''}".rstrip()
        return f"{flag.spelling} {shlex.quote(value[1:-1])}"

    text = _KEYWORD.sub(keyword, text)
    flag = own.get(_ALIASES.get(field, field)) if field else None
    if field and flag is not None:
        text = text.removesuffix(f" [field '{field}']")
        if "_" in field:  # a plain word (name, target) may mean something else in the text
            text = re.sub(rf"(?<![\w'-]){re.escape(field)}(?![\w'])", flag.spelling, text)
        if flag.spelling not in text:
            text += f" [{flag.spelling}]"
    return text
