"""A local emulator of the Kognitos API 1.0 runs surface, served by aiohttp.

A witness, not a helper: it serves exactly what the OpenAPI spec (``kognitos/openapi``,
``latest/openapi.yaml``) and the provider facts document, and imports nothing from
the adapter it checks. Decisions where the spec is silent:

- Errors are ``rpcStatus`` ``{code, message, details: []}`` with the usual
  gRPC-to-HTTP mapping; unknown paths and undocumented methods are 404 NOT_FOUND.
- Malformed path ids (organization, workspace and run ids not 1-64 of
  ``A-Za-z0-9_-``, automation ids not 21 of them) are 400 INVALID_ARGUMENT; well-formed
  ids that name nothing are 404 NOT_FOUND. Minted ids: organizations and workspaces
  16, automations 21, runs 24 characters of that alphabet.
- Bodies must be JSON objects with documented snake_case fields only (an unknown
  field is INVALID_ARGUMENT); ``:continue`` needs its ``{}``; ``:pause`` a non-empty
  ``reason``; ``stage`` must be DRAFT or PUBLISHED (by name). Values take exactly one
  documented key (camelCase spellings are refused); ``v1Number`` parts are integers
  or numeric strings, never floats; ``null_value`` is ``null`` or ``"NULL_VALUE"``.
- ``:pause`` works on ``pending`` and ``executing`` runs only, ``:continue`` on
  ``stopped`` ones only (not ``stopping``); anything else is FAILED_PRECONDITION.
- Listing order is a constructor choice (``order="newest"`` by default); page
  tokens are bound to the automation, the filter text and the page size in force.
  Unknown query parameters are ignored. Filter timestamps must be double-quoted;
  ``OR`` binds tighter than ``AND`` (AIP-160); restrictions side by side without
  ``AND`` are refused.
- ``archived`` (plugin notes only) is terminal and ends a plan whose outcome is
  cancelled; ``awaiting_guidance`` comes only from a plan's ``native`` or
  ``force_status``.
- Run objects omit unpopulated fields (``previous_run``, ``executable_steps``,
  empty ``user_inputs``); numbers the emulator writes omit zero parts; ``user_inputs``
  echo the invoke verbatim.
"""

from ._emulator import KognitosApiEmulator
from ._runs import StoredRun
from ._store import Automation

__all__ = ["Automation", "KognitosApiEmulator", "StoredRun"]
