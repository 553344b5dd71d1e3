"""Discovery of adapter plugins through pluggy and the ``runbridge.adapters`` entry points.

Which plugins load: the built-ins and plugins registered by hand always; third-party
plugins all, unless an allow list (``RUNBRIDGE_PLUGINS``, or ``Registry(allow=...)``)
names them, by entry-point name or by the name of a provider they register. An
entry-point name selects without importing anything else. A provider's name is known
only once its plugin has run, so when the list names one, each left-out plugin is
imported and asked, in a plugin manager of its own, what it registers; only those
that register a listed provider are kept. One that fails to import is then skipped,
and named only if no plugin registers the provider.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import attrs

from .._model._capabilities import Capabilities, IdFormat
from .._model._errors import ConfigError, PluginError
from .._model._run import _PROVIDER_NAME
from ._adapter import Adapter

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

ENTRY_POINT_GROUP = "runbridge.adapters"
"""Entry-point group adapter plugins are registered under."""

ALLOW_ENV = "RUNBRIDGE_PLUGINS"
"""Comma-separated third-party plugins to load, by entry-point or provider name; empty
loads only the built-ins."""

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


@attrs.frozen
class PluginInfo:
    """A loaded plugin: where it came from and the providers it registered."""

    name: str
    providers: tuple[str, ...]
    distribution: str | None = None
    """The installed distribution that advertises it; ``None`` for one registered by hand."""
    version: str | None = None
    """That distribution's version."""
    entry_point: str | None = None
    """What its entry point names (``module`` or ``module:attr``); ``None`` when registered
    by hand."""

    @property
    def builtin(self) -> bool:
        """Whether runbridge itself ships this plugin."""
        return self.distribution == BUILTIN_DISTRIBUTION


@attrs.frozen
class _Source:
    """A plugin to register: its name, where it comes from, and how to get the object."""

    name: str
    distribution: str | None = None
    version: str | None = None
    entry_point: EntryPoint | None = attrs.field(default=None, eq=False, repr=False)
    plugin: object = attrs.field(default=None, eq=False, repr=False)

    @classmethod
    def of(cls, name: str, entry_points: list[EntryPoint]) -> _Source:
        """The one plugin advertised as ``name``; two distributions advertising it is an error."""
        dists = {_dist_label(ep): ep for ep in entry_points}
        if len(dists) > 1:
            raise PluginError(
                f"plugin {name!r} is advertised by {len(dists)} installed distributions: "
                f"{', '.join(sorted(dists))}; uninstall all but one of them",
                plugin=name,
            )
        ep = entry_points[0]
        dist = ep.dist
        if dist is None:
            return cls(name, entry_point=ep)
        return cls(name, dist.name, dist.version, ep)

    def load(self) -> object:
        """The plugin object: imported from the entry point, or as registered."""
        if self.entry_point is None:
            return self.plugin
        try:
            return self.entry_point.load()
        except Exception as exc:
            raise PluginError(
                f"plugin {self.name!r} ({self.entry_point.value}) failed to import: "
                f"{type(exc).__name__}: {exc}",
                plugin=self.name,
            ) from exc

    @property
    def origin(self) -> str:
        """``distribution version``, or how it was registered."""
        if self.distribution is None:
            return "registered by hand" if self.entry_point is None else "unknown distribution"
        return f"distribution {self.distribution} {self.version}"

    def info(self, providers: Iterable[str]) -> PluginInfo:
        """What ``runbridge plugins`` shows of this plugin, once it registered ``providers``."""
        return PluginInfo(
            self.name,
            tuple(sorted(providers)),
            self.distribution,
            self.version,
            None if self.entry_point is None else self.entry_point.value,
        )


@attrs.frozen
class _Selection:
    """The plugins chosen to register, and what the allow list named that is no plugin."""

    sources: list[_Source]
    wanted: frozenset[str]
    """Names in the allow list that are no entry point's: provider names, or mistakes."""
    where: str
    installed: tuple[str, ...]
    skipped: Mapping[str, str]
    """Left-out plugins that could not be asked what they register, and why."""

    def check(self, found: Mapping[str, ProviderInfo]) -> None:
        """Every provider name the allow list gave is registered by a loaded plugin."""
        if missing := sorted(self.wanted - found.keys()):
            skipped = "".join(
                f"; plugin {name!r} could not be asked: {problem}"
                for name, problem in sorted(self.skipped.items())
            )
            raise PluginError(
                f"{missing[0]!r}, named in {self.where}, is neither an installed plugin nor a "
                f"provider one registers (plugins: {', '.join(self.installed) or 'none'}; "
                f"providers: {', '.join(sorted(found)) or 'none'}){skipped}",
                plugin=missing[0],
            )


