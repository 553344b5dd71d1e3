"""Listing requests in the Runflow emulator: ``q`` filters, keyset cursors, paging."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ._facts import DEFAULT_LIMIT, MAX_LIMIT

T = TypeVar("T")


class Invalid(ValueError):
    """A request value the emulator refuses with 422; ``loc`` says where it was."""

    def __init__(self, message: str, loc: Sequence[str | int]) -> None:
        super().__init__(message)
        self.loc = list(loc)


_TERM = re.compile(
    r"(?P<neg>NOT\s+)?(?P<field>[a-z_]+)\s*(?P<op>:|=)\s*(?P<value>\"[^\"]*\"|[^\s\"()]+)"
)

Query = list[list[tuple[bool, str, str]]]
"""OR of ANDs of ``(negated, field, value)`` terms."""


def parse_q(text: str, fields: Collection[str]) -> Query:
    """``q`` as OR of ANDs of ``[NOT] field:value`` terms over ``fields``; no parentheses.

    ASSUMPTION: ``AND`` binds tighter than ``OR``; only ``:`` and ``=`` are served
    of the documented operators.
    """
    if not text.strip():
        return []
    if "(" in text or ")" in text:
        raise Invalid("parentheses are not supported in q", ["query", "q"])
    query: Query = []
    for part in re.split(r"\s+OR\s+", text.strip()):
        terms = []
        for term in re.split(r"\s+AND\s+", part.strip()):
            match = _TERM.fullmatch(term.strip())
            if match is None:
                raise Invalid(f"cannot parse the q term {term!r}", ["query", "q"])
            if match["field"] not in fields:
                raise Invalid(f"cannot filter on {match['field']!r}", ["query", "q"])
            terms.append((bool(match["neg"]), match["field"], match["value"].strip('"')))
        query.append(terms)
    return query


def q_matches(query: Query, row: Mapping[str, Any]) -> bool:
    """Whether a rendered record passes ``query`` (strings compare case-sensitively)."""
    if not query:
        return True
    return any(all((str(row.get(f)) == v) != neg for neg, f, v in terms) for terms in query)


@dataclass(frozen=True)
class Paging:
    """Pagination parameters of a list request."""

    limit: int
    pq: str | None
    back: bool
    sort: str


def paging(query: Mapping[str, str], *, sorts: Sequence[str]) -> Paging:
    """``limit`` (1-500), ``pq``, ``from_prev`` and ``sort_by`` of a list request."""
    raw = query.get("limit")
    try:
        limit = DEFAULT_LIMIT if raw is None else int(raw)
    except ValueError:
        raise Invalid("limit must be an integer", ["query", "limit"]) from None
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}", ["query", "limit"])
    back = query.get("from_prev", "false").lower()
    if back not in ("true", "false", "1", "0"):
        raise Invalid("from_prev must be a boolean", ["query", "from_prev"])
    sort = query.get("sort_by", sorts[0])
    if sort not in sorts:
        raise Invalid(f"sort_by must be one of {', '.join(sorts)}", ["query", "sort_by"])
    return Paging(limit, query.get("pq") or None, back in ("true", "1"), sort)
