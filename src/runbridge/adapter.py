"""The adapter authoring kit: what a provider plugin needs, and nothing an application does.

An adapter subclasses ``Adapter``, declares its capabilities, id format, status
and error mappings and options as data, and translates one wire format; the
core owns sessions, retries, deadlines, pagination, bulk chunking and the
lost-create lookup. ``runbridge.emulation`` builds the provider's emulator and
``runbridge.testing.conformance`` checks the pair. See ``docs/adapter-authoring.md``.
"""

from __future__ import annotations

from ._creates._lookup import LOOKUP_SKEW
from ._model._canonical import new_run
from ._model._capabilities import (
    FILTERS,
    OPERATIONS,
    RUN_FIELDS,
    UUID_FORMAT,
    Capabilities,
    IdFormat,
    Pagination,
    Support,
)
from ._model._events import (
    EventRejected,
    RunEvent,
    VerifiedId,
    body_replay_key,
    header,
    verify_hmac_hex,
    verify_standard_webhook,
)
from ._model._lifecycle import TRANSITIONS, can_transition, check_transition
from ._model._mapping import ErrorInfo, ErrorMap, StatusMap
from ._model._options import Option, Options
from ._model._run import RunFilter
from ._plugins._adapter import Adapter, NoSettings, secret_setting
from ._plugins._hookspecs import hookimpl
from ._plugins._registry import ENTRY_POINT_GROUP, Registry, default_registry, register_plugin
from ._wire._bulk import BulkPlan, Chunk, ChunkResult
from ._wire._call import Call
from ._wire._convert import (
    format_timestamp,
    make_converter,
    parse_decimal,
    parse_timestamp,
    structure,
)
from ._wire._http import Response
from ._wire._pages import PageNumbers, PageRequest
from ._wire._throttle import RateHeaders

__all__ = [
    "ENTRY_POINT_GROUP",
    "FILTERS",
    "LOOKUP_SKEW",
    "OPERATIONS",
    "RUN_FIELDS",
    "TRANSITIONS",
    "UUID_FORMAT",
    "Adapter",
    "BulkPlan",
    "Call",
    "Capabilities",
    "Chunk",
    "ChunkResult",
    "ErrorInfo",
    "ErrorMap",
    "EventRejected",
    "IdFormat",
    "NoSettings",
    "Option",
    "Options",
    "PageNumbers",
    "PageRequest",
    "Pagination",
    "RateHeaders",
    "Registry",
    "Response",
    "RunEvent",
    "RunFilter",
    "StatusMap",
    "Support",
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
]
