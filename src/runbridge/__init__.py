"""runbridge: one async API for runs on several automation providers.

This namespace is what application code uses: ``connect``, the client, the
canonical model, the errors, profiles and fan-out, and their synchronous forms
(``connect_sync``, ``fanout_sync``). Adapter authors find their
kit in ``runbridge.adapter``; ``runbridge.emulation`` builds provider emulators
and ``runbridge.testing`` serves them to tests. Modules starting with ``_`` are
private.
"""

from __future__ import annotations

from typing import Any

from ._capabilities import OPERATIONS, Capabilities, Pagination, Support
from ._client import RunClient
from ._config import Config, Profile, load_config, parse_config
from ._connect import connect
from ._errors import (
    AuthError,
    ConfigError,
    Conflict,
    CreateUnconfirmed,
    IllegalTransition,
    InvalidRequest,
    JournalError,
    NotFound,
    PluginError,
    ProviderUnavailable,
    RateLimited,
    ResponseError,
    RunbridgeError,
    RunHeld,
    TLSError,
    UnknownStatus,
    UnsupportedOperation,
    WaitTimeout,
)
from ._events import EventRejected, RunEvent
from ._fanout import Fanout, FanoutError, Outcome, fanout
from ._http import ClientOptions
from ._journal import JournalEntry
from ._logging import LogObserver
from ._model import (
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
from ._observe import Attempt, Observer, Operation
from ._pagination import RunIterator
from ._patience import OnHold
from ._receiver import EventReceiver
from ._registry import PluginInfo, ProviderInfo, plugins, providers
from ._retry import RetryPolicy
from ._sync import SyncRunClient, SyncRunIterator, connect_sync
from ._sync_fanout import SyncFanout, fanout_sync
from ._waiting import RunChange

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


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version

        return version("runbridge")
    raise AttributeError(f"module 'runbridge' has no attribute {name!r}")
