"""Exit codes of the ``runbridge`` command, and the error that means "exit 2"."""

from __future__ import annotations

OK, RUN_FAILED, USAGE, PROVIDER_ERROR, RUN_HELD, INTERRUPTED = 0, 1, 2, 3, 4, 130
"""Exit codes: success, the run did not succeed, usage or configuration, provider, the run
waits for a person or is paused, Ctrl+C."""

EXIT_CODES = """\
exit codes:
  0    success
  1    the run did not succeed (failed, cancelled, wait timed out, bulk failures)
  2    usage or configuration error
  3    provider or runtime error (auth, not found, unavailable, unsupported, ...)
  4    the run waits for a person or is paused (wait and watch, unless --on-hold wait)
  130  interrupted
"""
"""The exit codes as the help of every command lists them."""


class UsageError(Exception):
    """The command line itself is wrong (exit code 2)."""
