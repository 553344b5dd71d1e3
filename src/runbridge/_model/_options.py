"""Provider options as data: what each operation takes, checked by the core before any request."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ._errors import InvalidRequest

_NAMES = {"Mapping": "a mapping", "str": "a string", "bool": "a boolean", "int": "an integer"}


@attrs.frozen
class Option:
    """One provider option: the types a value may have.

    ``None`` passes the check; the adapter decides whether it is sent (as ``null``)
    or left out, and says so in the option's ``doc``.
    """

    kind: type | tuple[type, ...] = object
    doc: str = ""

    def accepts(self, value: object) -> bool:
        """Whether ``value`` is of an accepted type (a bool is not an int here)."""
        if value is None or self.kind is object:
            return True
        kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
        if isinstance(value, bool) and bool not in kinds:
            return False
        return isinstance(value, kinds)

    def describe(self) -> str:
        """The accepted types, for messages."""
        kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
        return " or ".join(_NAMES.get(k.__name__, k.__name__) for k in kinds)


@attrs.frozen
class Options:
    """The provider options one operation takes, by name.

    ``canonical`` names wire fields a caller must set through a canonical field
    instead (``{"input_values": "RunRequest.inputs"}``), so the message says where.
    """

    fields: Mapping[str, Option] = attrs.field(factory=dict, hash=False)
    canonical: Mapping[str, str] = attrs.field(factory=dict, hash=False)

    def check(
        self,
        options: object,
        *,
        provider: str,
        operation: str,
        where: str = "options",
    ) -> None:
        """Raise ``InvalidRequest`` naming ``where.<key>`` for an unknown or mistyped option."""
        if not isinstance(options, Mapping):
            raise InvalidRequest(
                f"{where} must be a mapping, not {type(options).__name__}",
                field=where,
                provider=provider,
                operation=operation,
            )
        for key, value in options.items():
            reason = self._problem(key, value, provider, operation)
            if reason is not None:
                raise InvalidRequest(
                    reason, field=f"{where}.{key}", provider=provider, operation=operation
                )

    def _problem(self, key: object, value: Any, provider: str, operation: str) -> str | None:
        if not isinstance(key, str):
            return f"option names are strings, not {type(key).__name__}"
        if key in self.canonical:
            return f"option {key!r} is set through {self.canonical[key]}"
        option = self.fields.get(key)
        if option is None:
            known = ", ".join(sorted(self.fields)) or "none"
            return f"{provider} cannot {operation} with option {key!r} (it takes: {known})"
        if not option.accepts(value):
            return f"option {key!r} must be {option.describe()}, not {type(value).__name__}"
        return None


NO_OPTIONS = Options()
"""An operation that takes no provider options."""
