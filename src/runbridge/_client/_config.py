"""Profiles: provider, credentials by environment variable, settings and target aliases."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from .._model._errors import ConfigError
from .._wire._client_options import ClientOptions

if TYPE_CHECKING:
    from pathlib import Path

CONFIG_ENV = "RUNBRIDGE_CONFIG"
"""Path of the configuration file; ``runbridge.toml`` in the working directory otherwise."""

PROFILE_ENV = "RUNBRIDGE_PROFILE"
"""Name of the profile ``connect()`` uses when given neither provider nor profile."""

DEFAULT_FILE = "runbridge.toml"

_PROFILE_KEYS = frozenset(
    {"provider", "token_env", "base_url", "settings", "targets", "client", "journal", "journal_env"}
)
_CLIENT_KEYS = frozenset(
    {
        "timeout",
        "connect_timeout",
        "deadline",
        "max_connections",
        "max_connections_per_host",
        "max_body_bytes",
        "max_inflight_body_bytes",
        "settle_window",
        "rate",
        "max_in_flight",
    }
)
_LITERAL_SECRETS = frozenset({"token", "api_key", "key", "password", "secret"})


@attrs.frozen
class Profile:
    """A named way to reach one provider account, with logical target names.

    ``token_env`` names the environment variable holding the credential; settings
    ending in ``_env`` are read from the environment the same way (``admin_token_env``
    gives the ``admin_token`` setting). Nothing secret is stored in the file.
    """

    name: str
    provider: str
    token_env: str
    base_url: str | None = None
    settings: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
    targets: Mapping[str, str] = attrs.field(factory=dict, hash=False)
    client: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
    journal: str | None = None
    """Where creates are journaled: an SQLite file path or a ``postgresql://`` URL
    without a password (``journal_env`` names a variable holding one with it)."""
    journal_env: str | None = None

    def journal_location(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The journal this profile names (``journal``, or the ``journal_env`` variable)."""
        if self.journal_env is not None:
            return self._env(
                os.environ if environ is None else environ, self.journal_env, "journal_env"
            )
        return self.journal

    def resolved_settings(self, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Settings with every ``*_env`` reference replaced by its variable's value."""
        env = os.environ if environ is None else environ
        out: dict[str, Any] = {}
        for key, value in self.settings.items():
            if key.endswith("_env"):
                out[key[: -len("_env")]] = self._env(env, str(value), f"settings.{key}")
            else:
                out[key] = value
        return out

    def token(self, environ: Mapping[str, str] | None = None) -> str:
        """The credential, read from ``token_env``."""
        return self._env(os.environ if environ is None else environ, self.token_env, "token_env")

    def _env(self, env: Mapping[str, str], variable: str, key: str) -> str:
        value = env.get(variable)
        if not value:
            raise ConfigError(
                f"profile {self.name!r}: environment variable {variable!r} (from {key}) is not set",
                field=f"profiles.{self.name}.{key}",
                provider=self.provider,
            )
        return value

    def target(self, name: str) -> str:
        """The provider target a logical name stands for.

        A profile without aliases passes targets through; one with aliases
        accepts only its aliases, so a typo cannot reach a provider as a target.
        """
        if not self.targets:
            return name
        try:
            return self.targets[name]
        except KeyError:
            known = ", ".join(sorted(self.targets))
            raise ConfigError(
                f"profile {self.name!r} has no target alias {name!r} (known: {known})",
                field=f"profiles.{self.name}.targets.{name}",
                provider=self.provider,
            ) from None


@attrs.frozen
class Config:
    """Every profile of a configuration file, and which one is the default."""

    profiles: Mapping[str, Profile] = attrs.field(factory=dict, hash=False)
    default_profile: str | None = None
    path: Path | None = None

    def profile(self, name: str | None = None) -> Profile:
        """The named profile, else ``RUNBRIDGE_PROFILE``, else the file's default."""
        chosen = name or os.environ.get(PROFILE_ENV) or self.default_profile
        if not chosen:
            raise ConfigError(
                "no profile chosen: pass profile=..., set RUNBRIDGE_PROFILE, or set "
                f"default_profile in {self.path or DEFAULT_FILE}",
                field="profile",
            )
        if chosen not in self.profiles:
            known = ", ".join(sorted(self.profiles)) or "none"
            raise ConfigError(
                f"unknown profile {chosen!r} in {self.path or 'configuration'} (known: {known})",
                field=f"profiles.{chosen}",
            )
        return self.profiles[chosen]


def client_options(profile: Profile) -> ClientOptions:
    """The ``[client]`` table of a profile as ``ClientOptions``; ``ConfigError`` names a bad
    value as ``profiles.<name>.client.<key>``."""
    return _client_options(profile.name, profile.client)


def _client_options(name: str, table: Mapping[str, Any]) -> ClientOptions:
    where = f"profiles.{name}.client"
    try:
        return ClientOptions(**table)
    except ConfigError as exc:
        raise ConfigError(
            f"profile {name!r}: {exc.message}",
            field=f"{where}.{exc.field}" if exc.field else where,
        ) from None
    except TypeError as exc:  # an unknown key, were one to get past the parser
        raise ConfigError(f"profile {name!r}: invalid client options: {exc}", field=where) from None


def config_path() -> Path:
    """Where the configuration is read from."""
    from pathlib import Path  # on first use: it is a tenth of the import time

    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_FILE)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and check a configuration file (``RUNBRIDGE_CONFIG`` or ``./runbridge.toml``)."""
    from pathlib import Path

    where = Path(path) if path is not None else config_path()
    try:
        import tomllib  # only when a file is read: it is a tenth of the import time

        data = tomllib.loads(where.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"configuration file {str(where)!r} not found (set {CONFIG_ENV} or create "
            f"{DEFAULT_FILE})",
            field="config",
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}", field="config") from None
    return parse_config(data, path=where)


def parse_config(data: Mapping[str, Any], *, path: Path | None = None) -> Config:
    """Build a ``Config`` from already-parsed TOML data, checking every key."""
    unknown = set(data) - {"profiles", "default_profile"}
    if unknown:
        key = sorted(unknown)[0]
        raise ConfigError(f"unknown top-level key {key!r}", field=key)
    raw_profiles = data.get("profiles", {})
    if not isinstance(raw_profiles, Mapping):
        raise ConfigError("'profiles' must be a table", field="profiles")
    profiles = {name: _profile(name, body) for name, body in raw_profiles.items()}
    default = data.get("default_profile")
    if default is not None and default not in profiles:
        raise ConfigError(f"default_profile {default!r} is not a profile", field="default_profile")
    return Config(profiles, default, path)


def _profile(name: str, body: Any) -> Profile:
    where = f"profiles.{name}"
    if not isinstance(body, Mapping):
        raise ConfigError(f"profile {name!r} must be a table", field=where)
    for key in body:
        if key in _LITERAL_SECRETS:
            raise ConfigError(
                f"profile {name!r}: {key!r} must not be stored in the file; "
                f"name an environment variable with '{key}_env' instead",
                field=f"{where}.{key}",
            )
        if key not in _PROFILE_KEYS:
            raise ConfigError(f"profile {name!r}: unknown key {key!r}", field=f"{where}.{key}")
    for key in ("provider", "token_env"):
        if not isinstance(body.get(key), str) or not body[key]:
            raise ConfigError(
                f"profile {name!r}: {key!r} is required (a string)", field=f"{where}.{key}"
            )
    tables: dict[str, Mapping[str, Any]] = {}
    for key in ("settings", "targets", "client"):
        value = body.get(key, {})
        if not isinstance(value, Mapping):
            raise ConfigError(f"profile {name!r}: {key!r} must be a table", field=f"{where}.{key}")
        tables[key] = dict(value)
    for alias, target in tables["targets"].items():
        if not isinstance(target, str) or not target:
            raise ConfigError(
                f"profile {name!r}: target alias {alias!r} must name a target string",
                field=f"{where}.targets.{alias}",
            )
    for key in tables["client"]:
        if key not in _CLIENT_KEYS:
            raise ConfigError(
                f"profile {name!r}: unknown client option {key!r} "
                f"(known: {', '.join(sorted(_CLIENT_KEYS))})",
                field=f"{where}.client.{key}",
            )
    _client_options(name, tables["client"])  # a wrong value is named when the file is read
    base_url = body.get("base_url")
    if base_url is not None and not isinstance(base_url, str):
        raise ConfigError(f"profile {name!r}: base_url must be a string", field=f"{where}.base_url")
    journal, journal_env = _journal_keys(name, body)
    return Profile(
        name=name,
        provider=body["provider"],
        token_env=body["token_env"],
        base_url=base_url,
        settings=tables["settings"],
        targets=tables["targets"],
        client=tables["client"],
        journal=journal,
        journal_env=journal_env,
    )


def _journal_keys(name: str, body: Mapping[str, Any]) -> tuple[str | None, str | None]:
    where = f"profiles.{name}"
    journal, journal_env = body.get("journal"), body.get("journal_env")
    for key, value in (("journal", journal), ("journal_env", journal_env)):
        if value is not None and (not isinstance(value, str) or not value):
            raise ConfigError(
                f"profile {name!r}: {key!r} must be a non-empty string", field=f"{where}.{key}"
            )
    if journal is not None and journal_env is not None:
        raise ConfigError(
            f"profile {name!r}: give 'journal' or 'journal_env', not both",
            field=f"{where}.journal",
        )
    if isinstance(journal, str) and "://" in journal:
        from urllib.parse import urlsplit

        try:
            password = urlsplit(journal).password
        except ValueError:
            password = None
        if password:
            raise ConfigError(
                f"profile {name!r}: the journal URL holds a password; name an environment "
                "variable holding the URL with 'journal_env' instead",
                field=f"{where}.journal",
            )
    return journal, journal_env
