"""How one adapter plugin is registered with pluggy and checked: its hooks are runbridge's,
and every adapter it registers declares and implements what it must."""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import attrs
import pluggy

from .._model._capabilities import OPERATIONS, Support
from .._model._errors import PluginError
from .._model._run import _PROVIDER_NAME
from . import _hookspecs
from ._adapter import OPERATION_METHODS, REQUIRED, Adapter

RESERVED: Mapping[str, frozenset[str]] = {
    "connect": frozenset(
        {"provider", "profile", "config", "token", "base_url", "options", "registry", "environ"}
        | {"journal", "webhook_secrets", "max_event_bytes", "observers", "trace_configs"}
    ),
    "create": frozenset({"request", "inputs", "name", "files", "secrets"}),
    "retry": frozenset({"run"}),
}
"""runbridge's own keywords of ``connect``, ``create`` and ``retry``: provider settings
share ``connect``'s keyword space (``connect(**settings)``), create and retry options
that of their operation (``create(**options)``; an emulated retry takes create options),
so no setting or option may take one of these names (``tests/test_plugin_names.py``
keeps this in step with the signatures). Update options travel in
``RunUpdate.options``, apart from its fields."""


# -- hooks ------------------------------------------------------------------------------


def manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(_hookspecs.PROJECT)
    manager.add_hookspecs(_hookspecs)
    return manager


def add(manager: pluggy.PluginManager, name: str, plugin: object) -> None:
    """Register ``plugin``; a hook name that matches no hookspec is an error, not ignored."""
    try:
        manager.register(plugin, name=name)
    except (ValueError, pluggy.PluginValidationError) as exc:
        raise PluginError(f"plugin {name!r} cannot be registered: {exc}", plugin=name) from exc
    # What PluginManager.check_pending() checks, for this plugin alone, so that the error
    # can name the plugin and the hook and suggest the right one.
    specs = [n for n, c in vars(manager.hook).items() if not n.startswith("_") and c.has_spec()]
    callers = manager.get_hookcallers(plugin) or []
    for caller in callers:
        if caller.has_spec() or all(i.optionalhook for i in caller.get_hookimpls()):
            continue
        import difflib

        close = difflib.get_close_matches(caller.name, specs, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"runbridge's hooks: {', '.join(specs)}"
        raise PluginError(
            f"plugin {name!r} implements {caller.name!r}, which is not a runbridge hook; {hint}",
            plugin=name,
        )
    if not callers:
        raise PluginError(
            f"plugin {name!r} implements no runbridge hook: mark its "
            f"runbridge_register_adapters function with @runbridge.adapter.hookimpl",
            plugin=name,
        )


def registrations(manager: pluggy.PluginManager, name: str) -> list[object]:
    """What the plugin ``name`` passes to ``register``, in order, unchecked."""
    registered: list[object] = []
    for impl in manager.hook.runbridge_register_adapters.get_hookimpls():
        if impl.plugin_name != name:
            continue
        try:
            impl.function(register=registered.append)
        except Exception as exc:
            raise PluginError(
                f"plugin {name!r} failed in runbridge_register_adapters: "
                f"{type(exc).__name__}: {exc}",
                plugin=name,
            ) from exc
    return registered


# -- adapters ---------------------------------------------------------------------------


def validate(adapter: object, plugin: str) -> type[Adapter]:
    """``adapter``, if it is an adapter class that declares and implements what it must."""
    if not (isinstance(adapter, type) and issubclass(adapter, Adapter)):
        raise PluginError(
            f"plugin {plugin!r} registered {adapter!r}, which is not an Adapter subclass",
            plugin=plugin,
        )
    for attr, kind in REQUIRED:
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
    for operation in OPERATIONS:
        if adapter.capabilities.support(operation) is not Support.NATIVE:
            continue
        methods = OPERATION_METHODS.get(operation, (operation,))
        if missing := [m for m in methods if getattr(adapter, m) is getattr(Adapter, m)]:
            # runbridge 0.1 had adapters override create_many itself; 0.2 never calls it.
            since = (
                "; since runbridge 0.2 the core calls these instead of create_many, see "
                "'Upgrading a plugin' in docs/adapter-authoring.md"
                if operation == "create_many"
                and any("create_many" in vars(c) for c in adapter.__mro__)
                else ""
            )
            raise PluginError(
                f"plugin {plugin!r}: adapter {adapter.__name__} declares {operation} native "
                f"but does not implement it (override {' and '.join(missing)}){since}",
                plugin=plugin,
                provider=adapter.name,
                operation=operation,
            )
    _check_names(adapter, plugin)
    if any("find_tagged" in vars(c) for c in adapter.__mro__) and (
        adapter.search_tagged is Adapter.search_tagged
    ):
        # 0.1's hook, never called since 0.2: the core walks the listing with claims().
        warnings.warn(
            f"plugin {plugin!r}: adapter {adapter.__name__}.find_tagged is no longer "
            "called since runbridge 0.2; implement search_tagged (see 'Upgrading a "
            "plugin' in docs/adapter-authoring.md)",
            DeprecationWarning,
            stacklevel=2,
        )
    return adapter


def _check_names(adapter: type[Adapter], plugin: str) -> None:
    """No provider setting or option may take a name runbridge's own keywords use."""
    settings = adapter.settings_type
    declared: list[tuple[str, str, frozenset[str]]] = []
    if attrs.has(settings):
        fields = [f.name for f in attrs.fields(settings)]
        declared += [("setting", name, RESERVED["connect"]) for name in fields]
    for operation, options, reserved in (
        ("create", adapter.create_options, RESERVED["create"] | RESERVED["retry"]),
        ("retry", adapter.retry_options, RESERVED["retry"]),
    ):
        declared += [(f"{operation} option", name, reserved) for name in options.fields]
    for kind, name, reserved in declared:
        if name in reserved:
            raise PluginError(
                f"plugin {plugin!r}: adapter {adapter.__name__} declares a {kind} named "
                f"{name!r}, which is one of runbridge's own keywords there; rename it "
                "(see 'Settings' in docs/adapter-authoring.md)",
                plugin=plugin,
                provider=adapter.name,
            )
