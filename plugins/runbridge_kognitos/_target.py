"""Kognitos targets: which process of which agent, in which stage, a run belongs to."""

from __future__ import annotations

import re

import attrs

ID_PATTERN = r"[a-zA-Z0-9_-]{1,26}"
"""Every Kognitos id (agent, process, run): 1 to 26 letters, digits, ``-`` or ``_``."""

STAGES = ("Draft", "Published")
"""Stages of a process; runs start from ``Published`` unless told otherwise."""

FORM = "'<agent_id>/<process_id>[@Draft|@Published]'"
"""The target syntax, as error messages show it."""

_TARGET = re.compile(
    rf"(?P<agent>{ID_PATTERN})/(?P<process>{ID_PATTERN})(?:@(?P<stage>{'|'.join(STAGES)}))?"
)


@attrs.frozen
class Target:
    """A process of an agent in one stage; ``str()`` gives the canonical spelling.

    The canonical spelling leaves out ``@Published``, the default stage, so that
    ``"a/p"`` and ``"a/p@Published"`` name the same target.
    """

    agent_id: str
    process_id: str
    stage: str = "Published"

    @classmethod
    def parse(cls, text: object) -> Target | None:
        """The target ``text`` names, or ``None`` when it is not in the expected form."""
        if not isinstance(text, str):
            return None
        match = _TARGET.fullmatch(text)
        if match is None:
            return None
        return cls(match["agent"], match["process"], match["stage"] or "Published")

    def __str__(self) -> str:
        return spell(self.agent_id, self.process_id, self.stage)


def spell(agent_id: str, process_id: str, stage: str) -> str:
    """The canonical spelling of a target, without building a ``Target`` (run reads)."""
    base = f"{agent_id}/{process_id}"
    return base if stage == "Published" else f"{base}@{stage}"


def describe_problem(text: object) -> str:
    """Why ``text`` is not a target, naming the expected form."""
    shown = repr(text[:80]) if isinstance(text, str) else type(text).__name__
    return (
        f"target must look like {FORM}, with ids of 1-26 letters, digits, '-' or '_'; got {shown}"
    )
