"""What the command line prints for people: rich tables and lines, or JSON lines for scripts.

Results go to stdout; progress and status displays go to stderr, so that
``runbridge --json ... | jq`` sees nothing but JSON lines.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from runbridge import OPERATIONS, BulkError, ProviderInfo, Run, RunStatus, Support

from .hints import in_flags
from .records import dumps, iso, plugin_to_dict, provider_to_dict, run_to_dict

if TYPE_CHECKING:
    from runbridge import PluginInfo

STATUS_STYLE = {
    RunStatus.PENDING: "dim",
    RunStatus.RUNNING: "cyan",
    RunStatus.SUCCEEDED: "green",
    RunStatus.FAILED: "red",
    RunStatus.CANCELLED: "yellow",
    RunStatus.UNKNOWN: "magenta",
}

_COMMAND_OF = {"create_many": "bulk"}
"""The command of an operation whose name differs, for its notes to name its options."""

_WIDE = 1000
"""Width of tables written to a file or pipe, where wrapping helps nobody."""


def duration_text(seconds: float | None) -> str:
    """``4.2s`` or ``3m05s``; a dash when unknown."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def status_text(run: Run) -> Text:
    """The canonical status, coloured."""
    return Text(run.status.value, style=STATUS_STYLE[run.status])


def progress_text(run: Run) -> str:
    """``2/3`` (or ``2``) when the provider reports progress, else empty."""
    if run.progress is None:
        return ""
    total = run.progress.total
    return f"{run.progress.completed}/{total}" if total is not None else str(run.progress.completed)


def mapping_text(value: Mapping[str, Any] | None) -> str:
    """A mapping as compact JSON; a dash for none."""
    return "-" if value is None else dumps(dict(value))


def failure_text(run: Run) -> str:
    """``kind: message (code)``; empty when the run did not fail."""
    failure = run.failure
    if failure is None:
        return ""
    text: str = failure.kind
    if failure.message:
        text += f": {failure.message}"
    if failure.code:
        text += f" ({failure.code})"
    return text


