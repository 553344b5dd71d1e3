"""runbridge: one async API for runs on several automation providers.

This namespace is what application code uses: ``connect``, the client, the
canonical model, the errors, profiles and fan-out, and their synchronous forms
(``connect_sync``, ``fanout_sync``). Adapter authors find their
kit in ``runbridge.adapter``; ``runbridge.emulation`` builds provider emulators
and ``runbridge.testing`` serves them to tests. Modules starting with ``_`` are
private. The kit's names that 0.1 exported from here still work from here, with a
``DeprecationWarning`` naming their new home, until 0.3 (docs/versions.md).
"""

from __future__ import annotations

from typing import Any

from ._client._config import Config, Profile, load_config, parse_config
from ._client._connect import connect
from ._client._fanout import Fanout, fanout
from ._client._outcomes import FanoutError, Outcome
from ._client._receiver import EventReceiver
from ._client._run_client import RunClient
from ._client._waiting import RunChange
from ._journal import JournalEntry
from ._model._capabilities import OPERATIONS, Capabilities, Pagination, Support
from ._model._errors import (
    AuthError,
    ConfigError,
    Conflict,
    InvalidRequest,
    JournalError,
    NotFound,
    PluginError,
    ProviderUnavailable,
    RateLimited,
    ResponseError,
    RunbridgeError,
    TLSError,
    UnsupportedOperation,
)
from ._model._events import EventRejected, RunEvent
from ._model._lifecycle import OnHold
from ._model._run import (
    BulkError,
    BulkResult,
    Failure,
    FailureKind,
    File,
    Hold,
    HoldKind,
    Page,
    Progress,
    Run,
    RunRef,
    RunRequest,
    RunStatus,
    RunUpdate,
)
from ._model._run_errors import (
    CreateUnconfirmed,
    IllegalTransition,
    RunHeld,
    UnknownStatus,
    WaitTimeout,
)
from ._plugins._registry import PluginInfo, ProviderInfo, plugins, providers
from ._sync._client import SyncRunClient, connect_sync
from ._sync._fanout import SyncFanout, fanout_sync
from ._sync._runner import SyncRunIterator
from ._wire._client_options import ClientOptions
from ._wire._logging import LogObserver
from ._wire._observe import Attempt, Observer, Operation
from ._wire._pagination import RunIterator
from ._wire._retry import RetryPolicy

__all__ = [
    "OPERATIONS",
    "Attempt",
    "AuthError",
    "BulkError",
    "BulkResult",
    "Capabilities",
    "ClientOptions",
    "Config",
    "ConfigError",
    "Conflict",
    "CreateUnconfirmed",
    "EventReceiver",
    "EventRejected",
    "Failure",
    "FailureKind",
    "Fanout",
    "FanoutError",
    "File",
    "Hold",
    "HoldKind",
    "IllegalTransition",
    "InvalidRequest",
    "JournalEntry",
    "JournalError",
    "LogObserver",
    "NotFound",
    "Observer",
    "OnHold",
    "Operation",
    "Outcome",
    "Page",
    "Pagination",
    "PluginError",
    "PluginInfo",
    "Profile",
    "Progress",
    "ProviderInfo",
    "ProviderUnavailable",
    "RateLimited",
    "ResponseError",
    "RetryPolicy",
    "Run",
    "RunChange",
    "RunClient",
    "RunEvent",
    "RunHeld",
    "RunIterator",
    "RunRef",
    "RunRequest",
    "RunStatus",
    "RunUpdate",
    "RunbridgeError",
    "Support",
    "SyncFanout",
    "SyncRunClient",
    "SyncRunIterator",
    "TLSError",
    "UnknownStatus",
    "UnsupportedOperation",
    "WaitTimeout",
    "connect",
    "connect_sync",
    "fanout",
    "fanout_sync",
    "load_config",
    "parse_config",
    "plugins",
    "providers",
]


# Errors show under the name they are caught by: ``runbridge.NotFound``, not the private
# module that defines it, in tracebacks, reprs and logs. Pickles name the public module too
# (every class here is importable from it), so they stay readable across refactorings.
for _name in __all__:
    _value = globals()[_name]
    if isinstance(_value, type) and issubclass(_value, BaseException):
        _value.__module__ = __name__
del _name, _value


_REMOVED_IN = "0.3"
"""The release in which the names 0.2 moved out of ``runbridge`` stop working there
(docs/versions.md: at least one minor release after the one that moved them)."""

_MOVED: dict[str, tuple[str, str]] = {
    # 0.1 name: (the module it comes from now, what the warning tells the reader)
    **{
        name: ("runbridge.adapter", f"use runbridge.adapter.{name}")
        for name in (
            "ENTRY_POINT_GROUP",
            "FILTERS",
            "RUN_FIELDS",
            "TRANSITIONS",
            "UUID_FORMAT",
            "Adapter",
            "Call",
            "ErrorInfo",
            "ErrorMap",
            "IdFormat",
            "NoSettings",
            "Registry",
            "Response",
            "RunFilter",
            "StatusMap",
            "can_transition",
            "check_transition",
            "format_timestamp",
            "hookimpl",
            "make_converter",
            "parse_decimal",
            "parse_timestamp",
            "register_plugin",
            "secret_setting",
            "structure",
        )
    },
    "TERMINAL": ("runbridge._model._run", "use RunStatus.is_terminal (status.is_terminal)"),
    "Redactor": (
        "runbridge._wire._redact",
        "Redactor is private now: the core redacts bodies, errors and logs itself",
    ),
}
"""Public names of runbridge 0.1 that 0.2 moved or retired, kept until ``_REMOVED_IN``
with a ``DeprecationWarning``; not in ``__all__`` nor in ``dir(runbridge)``."""


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version

        return version("runbridge")
    if name in _MOVED:
        import importlib
        import warnings

        module, instead = _MOVED[name]
        warnings.warn(
            f"runbridge.{name} is deprecated and stops working in runbridge {_REMOVED_IN}; "
            f"{instead}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module 'runbridge' has no attribute {name!r}")
