"""Values given on the command line: ``KEY=VALUE`` pairs, JSON, times, counts, request files,
and the plans of ``emulate``."""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runbridge import RunRequest

from .exits import UsageError


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


PLAN_OUTCOMES = ("succeeded", "failed", "cancelled", "running", "pending", "held")
"""What ``--plan`` takes: a canonical outcome, or ``held`` (the emulator's hold status)."""

PLAN_KEYS = frozenset({"outcome", "message", "failure", "queued", "running", "outputs", "native"})
"""The keys of one plan in a ``--plan-file``."""


def plan_spec(text: str) -> dict[str, Any]:
    """An argparse type: ``OUTCOME[:MESSAGE]`` as the fields of a plan (only ``failed``
    takes a message: the failure's text)."""
    outcome, sep, message = text.partition(":")
    if outcome not in PLAN_OUTCOMES:
        raise argparse.ArgumentTypeError(
            f"expected one of {', '.join(PLAN_OUTCOMES)} (failed:MESSAGE for a failure's "
            f"text), got {text!r}"
        )
    if not sep:
        return {"outcome": outcome}
    if outcome != "failed":
        raise argparse.ArgumentTypeError(
            f"only failed takes a :MESSAGE (the failure's text), got {text!r}"
        )
    if not message.strip():
        raise argparse.ArgumentTypeError(f"the message after 'failed:' is empty in {text!r}")
    return {"outcome": outcome, "message": message}


def plans_from_file(path: str) -> list[dict[str, Any]]:
    """The plans of a ``--plan-file``: ``[[plans]]`` tables of TOML, or, for a ``.json``
    file, ``{"plans": [...]}``; each with the keys of ``PLAN_KEYS``."""
    option = "--plan-file"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{option}: cannot read {path!r}: {exc.strerror}") from None
    try:
        document = json.loads(text) if path.endswith(".json") else tomllib.loads(text)
    except ValueError as exc:  # JSONDecodeError and TOMLDecodeError both are
        kind = "JSON" if path.endswith(".json") else "TOML"
        raise UsageError(f"{option}: {path!r} is not valid {kind}: {exc}") from None
    plans = document.get("plans") if isinstance(document, dict) else None
    if not isinstance(plans, list) or not plans or set(document) != {"plans"}:
        raise UsageError(f"{option}: {path!r} must hold a non-empty list 'plans' and nothing else")
    for index, plan in enumerate(plans):
        where = f"{option}: plans[{index}]"
        if not isinstance(plan, dict):
            raise UsageError(f"{where} must be a table of {', '.join(sorted(PLAN_KEYS))}")
        if unknown := sorted(set(plan) - PLAN_KEYS):
            raise UsageError(
                f"{where}: unknown key {unknown[0]!r} (keys: {', '.join(sorted(PLAN_KEYS))})"
            )
        if plan.get("outcome", "succeeded") not in PLAN_OUTCOMES:
            raise UsageError(
                f"{where}: outcome must be one of {', '.join(PLAN_OUTCOMES)}, "
                f"not {plan['outcome']!r}"
            )
    return plans
