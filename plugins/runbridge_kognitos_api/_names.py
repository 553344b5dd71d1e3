"""Kognitos API resource names: automations as targets, runs as refs.

A run's id in runbridge is its full resource name,
``organizations/{o}/workspaces/{w}/automations/{a}/runs/{r}``: the API addresses a run
by all four ids, and the name is what every run object carries. A target names an
automation the same way, ``organizations/{o}/workspaces/{w}/automations/{a}``, with
``@draft`` to run the latest draft instead of the published version.
"""

from __future__ import annotations

import re

import attrs

SEGMENT = r"[A-Za-z0-9_-]{1,52}"
"""One id: organization, workspace and run ids have no documented format (ASSUMPTION:
1-52 of ``A-Za-z0-9_-``, so that a run's resource name stays within the 256 characters
runbridge allows an id); automation ids are 21-character nano ids of the same alphabet,
accepted here in the wider form so a longer id is the provider's to refuse."""

STAGES = {"published": "AUTOMATION_STAGE_PUBLISHED", "draft": "AUTOMATION_STAGE_DRAFT"}
"""Target suffixes and the ``v1AutomationStage`` each invokes; published by default."""

_AUTOMATION = (
    rf"organizations/(?P<o>{SEGMENT})/workspaces/(?P<w>{SEGMENT})/automations/(?P<a>{SEGMENT})"
)
RUN_NAME = rf"{_AUTOMATION}/runs/(?P<r>{SEGMENT})"
"""A run's resource name, which is its runbridge id."""
RUN_ID = rf"organizations/{SEGMENT}/workspaces/{SEGMENT}/automations/{SEGMENT}/runs/{SEGMENT}"
"""``RUN_NAME`` without its groups: the id format checks every run read, and a match
that keeps no groups is the cheaper one."""

_RUN = re.compile(RUN_NAME)
_TARGET = re.compile(rf"{_AUTOMATION}(?:@(?P<stage>[A-Za-z_]+))?")
_SHORT = re.compile(rf"(?P<a>{SEGMENT})(?:@(?P<stage>[A-Za-z_]+))?")

AUTOMATION_PATH = "/api/v1/organizations/{}/workspaces/{}/automations/{}"
"""An automation's path; ``:invoke`` and ``/runs`` hang below it."""
RUN_PATH = AUTOMATION_PATH + "/runs/{}"
"""A run's path; ``:pause`` and ``:continue`` hang below it."""

FORM = "'organizations/<org>/workspaces/<workspace>/automations/<automation>[@draft]'"
"""The target syntax, as error messages show it."""


_ID = re.compile(SEGMENT)


def is_id(text: str) -> bool:
    """Whether ``text`` is one id (organization, workspace, automation or run)."""
    return _ID.fullmatch(text) is not None


@attrs.frozen
class Automation:
    """An automation of a workspace, and the stage a create invokes."""

    organization: str
    workspace: str
    automation: str
    stage: str = "published"

    @property
    def segments(self) -> tuple[str, str, str]:
        """The ids that fill ``AUTOMATION_PATH``."""
        return self.organization, self.workspace, self.automation

    @property
    def wire_stage(self) -> str:
        """The ``v1AutomationStage`` value to invoke."""
        return STAGES[self.stage]

    def __str__(self) -> str:
        base = (
            f"organizations/{self.organization}/workspaces/{self.workspace}"
            f"/automations/{self.automation}"
        )
        return base if self.stage == "published" else f"{base}@{self.stage}"


def parse_target(
    text: object, organization: str | None = None, workspace: str | None = None
) -> Automation | str:
    """The automation ``text`` names, or why it names none.

    With ``organization`` and ``workspace`` settings, a bare ``<automation>[@draft]``
    is enough. Stage suffixes are read in any case.
    """
    if not isinstance(text, str):
        return f"target must be a string, not {type(text).__name__}"
    match = _TARGET.fullmatch(text)
    if match is not None:
        where = (match["o"], match["w"], match["a"])
    elif (short := _SHORT.fullmatch(text)) is not None and organization and workspace:
        match, where = short, (organization, workspace, short["a"])
    else:
        hint = (
            ""
            if organization and workspace
            else (" (or '<automation>[@draft]' with the organization and workspace settings)")
        )
        return f"target must look like {FORM}{hint}, ids of 1-52 of A-Za-z0-9_-; got {text[:120]!r}"
    stage = (match["stage"] or "published").lower()
    if stage not in STAGES:
        return (
            f"unknown stage {match['stage']!r} in target {text[:120]!r}; use @draft or @published"
        )
    return Automation(*where, stage)


@attrs.frozen
class RunName:
    """The parts of a run's resource name."""

    automation: Automation
    run: str

    @classmethod
    def parse(cls, name: str) -> RunName | None:
        """The parts of ``name``, or ``None`` when it is not a run's resource name."""
        match = _RUN.fullmatch(name)
        if match is None:
            return None
        return cls(Automation(match["o"], match["w"], match["a"]), match["r"])

    @property
    def segments(self) -> tuple[str, str, str, str]:
        """The ids that fill ``RUN_PATH``."""
        return (*self.automation.segments, self.run)
