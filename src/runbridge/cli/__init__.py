"""The ``runbridge`` command line; its one public name is ``main``.

The command needs ``rich``, which comes with the ``cli`` extra. ``main`` checks
for it before anything else is imported, so that a plain ``pip install runbridge``
gets one line saying what to install instead of a traceback. The rest of the
package: ``parser`` (one function per command), ``dispatch`` (command to
function, exception to exit code), ``commands`` (the client commands),
``connection``, ``arguments``, ``records`` and ``render`` (what is printed),
``progress`` (live displays), ``emulate`` and ``demo``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]

_MISSING_EXTRA = (
    "runbridge: error: the command line needs the 'cli' extra: pip install 'runbridge[cli]'"
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (``sys.argv[1:]`` by default); returns the exit code."""
    try:
        import rich  # noqa: F401 - only to learn whether the extra is installed
    except ImportError:
        print(_MISSING_EXTRA, file=sys.stderr, flush=True)
        return 2
    from .dispatch import run

    return run(argv)
