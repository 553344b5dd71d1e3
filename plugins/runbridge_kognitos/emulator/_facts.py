"""What the Kognitos REST API v2 documents, restated for the emulator from the provider facts.

Nothing here comes from the adapter: if the adapter gets one of these wrong, the
emulator must disagree with it.
"""

from __future__ import annotations

import re

from runbridge.emulation import NativeStatuses

ID = re.compile(r"[a-zA-Z0-9_-]{1,26}")
"""Every id in the schema: 1-26 characters of ``[a-zA-Z0-9-_]``."""

STAGES = ("Draft", "Published")
"""The ``ProcessStage`` enum."""

NAME_MAX = 100
"""A run name is 1-100 characters."""

LIMIT_DEFAULT = 10
LIMIT_MAX = 100
"""``GET /v2/runs`` pages: 10 items unless ``limit`` says otherwise, at most 100."""

INVALID = "Invalid input values"
"""The documented description of every 400 answer."""

DENIED = "access not permitted"
"""The documented answer to an invalid or revoked key (HTTP 401)."""

STATUSES = NativeStatuses(
    pending=("Created", "Pending"),
    running=("Running",),
    succeeded="Succeeded",
    failed={"task": "Failed", "system": "Failed", "timeout": "TimedOut"},
    cancelled="Cancelled",
)
"""Only ``Created`` and ``Succeeded`` are documented; the rest is the ASSUMPTION of the
facts (the REST overview's state table). A run is ``Created`` first, then ``Pending``
for the second half of its time in the queue."""
