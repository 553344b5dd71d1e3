"""``connect``: a client for a provider (with its token) or for a profile of the configuration."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from .._journal import Journal, open_journal
from .._model._errors import ConfigError
from .._model._events import MAX_EVENT_BYTES
from .._plugins._adapter import Adapter
from .._plugins._registry import Registry, default_registry
from .._wire._call import Channel
from .._wire._client_options import ClientOptions
from .._wire._http import HttpClient
from .._wire._logging import default_observers
from .._wire._pagination import cursor_key
from .._wire._redact import Redactor
from .._wire._translation import ErrorTranslator
from ._config import Config, Profile, client_options, load_config
from ._run_client import RunClient

if TYPE_CHECKING:
    from .._wire._throttle import Throttle


def connect(
    provider: str | None = None,
    *,
    profile: str | Profile | None = None,
    config: Config | str | os.PathLike[str] | None = None,
    token: str | None = None,
    base_url: str | None = None,
    options: ClientOptions | None = None,
    registry: Registry | None = None,
    environ: Mapping[str, str] | None = None,
    journal: Journal | str | os.PathLike[str] | None = None,
    webhook_secrets: Sequence[str] | None = None,
    max_event_bytes: int = MAX_EVENT_BYTES,
    observers: Iterable[object] = (),
    trace_configs: Iterable[Any] = (),
    **settings: Any,
) -> RunClient:
    """A client; use it as ``async with connect(...) as client``.

    Either name a ``provider`` and pass its ``token`` (and provider ``settings``;
    unknown ones raise ``ConfigError`` naming the setting), or name a ``profile``
    of the configuration file (``RUNBRIDGE_CONFIG`` or ``./runbridge.toml``), or
    pass a ``Profile``. With neither, the profile named by ``RUNBRIDGE_PROFILE``
    or the file's ``default_profile`` is used. A profile's credentials are read
    from ``environ`` (default: the process environment).

    ``journal`` claims and records every create before it is sent: a ``Journal``,
    the path of an SQLite file (processes on one host), or a ``postgresql://`` URL
    (processes on many hosts; the ``postgres`` extra). A profile names one with
    ``journal`` or ``journal_env``. By default the client keeps one in memory.

    ``webhook_secrets`` are the secrets run events are signed with (several while one
    is rotated out): ``client.parse_event`` and ``runbridge.EventReceiver`` accept a
    delivery signed with any of them. They are redacted like the token. A profile
    names them with ``webhook_secrets_env`` (one variable; secrets separated by
    whitespace or commas); ``webhook_secrets`` given here override the profile's.
    ``max_event_bytes`` caps the body of a delivery (default 1 MiB).

    ``observers`` watch the client's operations and attempts (objects with any of the
    hooks ``runbridge.Observer`` lists; ``runbridge.otel.OpenTelemetryObserver`` is one);
    ``RUNBRIDGE_LOG=info|debug`` adds a logging one. ``trace_configs`` are aiohttp
    ``TraceConfig`` objects for the client's session (your own aiohttp instrumentation).
    """
    if provider is not None:
        _check_provider(provider)
    if provider is None or profile is not None:
        if provider is not None or token is not None or base_url is not None or settings:
            raise ConfigError(
                "pass either a profile or a provider with its token and settings, not both",
                field="profile",
            )
        if not isinstance(profile, Profile):
            loaded = config if isinstance(config, Config) else load_config(config)
            profile = loaded.profile(profile)
        client = _connect_profile(
            profile, options, registry, environ, webhook_secrets, max_event_bytes
        )
        if journal is None:
            journal = profile.journal_location(environ)
    else:
        if token is None:
            raise ConfigError("a non-empty token is required", field="token", provider=provider)
        client = _build(
            provider,
            token,
            base_url,
            options,
            registry,
            settings,
            None,
            _webhook_secrets(webhook_secrets or (), provider),
            _event_cap(max_event_bytes, provider),
        )
    if journal is not None:
        client.use_journal(open_journal(journal), owned=isinstance(journal, str | os.PathLike))
    watching = [*default_observers(environ), *observers]
    if watching:
        client.observe(watching)
    client._channel.http.trace_configs = list(trace_configs)
    return client


def _connect_profile(
    profile: Profile,
    options: ClientOptions | None,
    registry: Registry | None,
    environ: Mapping[str, str] | None,
    webhook_secrets: Sequence[str] | None = None,
    max_event_bytes: int = MAX_EVENT_BYTES,
) -> RunClient:
    adapter_cls = _profile_adapter(profile, registry)  # named before any variable is read
    secret = {a.name for a in _secret_fields(adapter_cls.settings_type)} | {"webhook_secrets"}
    for key in profile.settings:
        if key in secret:
            raise ConfigError(
                f"profile {profile.name!r}: setting {key!r} is a credential; name an "
                f"environment variable with '{key}_env' instead of storing it",
                field=f"profiles.{profile.name}.settings.{key}",
                provider=profile.provider,
            )
    if options is None and profile.client:
        options = client_options(profile)
    resolved = profile.resolved_settings(environ)
    from_profile = resolved.pop("webhook_secrets", None)
    if webhook_secrets is None and from_profile is not None:
        webhook_secrets = [s for s in re.split(r"[\s,]+", str(from_profile)) if s]
    return _build(
        profile.provider,
        profile.token(environ),
        profile.base_url,
        options,
        registry,
        resolved,
        profile,
        _webhook_secrets(webhook_secrets or (), profile.provider),
        _event_cap(max_event_bytes, profile.provider),
    )


def _webhook_secrets(secrets: Iterable[str], provider: str) -> tuple[str, ...]:
    if isinstance(secrets, str | bytes):
        raise ConfigError(
            "webhook_secrets must be a list of secrets, not one string",
            field="webhook_secrets",
            provider=provider,
        )
    out = tuple(secrets)
    if any(not isinstance(s, str) or not s for s in out):
        raise ConfigError(
            "each webhook secret must be a non-empty string",
            field="webhook_secrets",
            provider=provider,
        )
    return out


def _event_cap(max_event_bytes: int, provider: str) -> int:
    if (
        isinstance(max_event_bytes, bool)
        or not isinstance(max_event_bytes, int)
        or max_event_bytes < 1
    ):
        raise ConfigError(
            "max_event_bytes must be a positive integer",
            field="max_event_bytes",
            provider=provider,
        )
    return max_event_bytes


def _profile_adapter(profile: Profile, registry: Registry | None) -> type[Adapter]:
    try:
        return (registry or default_registry).adapter(profile.provider)
    except ConfigError as exc:
        raise ConfigError(
            f"profile {profile.name!r}: {exc.message}",
            field=f"profiles.{profile.name}.provider",
        ) from None


def _build(
    provider: str,
    token: str,
    base_url: str | None,
    options: ClientOptions | None,
    registry: Registry | None,
    settings: Mapping[str, Any],
    profile: Profile | None,
    webhook_secrets: tuple[str, ...] = (),
    max_event_bytes: int = MAX_EVENT_BYTES,
) -> RunClient:
    _check_provider(provider)
    adapter_cls = (registry or default_registry).adapter(provider)
    if not isinstance(token, str) or not token:
        raise ConfigError("a non-empty token is required", field="token", provider=provider)
    if any(c < " " or "\x7f" <= c <= "\x9f" for c in token):
        # Never echoed: the token is the secret, and a CR/LF in it would split a header.
        raise ConfigError(
            "the token contains a control character (a line break, perhaps from the file "
            "or variable it was read from)",
            field="token",
            provider=provider,
        )
    if options is not None and not isinstance(options, ClientOptions):
        raise ConfigError(
            f"options must be runbridge.ClientOptions, not {type(options).__name__}",
            field="options",
            provider=provider,
        )
    adapter = adapter_cls(_build_settings(adapter_cls, settings))
    options = options or ClientOptions()
    url = _check_url(
        base_url or adapter.base_url(), provider, allow_insecure=options.allow_insecure_http
    )
    secrets: list[Any] = [token, *_secret_settings(adapter.settings), *webhook_secrets]
    # A Standard Webhooks secret is also masked without its whsec_ prefix.
    secrets.extend(s.removeprefix("whsec_") for s in webhook_secrets if s.startswith("whsec_"))
    headers = adapter.auth_headers(token)
    # A header that carries an ordinary setting (an organization id) is no secret: masking
    # it would mask that value in every run that reports it.
    public = {str(value) for key, value in settings.items() if value is not None} - {
        str(s) for s in secrets
    }
    secrets.extend(value for value in headers.values() if value not in public)
    http = HttpClient(base_url=url, headers=headers, options=options)
    if options.rate is not None or options.max_in_flight is not None:
        http.throttle = _throttle(adapter, url, token, options)
    channel = Channel(
        http,
        ErrorTranslator(adapter.name, adapter.parse_error, adapter.errors),
        Redactor(secrets),
        cursor_key=cursor_key(adapter.name, token),
    )
    return RunClient(
        adapter,
        channel,
        profile=profile,
        webhook_secrets=webhook_secrets,
        max_event_bytes=max_event_bytes,
    )


def _throttle(adapter: Adapter, url: str, token: str, options: ClientOptions) -> Throttle:
    import hashlib

    from .._wire._throttle import Throttle, parse_rate

    # The account a rate applies to, named without its credential.
    account = hashlib.sha256(f"{url}\n{token}".encode()).hexdigest()[:24]
    return Throttle(
        rate=parse_rate(options.rate) if options.rate is not None else None,
        max_in_flight=options.max_in_flight,
        provider=adapter.name,
        key=f"{adapter.name}:{account}",
        headers=adapter.rate_headers,
        max_pause=options.retry.max_delay,
    )


def _check_provider(provider: object) -> None:
    if not isinstance(provider, str):
        raise ConfigError(
            f"the provider name must be a string, not {type(provider).__name__}", field="provider"
        )


def _check_url(base_url: str, provider: str, *, allow_insecure: bool) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"base_url {base_url!r} must be an http(s) URL", field="base_url", provider=provider
        )
    if parts.scheme == "http" and not allow_insecure and not _is_loopback(parts.hostname):
        raise ConfigError(
            f"refusing plain http:// to non-loopback host {parts.hostname!r}; "
            "use https or pass ClientOptions(allow_insecure_http=True)",
            field="base_url",
            provider=provider,
        )
    return base_url


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        import ipaddress

        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _build_settings(adapter_cls: type[Adapter], settings: Mapping[str, Any]) -> Any:
    import cattrs  # on first connect, not at import

    try:
        return cattrs.Converter(forbid_extra_keys=True).structure(
            dict(settings), adapter_cls.settings_type
        )
    except ConfigError:
        raise
    except cattrs.BaseValidationError as exc:
        if (own := _own_config_error(exc)) is not None:
            raise own from None
        detail = "; ".join(cattrs.transform_error(exc, path="settings"))
        raise ConfigError(
            f"invalid settings for {adapter_cls.name}: {detail}",
            field=_first_field(exc),
            provider=adapter_cls.name,
        ) from None


def _own_config_error(exc: BaseException) -> ConfigError | None:
    if isinstance(exc, ConfigError):
        return exc
    for sub in getattr(exc, "exceptions", ()):
        if (found := _own_config_error(sub)) is not None:
            return found
    return None


def _first_field(exc: BaseException) -> str | None:
    import cattrs

    if isinstance(exc, cattrs.ForbiddenExtraKeysError):
        return sorted(exc.extra_fields)[0]
    for note in getattr(exc, "__notes__", ()):
        if hasattr(note, "name"):
            return str(note.name)
    for sub in getattr(exc, "exceptions", ()):
        if found := _first_field(sub):
            return found
    return None


def _secret_fields(settings_type: type[Any]) -> list[attrs.Attribute[Any]]:
    if not attrs.has(settings_type):
        return []
    return [a for a in attrs.fields(settings_type) if a.metadata.get("secret")]


def _secret_settings(settings: Any) -> list[Any]:
    return [
        getattr(settings, a.name)
        for a in _secret_fields(type(settings))
        if getattr(settings, a.name) is not None
    ]
