"""Runflow targets: a model, ComfyUI workflow or flow, by path or by id.

Runflow's documented run records name what ran only by id (``model_id``,
``comfyui_workflow_id``, ``flow_id``), so the id form is the canonical target:

- ``models/<model_id>`` and ``models/<owner>/<slug>[/<more>...]``;
- ``comfyui-workflows/<workflow_id>`` and ``comfyui-workflows/<owner>/<slug>``;
- ``flows/<flow_id>``, which names a flow run's target but cannot be started.

A ``Directory`` remembers which path and id name the same target, learned from
runs the adapter creates and from payloads that carry both.
"""

from __future__ import annotations

import functools
import re
from collections import OrderedDict
from collections.abc import Mapping
from typing import Literal

import attrs

from ._wire import WireResource, WireRun

Kind = Literal["models", "comfyui-workflows", "flows"]

FORMS = (
    "'models/<owner>/<slug>[/<more>...]', 'models/<model_id>', "
    "'comfyui-workflows/<owner>/<slug>' or 'comfyui-workflows/<workflow_id>'"
)
"""The accepted target forms, for error messages."""

ID_FIELDS: Mapping[Kind, str] = {
    "models": "model_id",
    "comfyui-workflows": "comfyui_workflow_id",
    "flows": "flow_id",
}
"""The run field holding the id of each kind of target, in the order ids are tried."""

_RESOURCES: Mapping[Kind, str] = {"models": "model", "comfyui-workflows": "comfyui_workflow"}
_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_MAX_LENGTH = 512


@attrs.frozen
class Target:
    """A parsed target; ``str()`` gives the canonical spelling."""

    kind: Kind
    segments: tuple[str, ...]
    """``(id,)`` for the id form, ``(owner, slug, ...)`` for the path form."""
    is_id: bool = False

    def __str__(self) -> str:
        return "/".join((self.kind, *self.segments))

    @property
    def has_batches(self) -> bool:
        """Whether the API has a batches endpoint for this kind of target."""
        return self.kind == "models"


def _segment_ok(segment: str) -> bool:
    # Dot-only segments would be resolved as path navigation by servers and proxies.
    return bool(_SEGMENT.fullmatch(segment)) and segment.strip(".") != ""


def uuid_of(value: object) -> str | None:
    """``value`` as a lower-case hyphenated UUID, or ``None``."""
    if not isinstance(value, str) or len(value) != 36:
        return None
    lowered = value.lower()
    return lowered if _UUID.fullmatch(lowered) else None


def parse_target(text: object) -> Target | None:
    """The target named by ``text``, or ``None`` when it is not one of the forms."""
    if not isinstance(text, str) or len(text) > _MAX_LENGTH:
        return None
    kind, _, rest = text.partition("/")
    parts = tuple(rest.split("/")) if rest else ()
    if kind not in ID_FIELDS or not parts or not all(_segment_ok(p) for p in parts):
        return None
    if len(parts) == 1 and (ident := uuid_of(parts[0])) is not None:
        return Target(kind, (ident,), is_id=True)  # type: ignore[arg-type]
    if kind == "models" and len(parts) >= 2:
        return Target("models", parts)
    if kind == "comfyui-workflows" and len(parts) == 2:
        return Target("comfyui-workflows", parts)
    return None


def model_pairs(paths: Mapping[str, str]) -> dict[str, str]:
    """Configured ``{model id: "owner/slug"}`` as ``{"models/<owner>/<slug>": "models/<id>"}``.

    A key is a UUID or ``models/<uuid>``; a value is ``owner/slug[/<more>...]``, with or
    without ``models/``. ``ValueError`` names the first entry that is neither.
    """
    if not isinstance(paths, Mapping):
        raise ValueError("must map model ids to 'owner/slug' paths")
    pairs: dict[str, str] = {}
    for key, value in paths.items():
        ident = parse_target(key if str(key).startswith("models/") else f"models/{key}")
        path = None
        if isinstance(value, str):
            path = parse_target(value if value.startswith("models/") else f"models/{value}")
        if ident is None or not ident.is_id or ident.kind != "models":
            raise ValueError(f"key {str(key)[:80]!r} is not a model id (a UUID)")
        if path is None or path.is_id:
            raise ValueError(f"the path of {key} must look like 'owner/slug[/<more>...]'")
        if str(path) in pairs:
            raise ValueError(f"{path} is given for two model ids")
        pairs[str(path)] = str(ident)
    return pairs


