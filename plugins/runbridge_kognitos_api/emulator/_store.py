"""Where the emulator keeps automations and runs, declared for ``runbridge.emulation.RunStore``.

Each automation's runs are kept in listing order (newest or oldest first by
``create_time``, ties by creation sequence), so a page costs its own size plus a
bisection, whatever the history's length; a filter's span narrows the walk too.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from runbridge.emulation import Emulator, Paging, RunStore, Timeline

from ._facts import AUTOMATION_ID, DRAFT, NANO_ALPHABET, PLAIN_ID, PUBLISHED, STAGES
from ._filter import Filter
from ._runs import StoredRun
from ._times import nanos

Order = Literal["newest", "oldest"]
Position = tuple[int, int]
"""Where a run stands in a listing: its creation time and sequence, signed by the order."""

VERSIONS = {DRAFT: "1.1", PUBLISHED: "1.0"}
"""Stage versions of a new automation ("major.minor", as ``v1Automation.version``)."""

RUN_ID_SIZE = 24
"""Characters of a minted run id (ASSUMPTION: no format is documented)."""

PAGING = Paging.cursors()
"""``page_token``: opaque, reusable, bound to the automation, filter and page size."""

BAD_TOKEN = {
    "forged": "page_token is not a token this service issued",
    "scope": "page_token was issued for other parameters: every parameter other than "
    "page_token must match the call that provided it",
}


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


def new_automation(
    known: Automation | None,
    organization: str | None,
    workspace: str | None,
    automation: str | None,
    stages: Mapping[str, str] | Iterable[str],
) -> Automation:
    """An automation (``add_automation``): ids not given are minted, and it goes in
    the organization and workspace of ``known`` unless told otherwise."""
    organization = organization or (known.organization if known else mint(16))
    if workspace is None:
        same = known is not None and known.organization == organization
        workspace = known.workspace if known and same else mint(16)
    automation = automation or mint(21)
    for value in (organization, workspace):
        if not PLAIN_ID.fullmatch(value):
            raise ValueError(f"{value!r} is not an organization or workspace id")
    if not AUTOMATION_ID.fullmatch(automation):
        raise ValueError(f"{automation!r} is not an automation id (21 of A-Za-z0-9_-)")
    if isinstance(stages, Mapping):
        versions = dict(stages)
    else:
        versions = {stage: VERSIONS.get(stage, "1.0") for stage in stages}
    if bad := sorted(set(versions) - set(STAGES)):
        raise ValueError(f"unknown stages {bad}; use {STAGES}")
    return Automation(organization, workspace, automation, versions)


def run_store(emulator: Emulator, order: Order) -> RunStore[StoredRun]:
    """Runs by name (``{target}/runs/{run_id}``), each automation's in ``order``."""
    if order not in ("newest", "oldest"):
        raise ValueError(f"order must be 'newest' or 'oldest', not {order!r}")
    sign = -1 if order == "newest" else 1

    def position(run: StoredRun) -> Position:
        return (sign * run.created_ns, sign * run.seq)

    return RunStore(
        emulator,
        order=position,
        group=lambda run: run.automation,
        id_of=lambda run: run.name,
    )


def span(order: Order, wanted: Filter) -> tuple[Position, Position]:
    """The positions a filter's runs lie within: from the first, up to before the second."""
    low, high = wanted.span()
    if order == "newest":
        return (-high, -(2**63)), (-low, 2**63)
    return (low, -(2**63)), (high, 2**63)


def add_run(
    runs: RunStore[StoredRun],
    automation: Automation,
    stage: str,
    stage_version: str,
    inputs: dict[str, Any],
    user_id: str,
    timeline: Timeline,
) -> StoredRun:
    """Keep a new run of ``automation`` created at ``timeline.created``."""
    return runs.add(
        StoredRun(
            id=mint(RUN_ID_SIZE),
            automation=automation.target,
            seq=runs.next_seq(),
            created_ns=nanos(timeline.created),
            stage=stage,
            stage_version=stage_version,
            user_inputs=inputs,
            user_id=user_id,
            timeline=timeline,
        )
    )
