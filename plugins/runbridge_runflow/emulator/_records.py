"""What the Runflow emulator holds: seeded targets, runs and batches."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from runbridge.emulation import Timeline

from ._facts import TARGET_TYPES


def uuid7(seconds: float) -> str:
    """A UUIDv7 for emulator time ``seconds``, as Runflow gives runs."""
    millis = int(seconds * 1000) & ((1 << 48) - 1)
    rand = secrets.randbits(74)
    value = (millis << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62)
    return str(uuid.UUID(int=value | (rand & ((1 << 62) - 1))))


@dataclass
class EmuTarget:
    """A seeded model or ComfyUI workflow."""

    kind: str
    """``models`` or ``comfyui-workflows``."""
    owner: str
    slug: str
    id: str
    template_backed: bool
    nodes: int
    price: str
    required: tuple[str, ...] = ()
    available: bool = True

    @property
    def path(self) -> str:
        """Its path target: ``models/<owner>/<slug>``."""
        return f"{self.kind}/{self.owner}/{self.slug}"

    @property
    def target(self) -> str:
        """Its id target: ``models/<id>``, the form run records name."""
        return f"{self.kind}/{self.id}"

    @property
    def target_type(self) -> str:
        """The run's ``target_type`` for this target."""
        return TARGET_TYPES[self.kind]


@dataclass
class EmuRun:
    """A run held by the emulator."""

    id: str
    seq: int
    org_id: str
    target: EmuTarget
    input: dict[str, Any]
    metadata: dict[str, Any]
    callback_url: str | None
    client_ref: str | None
    timeline: Timeline
    batch_id: str | None = None
    request_id: str = field(default_factory=lambda: f"req_{secrets.token_hex(8)}")
    status_patched: bool = False
    """Whether a PATCH set the status (then no failure fields are invented)."""
    patched: dict[str, Any] = field(default_factory=dict)
    """Fields set by PATCH, shown instead of the computed ones."""

    @property
    def rank(self) -> int:
        """Listing order: creation time (to the microsecond), then creation number."""
        return (round(self.timeline.created * 1_000_000) << 32) | self.seq


@dataclass
class Batch:
    """A batch and the runs it created, in ``sequence_index`` order."""

    id: str
    seq: int
    org_id: str
    target: EmuTarget
    created: float
    callback_url: str | None
    runs: list[EmuRun]
    item_ids: list[str]
