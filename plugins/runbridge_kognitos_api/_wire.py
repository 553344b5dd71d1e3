"""Kognitos API wire format: the run (``v1Run``), a page of runs, the invoke answer.

Only the fields the adapter reads are declared; responses decode from bytes straight
into these structs, and every other key stays untouched in ``Run.raw``. ``state`` and
the values stay plain JSON: their one-key objects are read by ``_states`` and
``_values``, tolerant of the shapes the spec leaves open.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class WireRun(msgspec.Struct, gc=False):
    """A ``v1Run``: identified by its resource ``name``, which is also runbridge's id."""

    name: str
    state: Any = None
    create_time: datetime | None = None
    update_time: datetime | None = None
    stage: str | None = None
    user_inputs: Any = None

    @property
    def id(self) -> str:
        """The run's id in runbridge: its resource name."""
        return self.name


class WireList(msgspec.Struct, gc=False):
    """A ``v1ListRunsResponse``; the token is left out (or empty) on the last page."""

    runs: list[WireRun] | None = None
    next_page_token: str | None = None


class WireInvoked(msgspec.Struct, gc=False):
    """A ``v1InvokeAutomationResponse``: the new run's id, nothing else."""

    run_id: str
