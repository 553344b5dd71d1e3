"""``ListRuns.filter``: the AIP-160 subset the spec documents.

The only field is ``create_time``, compared with ``= != < > <= >=`` to an RFC 3339
timestamp in double quotes; restrictions combine with ``AND``, ``OR``, ``NOT`` (or a
``-`` prefix) and parentheses. As in AIP-160's grammar, ``OR`` binds tighter than
``AND``: ``a AND b OR c`` is ``a AND (b OR c)``. Anything else (another field, an
unquoted or malformed timestamp, ``:``, a bare value, two restrictions side by side
without an operator) is an invalid filter: INVALID_ARGUMENT.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ._times import parse_rfc3339

FIELD = "create_time"
_NESTING = 32
LOWEST = -(10**30)
HIGHEST = 10**30
"""Bounds of a filter's span that leave that side open."""

_TOKEN = re.compile(r'\s+|\(|\)|<=|>=|!=|=|<|>|:|-|"(?:[^"\\]|\\.)*"|[^\s()<>=!:"-][^\s()<>=!:"]*')
_FLIP = {"=": "!=", "!=": "=", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}
_TESTS: dict[str, Callable[[int, int], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


class BadFilter(ValueError):
    """An expression outside the documented grammar; the message says why."""


@dataclass(frozen=True)
class Compare:
    """``create_time <op> "<timestamp>"``, the timestamp in nanoseconds."""

    op: str
    at: int


@dataclass(frozen=True)
class Both:
    """``AND`` of its parts."""

    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Either:
    """``OR`` of its parts."""

    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Negated:
    """``NOT`` (or ``-``) of its part."""

    part: Node


Node = Compare | Both | Either | Negated


@dataclass(frozen=True)
class Filter:
    """A parsed filter: which creation times it keeps, and the span they fall in."""

    root: Node | None

    def keeps(self, ns: int) -> bool:
        """Whether a run created at ``ns`` passes."""
        return self.root is None or _keeps(self.root, ns)

    def span(self) -> tuple[int, int]:
        """``(lowest, highest)`` creation time any kept run can have (a superset)."""
        return (LOWEST, HIGHEST) if self.root is None else _span(self.root, False)


def parse_filter(text: str) -> Filter:
    """The filter ``text`` states; ``BadFilter`` when it is not in the grammar."""
    tokens = _tokens(text)
    depth = 0
    for token in tokens:
        depth += {"(": 1, ")": -1}.get(token, 0)
        if depth > _NESTING:
            raise BadFilter(f"parentheses nest deeper than {_NESTING} levels")
    if not tokens:
        return Filter(None)
    parser = _Parser(tokens)
    root = parser.expression()
    if parser.peek() is not None:
        raise BadFilter(f"unexpected {parser.peek()!r}")
    return Filter(root)


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise BadFilter(f"cannot read the filter at {text[position : position + 10]!r}")
        if not match.group().isspace():
            tokens.append(match.group())
        elif tokens and tokens[-1] == "-":
            raise BadFilter("'-' must come right before what it negates")
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.position = 0

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise BadFilter("the filter ends too soon")
        self.position += 1
        return token

    def expression(self) -> Node:
        parts = [self.factor()]
        while self.peek() == "AND":
            self.take()
            parts.append(self.factor())
        if self.peek() not in (None, ")"):
            raise BadFilter(f"expected AND, OR or the end, found {self.peek()!r}")
        return parts[0] if len(parts) == 1 else Both(tuple(parts))

    def factor(self) -> Node:
        parts = [self.term()]
        while self.peek() == "OR":
            self.take()
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else Either(tuple(parts))

    def term(self) -> Node:
        if self.peek() in ("NOT", "-"):
            self.take()
            return Negated(self.simple())
        return self.simple()

    def simple(self) -> Node:
        word = self.take()
        if word == "(":
            inner = self.expression()
            if self.take() != ")":
                raise BadFilter("a '(' is not closed")
            return inner
        if word != FIELD:
            raise BadFilter(f"only {FIELD} can be filtered on, not {word!r}")
        op = self.take()
        if op not in _TESTS:
            raise BadFilter(f"{FIELD} takes = != < > <= >=, not {op!r}")
        value = self.take()
        if not (len(value) >= 2 and value[0] == value[-1] == '"'):
            raise BadFilter(f"{FIELD} compares to an RFC 3339 timestamp in double quotes")
        at = parse_rfc3339(value[1:-1])
        if at is None:
            raise BadFilter(f"{value} is not an RFC 3339 timestamp")
        return Compare(op, at)


def _keeps(node: Node, ns: int) -> bool:
    if isinstance(node, Compare):
        return _TESTS[node.op](ns, node.at)
    if isinstance(node, Both):
        return all(_keeps(part, ns) for part in node.parts)
    if isinstance(node, Either):
        return any(_keeps(part, ns) for part in node.parts)
    return not _keeps(node.part, ns)


def _span(node: Node, negated: bool) -> tuple[int, int]:
    if isinstance(node, Compare):
        op = _FLIP[node.op] if negated else node.op
        if op == "=":
            return node.at, node.at
        if op in ("<", "<="):
            return LOWEST, node.at
        if op in (">", ">="):
            return node.at, HIGHEST
        return LOWEST, HIGHEST
    if isinstance(node, Negated):
        return _span(node.part, not negated)
    spans = [_span(part, negated) for part in node.parts]
    if isinstance(node, Both) != negated:  # an AND, or a negated OR (De Morgan)
        return max(lo for lo, _ in spans), min(hi for _, hi in spans)
    return min(lo for lo, _ in spans), max(hi for _, hi in spans)
