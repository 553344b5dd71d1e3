"""Discovery of adapter plugins through pluggy and the ``runbridge.adapters`` entry points."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import attrs
import pluggy

from . import _hookspecs
from ._adapter import Adapter
from ._capabilities import Capabilities, IdFormat
from ._errors import ConfigError, PluginError
from ._model import _PROVIDER_NAME

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

ENTRY_POINT_GROUP = "runbridge.adapters"
"""Entry-point group adapter plugins are registered under."""

ALLOW_ENV = "RUNBRIDGE_PLUGINS"
"""Comma-separated third-party plugins to load; empty loads only the built-ins."""

BUILTIN_DISTRIBUTION = "runbridge"


@attrs.frozen
class ProviderInfo:
    """An available provider: its name, the plugin that registered it, and what it can do."""

    name: str
    plugin: str
    capabilities: Capabilities
    id_format: IdFormat
    adapter: type[Adapter] = attrs.field(repr=False)
    distribution: str | None = None
    """The installed distribution the plugin came from; ``None`` for one registered by hand."""
    version: str | None = None
    """That distribution's version."""

    @property
    def builtin(self) -> bool:
        """Whether runbridge itself ships this provider."""
        return self.distribution == BUILTIN_DISTRIBUTION


def _allow_list_from_env() -> frozenset[str] | None:
    raw = os.environ.get(ALLOW_ENV)
    if raw is None:
        return None
    return frozenset(p.strip() for p in raw.split(",") if p.strip())


class Registry:
    """Finds adapter plugins lazily, once, and answers which providers exist.

    ``allow`` names the third-party plugins (entry-point names) to load; built-in
    plugins always load. ``None`` reads ``RUNBRIDGE_PLUGINS`` and, when that is
    unset too, loads every installed plugin.
    """

    def __init__(
        self,
        *,
        allow: Iterable[str] | None = None,
        group: str = ENTRY_POINT_GROUP,
        entry_points: bool = True,
    ) -> None:
        self._allow = frozenset(allow) if allow is not None else None
        self._group = group
        self._use_entry_points = entry_points
        self._extra: list[tuple[str, object]] = []
        self._adapters: dict[str, ProviderInfo] | None = None

    def register_plugin(self, plugin: object, *, name: str | None = None) -> None:
        """Add a plugin object (module or instance with hook implementations) by hand."""
        plugin_name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        self._extra.append((plugin_name, plugin))
        self._adapters = None

    def _entry_points(self) -> list[EntryPoint]:
        from importlib.metadata import entry_points  # at discovery, not at import

        found = sorted(entry_points(group=self._group), key=lambda ep: ep.name)
        allow = self._allow if self._allow is not None else _allow_list_from_env()
        if allow is None:
            return found
        names = {ep.name for ep in found}
        if missing := sorted(allow - names):
            raise PluginError(
                f"plugin {missing[0]!r} named in {ALLOW_ENV} is not installed "
                f"(installed: {', '.join(sorted(names)) or 'none'})",
                plugin=missing[0],
            )
        return [ep for ep in found if ep.name in allow or _is_builtin(ep)]

    def _load(self) -> dict[str, ProviderInfo]:
        manager = pluggy.PluginManager(_hookspecs.PROJECT)
        manager.add_hookspecs(_hookspecs)
        plugins: list[tuple[str, object]] = []
        origins: dict[str, tuple[str | None, str | None]] = {}
        if self._use_entry_points:
            for ep in self._entry_points():
                dist = ep.dist
                origins[ep.name] = (dist.name, dist.version) if dist is not None else (None, None)
                try:
                    plugins.append((ep.name, ep.load()))
                except Exception as exc:
                    raise PluginError(
                        f"plugin {ep.name!r} ({ep.value}) failed to import: "
                        f"{type(exc).__name__}: {exc}",
                        plugin=ep.name,
                    ) from exc
        plugins.extend(self._extra)
        for plugin_name, plugin in plugins:
            try:
                manager.register(plugin, name=plugin_name)
            except ValueError as exc:
                raise PluginError(
                    f"plugin {plugin_name!r} cannot be registered: {exc}", plugin=plugin_name
                ) from exc

        found: dict[str, ProviderInfo] = {}
        for impl in manager.hook.runbridge_register_adapters.get_hookimpls():

            def register(adapter: type[Adapter], _plugin: str = impl.plugin_name) -> None:
                _validate(adapter, _plugin)
                if adapter.name in found:
                    raise PluginError(
                        f"plugin {_plugin!r} registers provider {adapter.name!r}, "
                        f"already registered by plugin {found[adapter.name].plugin!r}",
                        plugin=_plugin,
                    )
                found[adapter.name] = ProviderInfo(
                    adapter.name,
                    _plugin,
                    adapter.capabilities,
                    adapter.id_format,
                    adapter,
                    *origins.get(_plugin, (None, None)),
                )

            impl.function(register=register)
        return found

    def adapters(self) -> Mapping[str, ProviderInfo]:
        """Every available provider by name (discovered on first use, then cached)."""
        if self._adapters is None:
            self._adapters = self._load()
        return self._adapters

    def adapter(self, name: str) -> type[Adapter]:
        """The adapter class for ``name``; ``ConfigError`` lists the known ones."""
        known = self.adapters()
        if name not in known:
            raise ConfigError(
                f"unknown provider {name!r}; available: {', '.join(sorted(known)) or 'none'}",
                field="provider",
                provider=name if _PROVIDER_NAME.match(name) else None,
            )
        return known[name].adapter

    def providers(self) -> list[ProviderInfo]:
        """Every available provider, sorted by name."""
        return [self.adapters()[n] for n in sorted(self.adapters())]


def _is_builtin(ep: EntryPoint) -> bool:
    dist = ep.dist
    return dist is not None and dist.name == BUILTIN_DISTRIBUTION


def _validate(adapter: object, plugin: str) -> None:
    if not (isinstance(adapter, type) and issubclass(adapter, Adapter)):
        raise PluginError(
            f"plugin {plugin!r} registered {adapter!r}, which is not an Adapter subclass",
            plugin=plugin,
        )
    for attr, kind in (
        ("name", str),
        ("id_format", IdFormat),
        ("capabilities", Capabilities),
        ("default_base_url", str),
    ):
        if not isinstance(getattr(adapter, attr, None), kind):
            raise PluginError(
                f"plugin {plugin!r}: adapter {adapter.__name__} must declare {attr} "
                f"as {kind.__name__}",
                plugin=plugin,
            )
    if not _PROVIDER_NAME.match(adapter.name):
        raise PluginError(
            f"plugin {plugin!r}: provider name {adapter.name!r} must match "
            f"{_PROVIDER_NAME.pattern}",
            plugin=plugin,
        )


default_registry = Registry()
"""The registry ``connect`` and ``providers`` use unless given another."""


def providers() -> list[ProviderInfo]:
    """Every available provider with its capabilities, sorted by name."""
    return default_registry.providers()


def register_plugin(plugin: object, *, name: str | None = None) -> None:
    """Register a plugin object on the default registry, as an entry point would."""
    default_registry.register_plugin(plugin, name=name)