class Registry:
    """Finds adapter plugins lazily, once, and answers which providers exist.

    ``allow`` names the third-party plugins to load, by entry-point name or by the
    name of a provider they register; built-in plugins and those registered by hand
    always load. ``None`` reads ``RUNBRIDGE_PLUGINS`` and, when that is unset too,
    loads every installed plugin.
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
        self._plugins: list[PluginInfo] = []
        self._left_out: list[tuple[str, list[EntryPoint]]] = []
        self._left_out_providers: dict[str, _Source] | None = None

    def register_plugin(self, plugin: object, *, name: str | None = None) -> None:
        """Add a plugin object (module or instance with hook implementations) by hand."""
        plugin_name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        self._extra.append((plugin_name, plugin))
        self._adapters = None

    # -- selection ----------------------------------------------------------------------

    def _allow_list(self) -> tuple[frozenset[str] | None, str]:
        """The allow list in force (``None``: every plugin) and what it is called."""
        if self._allow is not None:
            return self._allow, "the registry's allow list"
        raw = os.environ.get(ALLOW_ENV)
        if raw is None:
            return None, ALLOW_ENV
        return frozenset(p.strip() for p in raw.split(",") if p.strip()), ALLOW_ENV

    def _installed(self) -> dict[str, list[EntryPoint]]:
        """Every entry point of the group, by name (one name may come from two places)."""
        if not self._use_entry_points:
            return {}
        from importlib.metadata import entry_points  # at discovery, not at import

        found: dict[str, list[EntryPoint]] = {}
        for ep in entry_points(group=self._group):
            found.setdefault(ep.name, []).append(ep)
        return {name: found[name] for name in sorted(found)}

    def _select(self) -> _Selection:
        """The plugins to register, in order; remembers the ones the allow list leaves out."""
        allow, where = self._allow_list()
        installed = self._installed()
        chosen: list[_Source] = []
        left_out: list[tuple[str, list[EntryPoint]]] = []
        for name, eps in installed.items():
            if allow is None or name in allow or any(_is_builtin(ep) for ep in eps):
                chosen.append(_Source.of(name, eps))
            else:
                left_out.append((name, eps))
        chosen += [_Source(name, plugin=plugin) for name, plugin in self._extra]
        wanted = (allow or frozenset()) - installed.keys()  # provider names, or mistakes
        skipped: dict[str, str] = {}
        if wanted:
            kept, skipped = _by_provider(left_out, wanted)
            chosen += kept
            left_out = [(n, eps) for n, eps in left_out if n not in {s.name for s in kept}]
        self._left_out = left_out
        self._left_out_providers = None
        return _Selection(chosen, wanted, where, tuple(installed), skipped)

    # -- loading ------------------------------------------------------------------------

    def _load(self) -> dict[str, ProviderInfo]:
        selection = self._select()
        from ._checks import add, manager, registrations, validate

        plugins_manager = manager()
        for source in selection.sources:
            add(plugins_manager, source.name, source.load())
        found: dict[str, ProviderInfo] = {}
        plugins: list[PluginInfo] = []
        for source in selection.sources:
            names = []
            for registered in registrations(plugins_manager, source.name):
                adapter = validate(registered, source.name)
                if adapter.name in found:
                    raise PluginError(
                        f"plugin {source.name!r} registers provider {adapter.name!r}, "
                        f"already registered by plugin {found[adapter.name].plugin!r}",
                        plugin=source.name,
                    )
                found[adapter.name] = ProviderInfo(
                    adapter.name,
                    source.name,
                    adapter.capabilities,
                    adapter.id_format,
                    adapter,
                    source.distribution,
                    source.version,
                )
                names.append(adapter.name)
            plugins.append(source.info(names))
        selection.check(found)
        self._plugins = sorted(plugins, key=lambda p: p.name)
        return found

    # -- answers ------------------------------------------------------------------------

    def adapters(self) -> Mapping[str, ProviderInfo]:
        """Every available provider by name (discovered on first use, then cached)."""
        if self._adapters is None:
            self._adapters = self._load()
        return self._adapters

    def provider(self, name: str) -> ProviderInfo:
        """The provider ``name``; ``ConfigError`` lists the known ones, or says which
        plugin would provide it when the allow list leaves that plugin out."""
        known = self.adapters()
        if name in known:
            return known[name]
        provider = name if _PROVIDER_NAME.match(name) else None
        source = self._left_out_provider(name)
        if source is not None:
            _, where = self._allow_list()
            raise ConfigError(
                f"provider {name!r} comes from plugin {source.name!r} ({source.origin}), "
                f"which {where} leaves out; add {source.name!r} to it",
                field="provider",
                provider=provider,
            )
        raise ConfigError(
            f"unknown provider {name!r}; available: {', '.join(sorted(known)) or 'none'}",
            field="provider",
            provider=provider,
        )

    def adapter(self, name: str) -> type[Adapter]:
        """The adapter class for ``name``; ``ConfigError`` lists the known ones."""
        return self.provider(name).adapter

    def providers(self) -> list[ProviderInfo]:
        """Every available provider, sorted by name."""
        return [self.adapters()[n] for n in sorted(self.adapters())]

    def plugins(self) -> list[PluginInfo]:
        """Every loaded plugin, sorted by name, with the providers it registered."""
        self.adapters()
        return list(self._plugins)

    def _left_out_provider(self, name: str) -> _Source | None:
        """The left-out plugin that registers provider ``name``, asked only when needed."""
        if self._left_out_providers is None:
            index: dict[str, _Source] = {}
            for plugin_name, eps in self._left_out:
                try:
                    source = _Source.of(plugin_name, eps)
                except PluginError:
                    continue
                for provider in _ask(source)[0]:
                    index.setdefault(provider, source)
            self._left_out_providers = index
        return self._left_out_providers.get(name)


# -- selection by provider name ---------------------------------------------------------


def _ask(source: _Source) -> tuple[frozenset[str], str | None]:
    """The provider names a plugin registers, asked in a manager of its own; on failure,
    none and what went wrong."""
    from ._checks import add, manager, registrations

    plugins_manager = manager()
    try:
        add(plugins_manager, source.name, source.load())
        registered = registrations(plugins_manager, source.name)
    except PluginError as exc:
        return frozenset(), exc.message
    return frozenset(n for a in registered if isinstance(n := getattr(a, "name", None), str)), None


def _by_provider(
    left_out: list[tuple[str, list[EntryPoint]]], wanted: frozenset[str]
) -> tuple[list[_Source], dict[str, str]]:
    """The left-out plugins that register a wanted provider; what failed for the others."""
    kept: list[_Source] = []
    skipped: dict[str, str] = {}
    for name, eps in left_out:
        try:
            source = _Source.of(name, eps)
        except PluginError as exc:
            skipped[name] = exc.message
            continue
        providers, problem = _ask(source)
        if providers & wanted:
            kept.append(source)
        elif problem is not None:
            skipped[name] = problem
    return kept, skipped


# -- distributions ------------------------------------------------------------------------------


def _is_builtin(ep: EntryPoint) -> bool:
    dist = ep.dist
    return dist is not None and dist.name == BUILTIN_DISTRIBUTION


def _dist_label(ep: EntryPoint) -> str:
    dist = ep.dist
    return (
        f"{dist.name} {dist.version}" if dist is not None else f"one without metadata ({ep.value})"
    )


default_registry = Registry()
"""The registry ``connect`` and ``providers`` use unless given another."""


def providers() -> list[ProviderInfo]:
    """Every available provider with its capabilities, sorted by name."""
    return default_registry.providers()


def plugins() -> list[PluginInfo]:
    """Every loaded adapter plugin, sorted by name, with where it came from."""
    return default_registry.plugins()


def register_plugin(plugin: object, *, name: str | None = None) -> None:
    """Register a plugin object on the default registry, as an entry point would."""
    default_registry.register_plugin(plugin, name=name)
