"""Live displays on stderr: runs advancing, and a bulk create's progress bar.

On an interactive terminal they are rich live displays; elsewhere (CI logs,
pipes) they write a plain line whenever something changes, so logs stay readable.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from runbridge import Run

from .render import STATUS_STYLE, Output, progress_text


class _Display:
    """A rich ``Progress`` shown live on an interactive terminal, started by ``with``."""

    _live: bool
    _progress: Progress

    def __enter__(self) -> Self:
        if self._live:
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live:
            self._progress.stop()


class StatusBoard(_Display):
    """Live status of runs on stderr while they advance.

    On an interactive terminal each run gets a spinner, its status, a bar (filled
    from the provider's progress where it reports one) and its elapsed time.
    Elsewhere (CI logs, pipes) a plain line is written whenever a run's status or
    progress changes.
    """

    def __init__(self, output: Output, *, transient: bool = False) -> None:
        self._console = output.err
        self._live = self._console.is_interactive
        self._progress = Progress(
            SpinnerColumn(finished_text=" "),
            TextColumn("{task.fields[label]}"),
            TextColumn("{task.fields[status]}"),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[steps]}"),
            TimeElapsedColumn(),
            TextColumn("[dim]{task.fields[ref]}"),
            console=self._console,
            transient=transient,
        )
        self._labels: dict[TaskID, str] = {}
        self._last: dict[TaskID, str] = {}

    def add(self, label: str) -> TaskID:
        """A line for one run, labelled ``label``, waiting for its first status."""
        task = self._progress.add_task(
            "", total=None, label=escape(label), status="[dim]…[/]", steps="", ref=""
        )
        self._labels[task] = label
        return task

    def update(self, task: TaskID, run: Run) -> None:
        """Show ``run``'s current status on its line."""
        native = f" ({run.native_status})" if run.native_status else ""
        if not self._live:
            parts = [self._labels[task], str(run.ref), run.status.value + native]
            if run.progress is not None:
                parts.append(progress_text(run))
            if run.hold is not None:
                parts.append(run.hold.describe())
            line = "  ".join(p for p in parts if p)
            if line != self._last.get(task):
                self._last[task] = line
                self._console.print(Text(line), soft_wrap=True)
            return
        total: float | None = None
        completed: float = 0
        if run.progress is not None:
            total, completed = run.progress.total, run.progress.completed
        if run.status.is_terminal:
            total = total or 1
            completed = total
        self._progress.update(
            task,
            total=total,
            completed=completed,
            status=f"[{STATUS_STYLE[run.status]}]{run.status.value}[/]{escape(native)}",
            steps=progress_text(run),
            ref=escape(str(run.ref)),
        )


class Counter(_Display):
    """A progress bar for a count of items (bulk creates), or plain lines off a terminal."""

    def __init__(self, output: Output, description: str, total: int) -> None:
        self._console = output.err
        self._live = self._console.is_interactive
        self._description = description
        self._total = total
        self._done = 0
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self._console,
        )
        self._task = self._progress.add_task(description, total=total)

    def advance(self, count: int) -> None:
        """Count ``count`` more items as done."""
        self._done += count
        if self._live:
            self._progress.update(self._task, completed=self._done)
        else:
            self._console.print(f"{self._description} {self._done}/{self._total}")
