"""The client a command talks through: from a profile, or from ``--provider`` and friends."""

from __future__ import annotations

import argparse
import os
from typing import Any

from runbridge import (
    ConfigError,
    ProviderInfo,
    RunClient,
    connect,
    load_config,
    parse_config,
)
from runbridge.adapter import default_registry

from .arguments import parse_pairs
from .exits import UsageError

TOKEN_ENV = "RUNBRIDGE_TOKEN"  # noqa: S105 - the name of a variable, not a token
"""Where ``--provider`` reads the token when ``--token-env`` names no other variable."""

PROFILE_ENV = "RUNBRIDGE_PROFILE"
"""The variable ``connect`` reads the profile name from (see ``Config.profile``)."""

ADHOC_PROFILE = "command-line"
"""Name of the profile built from ``--provider``, ``--base-url``, ``--token-env``, ``--setting``."""


def provider_info(name: str) -> ProviderInfo:
    """The installed provider ``name``; ``ConfigError`` lists the ones there are, or names
    the plugin ``RUNBRIDGE_PLUGINS`` leaves out that would provide it."""
    return default_registry.provider(name)


def webhook_secrets_from(args: argparse.Namespace) -> list[str] | None:
    """The secrets ``--secret-env`` names (never given literally), or ``None``."""
    names = getattr(args, "secret_env", None) or []
    secrets = []
    for name in names:
        value = os.environ.get(name)
        if not value:
            raise ConfigError(
                f"--secret-env: environment variable {name!r} is not set", field="secret_env"
            )
        secrets.append(value)
    return secrets or None


def connect_from_args(args: argparse.Namespace) -> RunClient:
    """A client from ``--provider`` and friends, or from a profile of the configuration."""
    settings = [*args.settings, *getattr(args, "settings_after", [])]
    secrets = webhook_secrets_from(args)
    if args.provider is None:
        if args.base_url is not None or args.token_env is not None or settings:
            raise UsageError(
                "--base-url, --token-env and --setting go with --provider "
                "(a profile sets them in the configuration file)"
            )
        config = load_config(args.config)
        if not (args.profile or os.environ.get(PROFILE_ENV) or config.default_profile):
            known = ", ".join(sorted(config.profiles)) or "none"
            raise ConfigError(
                f"no profile chosen: pass --profile NAME (known: {known}), set "
                f"{PROFILE_ENV}, or set default_profile in {config.path}",
                field="profile",
            )
        return connect(
            profile=args.profile,
            config=config,
            journal=getattr(args, "journal", None),
            webhook_secrets=secrets,
            observers=getattr(args, "observers", ()),
        )
    if args.profile is not None or args.config is not None:
        raise UsageError("use either --provider or --profile/--config, not both")
    provider_info(args.provider)  # an unknown provider is the first thing to say
    token_env = args.token_env or TOKEN_ENV
    if not os.environ.get(token_env):
        raise ConfigError(
            f"--provider {args.provider}: environment variable {token_env!r} is not set "
            f"(it holds the token; name another with --token-env)",
            field="token_env",
        )
    body: dict[str, Any] = {
        "provider": args.provider,
        "token_env": token_env,
        "settings": parse_pairs(settings, "--setting"),
    }
    if args.base_url is not None:
        body["base_url"] = args.base_url
    # An in-memory profile gets the same checks as one from a file: settings ending in
    # _env are read from the environment, and credentials as literals are refused.
    profile = parse_config({"profiles": {ADHOC_PROFILE: body}}).profile(ADHOC_PROFILE)
    return connect(
        profile=profile,
        journal=getattr(args, "journal", None),
        webhook_secrets=secrets,
        observers=getattr(args, "observers", ()),
    )
