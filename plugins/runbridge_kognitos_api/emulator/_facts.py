"""What the Kognitos API 1.0 documents, restated for the emulator from the provider facts
and the OpenAPI spec (``kognitos/openapi``, ``latest/openapi.yaml``).

Nothing here comes from the adapter: if the adapter gets one of these wrong, the
emulator must disagree with it.
"""

from __future__ import annotations

import re

from runbridge.emulation import NativeStatuses

PREFIX = "/api/v1/organizations/{organization_id}/workspaces/{workspace_id}"
"""``P``: every runs path starts here."""

AUTOMATION_ID = re.compile(r"[A-Za-z0-9_-]{21}")
"""``v1Automation``: automation ids are nano ids, 21 URL-safe characters."""

PLAIN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""Organization, workspace and run ids: no format documented (ASSUMPTION of the facts)."""

NANO_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

DRAFT = "AUTOMATION_STAGE_DRAFT"
PUBLISHED = "AUTOMATION_STAGE_PUBLISHED"
STAGES = (DRAFT, PUBLISHED)
"""``v1AutomationStage`` values a run can be invoked in (``..._UNSPECIFIED`` cannot)."""

MANUAL = "INVOCATION_SOURCE_MANUAL"
"""``v1InvocationSource`` of a run started by a user through ``:invoke``."""

PAGE_SIZE_DEFAULT = 10
PAGE_SIZE_MAX = 1000
"""``ListRuns``: unset or 0 gives 10; larger than 1000 is coerced to 1000."""

INT32_MAX = 2**31 - 1

PENDING = "pending"
EXECUTING = "executing"
STOPPING = "stopping"
STOPPED = "stopped"
AWAITING_GUIDANCE = "awaiting_guidance"
COMPLETED = "completed"
FAILED = "failed"
ARCHIVED = "archived"
"""The keys of ``v1RunState``; ``archived`` comes from the official plugin's notes only."""

STATUSES = NativeStatuses(
    pending=(PENDING,),
    running=(EXECUTING,),
    succeeded=COMPLETED,
    failed={"task": FAILED, "system": FAILED, "timeout": FAILED},
    cancelled=ARCHIVED,
    extra={STOPPING: "running", STOPPED: "running", AWAITING_GUIDANCE: "running"},
    holds={STOPPED: "paused", AWAITING_GUIDANCE: "person"},
)
"""``archived`` is terminal and read as cancelled (ASSUMPTION of the facts): the clock
reaches it only for a plan that ends cancelled, as the API has no cancel."""

PAUSABLE = frozenset({PENDING, EXECUTING})
"""States ``:pause`` accepts (ASSUMPTION: nothing documents the others)."""

RESUMABLE = frozenset({STOPPED})
"""States ``:continue`` accepts: the spec says only a stopped run can be resumed."""