def make_console(stream: IO[str]) -> Console:
    """A console on ``stream``: coloured on a terminal, plain and wide otherwise."""
    console = Console(file=stream, highlight=False, soft_wrap=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = _WIDE
    return console


def _dash(console: Console) -> str:
    return "—" if console.encoding.lower().startswith("utf") else "-"


class Output:
    """Where results and messages go: JSON lines or tables on stdout, notes on stderr."""

    def __init__(
        self, *, json: bool, stdout: IO[str] | None = None, stderr: IO[str] | None = None
    ) -> None:
        self.json = json
        self._stdout = stdout or sys.stdout
        self.out = make_console(self._stdout)
        self.err = make_console(stderr or sys.stderr)

    def line(self, value: Mapping[str, Any]) -> None:
        """One JSON object on its own line, flushed at once for pipes."""
        self._stdout.write(dumps(value) + "\n")
        self._stdout.flush()

    def note(self, text: str, *, style: str | None = None) -> None:
        """A message for the person at the terminal (stderr)."""
        self.err.print(Text(text, style=style or ""))

    def change(self, run: Run, changed: list[str]) -> None:
        """A watched run's change: a JSON line (the run and what changed), or one line
        ``time  ref  status (native)  progress``."""
        if self.json:
            self.line({**run_to_dict(run), "changed": changed})
            return
        native = f" ({run.native_status})" if run.native_status else ""
        line = Text(f"{iso(datetime.now(UTC))}  {run.ref}  ")
        line.append_text(status_text(run).append(native, style=""))
        if run.progress is not None:
            line.append(f"  {progress_text(run)}")
        if run.status.is_terminal and run.outputs:
            line.append(f"  outputs {mapping_text(run.outputs)}")
        if run.failure is not None:
            line.append(f"  {failure_text(run)}", style="red")
        if run.hold is not None:
            line.append(f"  {run.hold.describe()}", style="yellow")
        self.out.print(line)

    def run(self, run: Run) -> None:
        """One run: a JSON line, or one ``key  value`` line per field."""
        if self.json:
            self.line(run_to_dict(run))
            return
        native = f" ({run.native_status})" if run.native_status else ""
        rows: list[tuple[str, Text | str]] = [
            ("ref", str(run.ref)),
            ("status", status_text(run).append(native, style="")),
            ("target", run.target or "-"),
        ]
        if run.name:
            rows.append(("name", run.name))
        rows += [
            ("created", iso(run.created_at) or "-"),
            ("started", iso(run.started_at) or "-"),
            ("finished", iso(run.finished_at) or "-"),
            ("duration", duration_text(run.duration)),
        ]
        if run.progress is not None:
            rows.append(("progress", progress_text(run)))
        if run.cost is not None:
            rows.append(("cost", str(run.cost)))
        rows += [("inputs", mapping_text(run.inputs)), ("outputs", mapping_text(run.outputs))]
        if run.failure is not None:
            rows.append(("failure", Text(failure_text(run), style="red")))
        if run.hold is not None:
            rows.append(("hold", Text(run.hold.describe(), style="yellow")))
        for key, value in rows:
            self.out.print(Text.assemble((f"{key:<10}", "bold"), value), soft_wrap=True)

    def providers(self, infos: Sequence[ProviderInfo]) -> None:
        """The capability matrix."""
        if self.json:
            for info in infos:
                self.line(provider_to_dict(info))
            return
        dash = _dash(self.out)
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        for column in ("provider", "plugin", "pagination", *OPERATIONS):
            table.add_column(column, no_wrap=True)
        styles = {Support.NATIVE: "green", Support.EMULATED: "yellow"}
        notes: list[str] = []
        for info in infos:
            caveats = info.capabilities.notes
            cells = [
                Text(info.capabilities.support(op).value + ("*" if op in caveats else ""),
                     style=styles[support])
                if (support := info.capabilities.support(op)) is not Support.UNSUPPORTED
                else Text(dash, style="dim")
                for op in OPERATIONS
            ]  # fmt: skip
            notes.extend(
                f"* {info.name} {op}: {in_flags(text, _COMMAND_OF.get(op, op))}"
                for op, text in caveats.items()
            )
            table.add_row(
                Text(info.name, style="bold"),
                Text(info.plugin),
                Text(info.capabilities.pagination.value),
                *cells,
            )
        self.out.print(table)
        for note in notes:
            self.out.print(Text(note, style="dim"), soft_wrap=True)

    def plugins(self, infos: Sequence[PluginInfo]) -> None:
        """Each loaded plugin: where it came from and what it registered."""
        if self.json:
            for info in infos:
                self.line(plugin_to_dict(info))
            return
        dash = _dash(self.out)
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        for column in ("plugin", "distribution", "version", "providers", "entry point"):
            table.add_column(column, no_wrap=True)
        for info in infos:
            table.add_row(
                Text(info.name, style="bold"),
                Text(info.distribution or dash),
                Text(info.version or dash),
                Text(", ".join(info.providers)) if info.providers else Text(dash, style="dim"),
                Text(info.entry_point) if info.entry_point else Text("registered by hand"),
            )
        self.out.print(table)


class RunRows:
    """Runs printed as they arrive: a JSON line each, or aligned rows under one header."""

    COLUMNS = (("ref", 48), ("status", 10), ("native", 14), ("target", 40), ("created", 20))

    def __init__(self, output: Output) -> None:
        self._output = output
        self._header = True
        self.count = 0

    def add(self, runs: Iterable[Run]) -> None:
        """Print a batch of runs (one page) now."""
        runs = list(runs)
        self.count += len(runs)
        if self._output.json:
            for run in runs:
                self._output.line(run_to_dict(run))
            return
        if not runs and not self._header:
            return
        # One table per page with fixed widths, the header only once, so the rows of
        # every page line up while the listing streams.
        table = Table(box=None, show_header=self._header, pad_edge=False, header_style="bold")
        for name, width in self.COLUMNS:
            table.add_column(name, min_width=width, no_wrap=True, overflow="ellipsis")
        table.add_column("duration", no_wrap=True)
        for run in runs:
            created = iso(run.created_at)
            table.add_row(
                Text(str(run.ref)),
                status_text(run),
                Text(run.native_status or "-"),
                Text(run.target or "-"),
                Text(created[:19] + "Z" if created else "-"),
                Text(duration_text(run.duration)),
            )
        self._header = False
        self._output.out.print(table)


def bulk_errors_table(errors: Sequence[BulkError]) -> Table:
    """The requests of a bulk create that produced no run, by index."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, header_style="bold red")
    table.add_column("index", justify="right", no_wrap=True)
    table.add_column("error", no_wrap=True)
    table.add_column("message", overflow="fold")
    for error in errors:
        kind = type(error.error).__name__ if error.error is not None else "-"
        index = "?" if error.index is None else str(error.index)
        table.add_row(Text(index), Text(kind), Text(error.message))
    return table


def runs_table(runs: Sequence[tuple[str, Run | None, str]]) -> Table:
    """The demo's summary: one row per ``(label, run, note)``."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for column in ("provider", "ref", "status", "native status", "duration", "outputs", "failure"):
        table.add_column(column, overflow="fold")
    for label, run, note in runs:
        if run is None:
            table.add_row(label, "-", Text("error", style="red"), "-", "-", "-", Text(note))
            continue
        table.add_row(
            Text(label, style="bold"),
            Text(str(run.ref)),
            status_text(run),
            Text(run.native_status or "-"),
            Text(duration_text(run.duration)),
            Text(mapping_text(run.outputs)),
            Text(failure_text(run) or note, style="red" if run.failure else ""),
        )
    return table
