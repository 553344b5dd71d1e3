"""Where the emulator keeps automations and runs, and how a listing walks them.

Each automation's runs are kept in listing order (newest or oldest first by
``create_time``, ties by creation sequence), so a page costs its own size plus a
bisection, whatever the history's length; a filter's span narrows the walk too.
"""

from __future__ import annotations

import bisect
import itertools
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from runbridge.emulation import Timeline

from ._facts import NANO_ALPHABET
from ._filter import Filter
from ._runs import StoredRun
from ._times import nanos
from ._tokens import Position

Order = Literal["newest", "oldest"]

RUN_ID_SIZE = 24
"""Characters of a minted run id (ASSUMPTION: no format is documented)."""


def mint(size: int) -> str:
    """A random id of ``size`` URL-safe characters, as nano ids are."""
    return "".join(secrets.choice(NANO_ALPHABET) for _ in range(size))


@dataclass(frozen=True)
class Automation:
    """An automation that exists, and the version of each stage it has."""

    organization: str
    workspace: str
    id: str
    versions: Mapping[str, str]

    @property
    def target(self) -> str:
        """``organizations/{o}/workspaces/{w}/automations/{a}``."""
        workspace = f"organizations/{self.organization}/workspaces/{self.workspace}"
        return f"{workspace}/automations/{self.id}"


class RunStore:
    """Runs by name and by bare id, and each automation's runs in listing order."""

    def __init__(self, order: Order) -> None:
        if order not in ("newest", "oldest"):
            raise ValueError(f"order must be 'newest' or 'oldest', not {order!r}")
        self.order: Order = order
        self.runs: dict[str, StoredRun] = {}
        """Runs by name (``{target}/runs/{run_id}``)."""
        self._by_id: dict[str, StoredRun] = {}
        self._listed: dict[str, list[StoredRun]] = {}
        self._seq = itertools.count()

    def add(
        self,
        automation: Automation,
        *,
        stage: str,
        stage_version: str,
        inputs: dict[str, Any],
        user_id: str,
        timeline: Timeline,
    ) -> StoredRun:
        """Keep a new run of ``automation`` created at ``timeline.created``."""
        run = StoredRun(
            id=self.unused_id(),
            automation=automation.target,
            seq=next(self._seq),
            created_ns=nanos(timeline.created),
            stage=stage,
            stage_version=stage_version,
            user_inputs=inputs,
            user_id=user_id,
            timeline=timeline,
        )
        self.runs[run.name] = run
        self._by_id[run.id] = run
        listed = self._listed.setdefault(automation.target, [])
        bisect.insort(listed, run, key=self.key)
        return run

    def unused_id(self) -> str:
        """A well-formed run id no run has."""
        while (candidate := mint(RUN_ID_SIZE)) in self._by_id:
            pass  # pragma: no cover - 64**24 ids
        return candidate

    def find(self, run_id: str) -> StoredRun:
        """The run named ``run_id``, or whose bare id it is (``KeyError`` if none)."""
        run = self.runs.get(run_id) or self._by_id.get(run_id)
        if run is None:
            raise KeyError(f"no run {run_id!r}")
        return run

    def key(self, run: StoredRun) -> Position:
        """Where ``run`` stands in a listing."""
        if self.order == "newest":
            return (-run.created_ns, -run.seq)
        return (run.created_ns, run.seq)

    def walk(self, target: str, wanted: Filter, after: Position | None) -> Iterator[StoredRun]:
        """The runs of ``target`` the filter keeps, in listing order, after ``after``."""
        listed = self._listed.get(target, [])
        low, high = wanted.span()
        newest = self.order == "newest"
        first: Position = (-high, -(2**63)) if newest else (low, -(2**63))
        start = bisect.bisect_left(listed, first, key=self.key)
        if after is not None:
            start = max(start, bisect.bisect_right(listed, after, key=self.key))
        for run in itertools.islice(listed, start, None):
            if (run.created_ns < low) if newest else (run.created_ns > high):
                return
            if wanted.keeps(run.created_ns):
                yield run
