"""A digest of a create's inputs: how a lost create is recognised without a key or a name.

The API keeps nothing of the caller's on a run but its inputs, and runbridge's journal
keeps no inputs (they may be private). So ``tag`` names the request with a digest of
its inputs in their wire form, the journal keeps that name, and ``claims`` compares it
with the digest of a listed run's ``user_inputs``, in the same process or in the one
that resolves the create after a crash. Both sides are digested in one canonical
spelling (decoded and encoded again), so ``12.5`` sent and ``{"lo": "125", ...}``
listed agree; the name is never sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

from ._values import decode_values, encode_inputs

PREFIX = "~inputs:"
"""How a digest name starts; a caller's own name never reaches the wire."""


def digest(inputs: Mapping[str, Any]) -> str:
    """The digest of plain inputs, by their canonical wire form."""
    canonical = encode_inputs(decode_values(encode_inputs(inputs), "inputs"))
    raw = orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)
    return PREFIX + hashlib.sha256(raw).hexdigest()[:32]


def digest_of_wire(user_inputs: object) -> str | None:
    """The digest of a run's ``user_inputs`` as listed (absent: none were sent), or
    ``None`` when they cannot be read."""
    try:
        return digest(decode_values(user_inputs, "user_inputs"))
    except (ValueError, TypeError):
        return None


def is_digest(name: object) -> bool:
    """Whether ``name`` is a digest ``tag`` made."""
    return isinstance(name, str) and name.startswith(PREFIX)


NO_INPUTS = digest({})
"""The digest of a create that sent no inputs (a run without ``user_inputs`` matches it)."""
