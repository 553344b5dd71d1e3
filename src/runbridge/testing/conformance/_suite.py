"""The whole kit in one class."""

from __future__ import annotations

from ._app_testing import AppTestingConformance
from ._create import CreateConformance
from ._errors import ErrorConformance
from ._events import EventConformance
from ._exactly_once import ExactlyOnceConformance
from ._holds import HoldConformance
from ._lifecycle import LifecycleConformance
from ._listing import ListConformance
from ._statuses import StatusConformance
from ._writes import WriteConformance


class AdapterConformance(
    CreateConformance,
    LifecycleConformance,
    StatusConformance,
    HoldConformance,
    ListConformance,
    WriteConformance,
    ErrorConformance,
    ExactlyOnceConformance,
    AppTestingConformance,
    EventConformance,
):
    """Behaviour every adapter must show against its emulator, gated by capabilities:
    every part of the kit."""
