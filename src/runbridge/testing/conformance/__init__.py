"""The adapter conformance kit: subclass ``AdapterConformance`` and name your provider.

```python
from runbridge.testing.conformance import AdapterConformance

class TestMyProvider(AdapterConformance):
    provider = "myprovider"
```

Or opt into parts, by operation; each part gates its tests on your adapter's
capabilities as the whole kit does (a test of an operation the adapter declares
unsupported is skipped, or checks that it is refused without a request):

| part | checks |
|---|---|
| ``CreateConformance`` | create, get, ids checked before the wire, timestamps, secrets |
| ``LifecycleConformance`` | runs that succeed, fail, are seen running; ``wait`` timing out |
| ``StatusConformance`` | every native status the ``StatusMap`` declares or the emulator documents |
| ``HoldConformance`` | held runs end waits (``RunHeld``); ``UnknownStatus``; pause, resume |
| ``ListConformance`` | pages, cursors resumed with any page size, filters |
| ``WriteConformance`` | ``create_many``, ``update``, ``cancel``, ``retry``, ``delete`` |
| ``ErrorConformance`` | auth, throttling, retried reads, messages and codes from error bodies |
| ``ExactlyOnceConformance`` | creates whose answers are lost leave one run each |
| ``AppTestingConformance`` | ``created``, ``calls``, plans per target, ``seed`` |
| ``EventConformance`` | ``parse_event`` on the emulator's own signed deliveries |

```python
class TestMyProviderReads(CreateConformance, ListConformance):
    provider = "myprovider"
```

Override the ``emulator`` fixture to seed it, and ``target`` if the emulator's
default target does not suit. Class attributes: ``registry`` tests an adapter
registered on a ``Registry`` of your own instead of an installed one;
``time_limit`` (seconds, default 30) fails a test that hangs, naming it.
"""

from __future__ import annotations

from ._app_testing import AppTestingConformance
from ._base import ConformanceBase
from ._create import CreateConformance
from ._errors import ErrorConformance
from ._events import EventConformance
from ._exactly_once import ExactlyOnceConformance
from ._holds import HoldConformance
from ._lifecycle import LifecycleConformance
from ._listing import ListConformance
from ._statuses import StatusConformance
from ._suite import AdapterConformance
from ._writes import WriteConformance

__all__ = [
    "AdapterConformance",
    "AppTestingConformance",
    "ConformanceBase",
    "CreateConformance",
    "ErrorConformance",
    "EventConformance",
    "ExactlyOnceConformance",
    "HoldConformance",
    "LifecycleConformance",
    "ListConformance",
    "StatusConformance",
    "WriteConformance",
]
