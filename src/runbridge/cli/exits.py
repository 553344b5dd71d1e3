"""Exit codes of the ``runbridge`` command, and the error that means "exit 2"."""

from __future__ import annotations

OK, RUN_FAILED, USAGE, PROVIDER_ERROR, INTERRUPTED = 0, 1, 2, 3, 130
"""Exit codes: success, the run did not succeed, usage or configuration, provider, Ctrl+C."""

EXIT_CODES = """\
exit codes:
  0    success
  1    the run did not succeed (failed, cancelled, wait timed out, bulk failures)
  2    usage or configuration error
  3    provider or runtime error (auth, not found, unavailable, unsupported, ...)
  130  interrupted
"""
"""The exit codes as the help of every command lists them."""


class UsageError(Exception):
    """The command line itself is wrong (exit code 2)."""
