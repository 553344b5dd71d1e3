"""The model wing: runs, errors, events and lifecycle, and the declarations that describe
a provider (capabilities, status and error maps, options). Imports nothing else of runbridge.

Runbridge 0.1 pickled its model classes under ``runbridge._model``; the names stay
readable here so those pickles still load.
"""

from ._run import (
    BulkError,
    BulkResult,
    Failure,
    File,
    Page,
    Progress,
    Run,
    RunFilter,
    RunRef,
    RunRequest,
    RunStatus,
    RunUpdate,
)

__all__ = [
    "BulkError",
    "BulkResult",
    "Failure",
    "File",
    "Page",
    "Progress",
    "Run",
    "RunFilter",
    "RunRef",
    "RunRequest",
    "RunStatus",
    "RunUpdate",
]
