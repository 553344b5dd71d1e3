"""Run an emulator in a process of its own: ``python -m runbridge.testing.host CONFIG``.

See ``runbridge.testing.HostedEmulator`` for the client side.
"""

from __future__ import annotations

import sys

from ._host import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
