"""runbridge: one async API for runs on several automation providers.

Everything public is listed in ``__all__``; modules starting with ``_`` are private.
``runbridge.testing`` (pytest plugin and conformance kit) and ``runbridge.emulation``
(building blocks for provider emulators) are public subpackages.
"""

from __future__ import annotations

from typing import Any

from ._adapter import (
    FILTERS,
    OPERATIONS,
    RUN_FIELDS,
    UUID_FORMAT,
    Adapter,
    Capabilities,
    ErrorInfo,
    ErrorMap,
    IdFormat,
    NoSettings,
    Pagination,
    StatusMap,
    Support,
    secret_setting,
)
from ._client import RunClient, connect
from ._config import Config, Profile, load_config, parse_config
from ._convert import format_timestamp, make_converter, parse_decimal, parse_timestamp, structure
from ._errors import (
    AuthError,
    ConfigError,
    Conflict,
    CreateUnconfirmed,
    IllegalTransition,
    InvalidRequest,
    NotFound,
    PluginError,
    ProviderUnavailable,
    RateLimited,
    ResponseError,
    RunbridgeError,
    UnsupportedOperation,
    WaitTimeout,
)
from ._fanout import Fanout, FanoutError, Outcome, fanout
from ._hookspecs import hookimpl
from ._lifecycle import TRANSITIONS, can_transition, check_transition
from ._model import (
    TERMINAL,
    BulkError,
    BulkResult,
    Failure,
    FailureKind,
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
from ._pagination import RunIterator
from ._redact import Redactor
from ._registry import ENTRY_POINT_GROUP, ProviderInfo, Registry, providers, register_plugin
from ._retry import RetryPolicy
from ._transport import Call, ClientOptions, Response

__all__ = [
    "ENTRY_POINT_GROUP",
    "FILTERS",
    "OPERATIONS",
    "RUN_FIELDS",
    "TERMINAL",
    "TRANSITIONS",
    "UUID_FORMAT",
    "Adapter",
    "AuthError",
    "BulkError",
    "BulkResult",
    "Call",
    "Capabilities",
    "ClientOptions",
    "Config",
    "ConfigError",
    "Conflict",
    "CreateUnconfirmed",
    "ErrorInfo",
    "ErrorMap",
    "Failure",
    "FailureKind",
    "Fanout",
    "FanoutError",
    "File",
    "IdFormat",
    "IllegalTransition",
    "InvalidRequest",
    "NoSettings",
    "NotFound",
    "Outcome",
    "Page",
    "Pagination",
    "PluginError",
    "Profile",
    "Progress",
    "ProviderInfo",
    "ProviderUnavailable",
    "RateLimited",
    "Redactor",
    "Registry",
    "Response",
    "ResponseError",
    "RetryPolicy",
    "Run",
    "RunClient",
    "RunFilter",
    "RunIterator",
    "RunRef",
    "RunRequest",
    "RunStatus",
    "RunUpdate",
    "RunbridgeError",
    "StatusMap",
    "Support",
    "UnsupportedOperation",
    "WaitTimeout",
    "can_transition",
    "check_transition",
    "connect",
    "fanout",
    "format_timestamp",
    "hookimpl",
    "load_config",
    "make_converter",
    "parse_config",
    "parse_decimal",
    "parse_timestamp",
    "providers",
    "register_plugin",
    "secret_setting",
    "structure",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version

        return version("runbridge")
    raise AttributeError(f"module 'runbridge' has no attribute {name!r}")
