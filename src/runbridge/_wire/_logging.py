"""Readable logs of what a client does: one line per operation at INFO, per attempt at DEBUG.

The loggers form a hierarchy under ``runbridge``: ``runbridge`` (operations),
``runbridge.http`` (attempts and retries), ``runbridge.create`` (exactly-once creates),
``runbridge.journal``, ``runbridge.events``, ``runbridge.observe`` (a failing observer).
``RUNBRIDGE_LOG=info`` (or ``debug``) turns them on for every client a process
connects, written to standard error; the CLI's ``-v``/``-vv`` do the same. Lines name
provider, operation, path template, status, reason and duration: never a credential,
an input, a body or a client token (error messages are already redacted).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from ._observe import Attempt, Operation

ENV = "RUNBRIDGE_LOG"
"""The variable that turns the logs on: ``info`` or ``debug``."""

LEVELS = {"info": logging.INFO, "debug": logging.DEBUG}

operations = logging.getLogger("runbridge")
attempts = logging.getLogger("runbridge.http")


class LogObserver:
    """An observer that logs each operation (INFO) and, at ``level=logging.DEBUG``, each
    attempt (DEBUG) too."""

    def __init__(self, level: int = logging.DEBUG) -> None:
        self.level = level

    def __repr__(self) -> str:
        return f"<LogObserver {logging.getLevelName(self.level)}>"

    def operation_ended(self, op: Operation) -> None:
        """``kognitos.get kognitos:ab12 succeeded in 12 ms`` or the error's type and message."""
        if not operations.isEnabledFor(logging.INFO):
            return
        subject = op.run_ref or op.target or ""
        if op.batch_size is not None:
            subject = f"{subject} ({op.batch_size} requests)".strip()
        millis = round((op.duration or 0.0) * 1000)
        if op.error is not None:
            operations.info(
                "%s.%s %s failed in %d ms: %s: %s",
                op.provider,
                op.operation,
                subject,
                millis,
                type(op.error).__name__,
                str(op.error)[:300],
            )
            return
        status = f" {op.run.status.value}" if op.run is not None else ""
        operations.info("%s.%s %s%s in %d ms", op.provider, op.operation, subject, status, millis)

    def attempt_ended(self, attempt: Attempt) -> None:
        """``kognitos.create POST /v2/runs -> 503 (5xx) in 3 ms, resend 1``."""
        if self.level > logging.DEBUG or not attempts.isEnabledFor(logging.DEBUG):
            return
        answer = str(attempt.status) if attempt.status is not None else attempt.error_type
        reason = f" ({attempt.retry_reason})" if attempt.retry_reason else ""
        resend = f", resend {attempt.resend_count}" if attempt.resend_count else ""
        attempts.debug(
            "%s.%s %s %s -> %s%s in %d ms%s",
            attempt.provider,
            attempt.operation,
            attempt.method,
            attempt.url_template,
            answer,
            reason,
            round((attempt.duration or 0.0) * 1000),
            resend,
        )

    def create_unconfirmed(self, provider: str) -> None:
        """A create whose outcome is unknown (its token is the caller's, never logged)."""
        operations.info("%s.create: outcome unknown; it carries a token to resolve", provider)

    def claim_taken_over(self, provider: str, sends: int) -> None:
        """A create another process left, taken over to be settled."""
        logging.getLogger("runbridge.journal").info(
            "%s: took over a create another process left (sent %d times)", provider, sends
        )

    def event_received(self, provider: str, outcome: str) -> None:
        """A run event delivery, accepted or rejected."""
        logging.getLogger("runbridge.events").info("%s: event delivery %s", provider, outcome)


def log_level(environ: Mapping[str, str] | None = None) -> int | None:
    """The level ``RUNBRIDGE_LOG`` asks for, ``None`` when it asks for none."""
    value = (os.environ if environ is None else environ).get(ENV, "").strip().lower()
    return LEVELS.get(value)


def enable(level: int) -> None:
    """Send runbridge's logs from ``level`` up to standard error (once per process)."""
    root = logging.getLogger("runbridge")
    root.setLevel(min(level, root.level) if root.level else level)
    if not any(getattr(h, "_runbridge", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._runbridge = True  # type: ignore[attr-defined]
        root.addHandler(handler)


def default_observers(environ: Mapping[str, str] | None = None) -> list[object]:
    """The observers every client gets: a ``LogObserver`` when ``RUNBRIDGE_LOG`` is set."""
    level = log_level(environ)
    if level is None:
        return []
    enable(level)
    return [LogObserver(level)]
