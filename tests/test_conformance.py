"""The conformance kit, run against every provider that ships an emulator.

The classes are drawn from the registry, as a plugin author's own suite would
subclass the kit once: the built-in adapters and the memo test plugin. Third-party
plugins installed beside runbridge are theirs to test, not runbridge's suite.
"""

from __future__ import annotations

from runbridge.testing import emulated_providers
from runbridge.testing.conformance import AdapterConformance

for _provider in [*emulated_providers(builtin=True), "memo"]:
    _name = f"Test{_provider.title().replace('-', '').replace('_', '')}Conformance"
    globals()[_name] = type(_name, (AdapterConformance,), {"provider": _provider})
