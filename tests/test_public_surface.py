"""The public surface, pinned: every name each public namespace exports, exactly.

Adding, removing or renaming a public name is a decision: it changes this list, the
changelog says so, and a moved name keeps working from its old home with a
``DeprecationWarning`` (``tests/test_deprecations.py``). A name two namespaces share is
one object, from one place.
"""

from __future__ import annotations

import itertools
from types import ModuleType

import pytest

import runbridge
import runbridge.adapter
import runbridge.emulation
import runbridge.testing

SURFACE: dict[str, tuple[str, ...]] = {
    "runbridge": (
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
        "OPERATIONS",
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
    ),
    "runbridge.adapter": (
        "Adapter",
        "BulkPlan",
        "Call",
        "Capabilities",
        "Chunk",
        "ChunkResult",
        "ENTRY_POINT_GROUP",
        "ErrorInfo",
        "ErrorMap",
        "EventRejected",
        "FILTERS",
        "IdFormat",
        "LOOKUP_SKEW",
        "NoSettings",
        "OPERATIONS",
        "Option",
        "Options",
        "PageNumbers",
        "PageRequest",
        "Pagination",
        "RUN_FIELDS",
        "RateHeaders",
        "Registry",
        "Response",
        "RunEvent",
        "RunFilter",
        "StatusMap",
        "Support",
        "TRANSITIONS",
        "UUID_FORMAT",
        "VerifiedId",
        "body_replay_key",
        "can_transition",
        "check_transition",
        "default_registry",
        "format_timestamp",
        "header",
        "hookimpl",
        "make_converter",
        "new_run",
        "parse_decimal",
        "parse_timestamp",
        "register_plugin",
        "secret_setting",
        "structure",
        "verify_hmac_hex",
        "verify_standard_webhook",
    ),
    "runbridge.emulation": (
        "Auth",
        "BadCursor",
        "BearerAuth",
        "CREDENTIAL",
        "Clock",
        "CreatedRun",
        "Delivery",
        "DeliveryAttempt",
        "DeliveryFaultKind",
        "DeliveryFaults",
        "Emulator",
        "EventRoute",
        "FaultKind",
        "Faults",
        "HeaderAuth",
        "IdempotencyCache",
        "LoggedRequest",
        "MASK",
        "ManualClock",
        "Meaning",
        "NativeStatuses",
        "Outbound",
        "Paged",
        "Paging",
        "Phase",
        "Plan",
        "PollingClock",
        "RateLimit",
        "RateLimiter",
        "RateVerdict",
        "RealClock",
        "RunStore",
        "Stored",
        "Timeline",
        "iso",
        "json_response",
        "read_json",
    ),
    "runbridge.testing": (
        "EmulatedEvents",
        "HostedEmulator",
        "HostedState",
        "RawClient",
        "RawResponse",
        "emulated_client",
        "emulated_events",
        "emulated_fanout",
        "emulated_providers",
        "emulated_sync_client",
        "load_emulator",
        "raw_client",
        "testing_options",
    ),
}
MODULES: dict[str, ModuleType] = {
    module.__name__: module
    for module in (runbridge, runbridge.adapter, runbridge.emulation, runbridge.testing)
}


@pytest.mark.parametrize("module", list(SURFACE))
def test_each_namespace_exports_exactly_its_pinned_names(module: str) -> None:
    exported = MODULES[module].__all__
    assert len(exported) == len(set(exported)), f"{module}.__all__ repeats a name"
    assert sorted(exported) == sorted(SURFACE[module])


@pytest.mark.parametrize("module", list(SURFACE))
def test_every_exported_name_exists(module: str) -> None:
    missing = [n for n in SURFACE[module] if not hasattr(MODULES[module], n)]
    assert not missing


def test_a_name_two_namespaces_share_is_one_object() -> None:
    for a, b in itertools.combinations(SURFACE, 2):
        for name in set(SURFACE[a]) & set(SURFACE[b]):
            assert getattr(MODULES[a], name) is getattr(MODULES[b], name), f"{a}.{name}"