class Directory:
    """Which path and id name the same target; bounded, newest pairs kept.

    ``pinned`` pairs (``{path: ident}``, from the ``model_paths`` setting) are never
    forgotten for want of room; a pair learned from the API that contradicts one
    replaces it (a model re-created or renamed since).
    """

    def __init__(self, size: int = 1024, *, pinned: Mapping[str, str] | None = None) -> None:
        self._size = size
        self._ids: OrderedDict[str, str] = OrderedDict()
        self._paths: dict[str, str] = {}
        self._pinned_ids: dict[str, str] = dict(pinned or {})
        self._pinned_paths = {ident: path for path, ident in self._pinned_ids.items()}

    def __len__(self) -> int:
        return len(self._ids) + len(self._pinned_ids)

    def learn(self, path: str, ident: str) -> None:
        """Remember that target ``path`` has id form ``ident`` (both canonical)."""
        if self._pinned_ids.get(path) == ident:
            return
        if (old_ident := self._pinned_ids.pop(path, None)) is not None:
            self._pinned_paths.pop(old_ident, None)
        if (old_path := self._pinned_paths.pop(ident, None)) is not None:
            self._pinned_ids.pop(old_path, None)
        if self._ids.get(path) == ident:
            self._ids.move_to_end(path)
            return
        # A target renamed or re-created: forget both old pairings.
        if (old_ident := self._ids.pop(path, None)) is not None:
            self._paths.pop(old_ident, None)
        if (old_path := self._paths.pop(ident, None)) is not None:
            self._ids.pop(old_path, None)
        self._ids[path], self._paths[ident] = ident, path
        while len(self._ids) > self._size:
            _, gone = self._ids.popitem(last=False)
            self._paths.pop(gone, None)

    def id_for(self, path: str) -> str | None:
        """The id form of target ``path``, if known."""
        return self._ids.get(path) or self._pinned_ids.get(path)

    def path_for(self, ident: str) -> str | None:
        """The path form of the target with id form ``ident``, if known."""
        return self._paths.get(ident) or self._pinned_paths.get(ident)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _owner(resource: WireResource) -> str | None:
    owner = resource.owner
    if isinstance(owner, Mapping):
        return _text(owner.get("slug")) or _text(owner.get("handle"))
    return _text(owner) or _text(resource.owner_slug)


def _path_of(kind: Kind, wire: WireRun) -> str | None:
    """The path form from a nested resource that carries ``owner`` and ``slug``.

    Runflow does not document an owner field; a slug alone is not read as a
    path, since it cannot say where the owner ends.
    """
    name = _RESOURCES.get(kind)
    resource = getattr(wire, name) if name else None
    if not isinstance(resource, WireResource):
        return None
    owner, slug = _owner(resource), _text(resource.slug)
    if owner is None or slug is None:
        return None
    return _path_named(kind, owner, slug)


# Pages repeat the same few targets: each path is parsed once (bounded).
@functools.lru_cache(maxsize=1024)
def _path_named(kind: Kind, owner: str, slug: str) -> str | None:
    target = parse_target(f"{kind}/{owner}/{slug}")
    return str(target) if target is not None and not target.is_id else None


# Pages repeat the same few targets: each target_type and id is read once (bounded).
@functools.lru_cache(maxsize=256)
def _kind_named(target_type: str) -> Kind | None:
    normalized = target_type.lower().replace("-", "_")
    if normalized in ("model", "models"):
        return "models"
    if "comfy" in normalized:
        return "comfyui-workflows"
    if normalized in ("flow", "flows"):
        return "flows"
    return None


@functools.lru_cache(maxsize=1024)
def _id_form(kind: Kind, value: str) -> str | None:
    ident = uuid_of(value)
    return f"{kind}/{ident}" if ident is not None else None


def id_form(kind: Kind, value: object) -> str | None:
    """``<kind>/<uuid>`` when ``value`` is a UUID, else ``None``."""
    if not isinstance(value, str) or len(value) != 36:
        return None
    return _id_form(kind, value)


def _kind_of(wire: WireRun) -> Kind | None:
    target_type = wire.target_type
    if isinstance(target_type, str) and (kind := _kind_named(target_type)) is not None:
        return kind
    # No target_type, or one we do not know (the reference example's "<string>"):
    # the first id that is present says, then a nested resource.
    for kind, field in ID_FIELDS.items():
        if id_form(kind, getattr(wire, field)) is not None:
            return kind
    for kind, name in _RESOURCES.items():
        if isinstance(getattr(wire, name), WireResource):
            return kind
    return None


def targets_of(wire: WireRun) -> tuple[str | None, str | None]:
    """The id form and the path form of a run record's target, each if it says."""
    kind = _kind_of(wire)
    if kind is None:
        return None, None
    return id_form(kind, getattr(wire, ID_FIELDS[kind])), _path_of(kind, wire)
