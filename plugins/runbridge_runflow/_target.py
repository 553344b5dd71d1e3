"""Runflow targets: ``models/<owner>/<slug...>`` and ``comfyui-workflows/<owner>/<slug>``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

import attrs

Kind = Literal["models", "comfyui-workflows"]

FORMS = "'models/<owner>/<slug>[/<more>...]' or 'comfyui-workflows/<owner>/<slug>'"
"""The accepted target forms, for error messages."""

_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
_MAX_LENGTH = 512


@attrs.frozen
class Target:
    """A parsed target; ``str()`` gives the canonical spelling."""

    kind: Kind
    owner: str
    slug: tuple[str, ...]

    def __str__(self) -> str:
        return "/".join((self.kind, self.owner, *self.slug))

    @property
    def segments(self) -> tuple[str, ...]:
        """Owner and slug segments, as they appear in API paths."""
        return (self.owner, *self.slug)

    @property
    def has_batches(self) -> bool:
        """Whether the API has a batches endpoint for this kind of target."""
        return self.kind == "models"


def _segment_ok(segment: str) -> bool:
    # Dot-only segments would be resolved as path navigation by servers and proxies.
    return bool(_SEGMENT.fullmatch(segment)) and segment.strip(".") != ""


def parse_target(text: object) -> Target | None:
    """The target named by ``text``, or ``None`` when it is not one of ``FORMS``."""
    if not isinstance(text, str) or len(text) > _MAX_LENGTH:
        return None
    kind, _, rest = text.partition("/")
    parts = tuple(rest.split("/")) if rest else ()
    if not all(_segment_ok(p) for p in parts):
        return None
    if kind == "models" and len(parts) >= 2:
        return Target("models", parts[0], parts[1:])
    if kind == "comfyui-workflows" and len(parts) == 2:
        return Target("comfyui-workflows", parts[0], parts[1:])
    return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _owner(resource: Mapping[str, Any]) -> str | None:
    owner = resource.get("owner")
    if isinstance(owner, Mapping):
        return _text(owner.get("slug")) or _text(owner.get("handle"))
    return _text(owner) or _text(resource.get("owner_slug"))


def _from_resource(kind: Kind, resource: object) -> str | None:
    if not isinstance(resource, Mapping):
        return None
    slug = _text(resource.get("slug"))
    if slug is None:
        return None
    owner = _owner(resource)
    # Without an owner field, a slug with a '/' is read as the full 'owner/slug' path.
    text = f"{kind}/{owner}/{slug}" if owner else f"{kind}/{slug}"
    target = parse_target(text)
    return str(target) if target is not None else None


def _kind_of(raw: Mapping[str, Any]) -> Kind | None:
    target_type = raw.get("target_type")
    if isinstance(target_type, str):
        normalized = target_type.lower().replace("-", "_")
        if normalized in ("model", "models"):
            return "models"
        if "comfy" in normalized:
            return "comfyui-workflows"
        return None
    if isinstance(raw.get("model"), Mapping):
        return "models"
    if isinstance(raw.get("comfyui_workflow"), Mapping):
        return "comfyui-workflows"
    return None


def target_of(raw: Mapping[str, Any]) -> str | None:
    """The canonical target of a run payload, or ``None`` when it does not say.

    Reads ``target_type`` and the nested resource (``model``, or ``comfyui_workflow``
    then ``flow`` for workflows) with its ``owner`` and ``slug``.
    """
    kind = _kind_of(raw)
    if kind == "models":
        return _from_resource(kind, raw.get("model"))
    if kind == "comfyui-workflows":
        return _from_resource(kind, raw.get("comfyui_workflow")) or _from_resource(
            kind, raw.get("flow")
        )
    return None
