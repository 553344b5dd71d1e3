"""How a wait treats runs that will not finish on their own: held runs, unknown statuses."""

from __future__ import annotations

from typing import Literal

import attrs

OnHold = Literal["raise", "wait"]
"""What a wait does on a run that waits for a person or is paused: raise ``RunHeld``
at once (the default), or keep waiting."""

UNKNOWN_GRACE = 60.0
"""Seconds a wait reads a status the adapter cannot map before it gives up with
``UnknownStatus`` (a garbled answer, or a status being rolled out, passes in less)."""


@attrs.frozen
class Patience:
    """A wait's ``on_hold`` and ``unknown_grace`` (``None``: an unmappable status is
    waited on until the timeout)."""

    on_hold: OnHold = "raise"
    unknown_grace: float | None = UNKNOWN_GRACE
