"""``runbridge demo``: the same runs on every provider that ships an emulator, offline.

The registry says which providers take part: every installed one whose adapter
declares an emulator (the three built-in ones, and any plugin's that ships one).
Each emulator is served on 127.0.0.1 in this process by
``runbridge.testing.emulated_fanout``: one profile per provider, built in memory,
maps the logical target ``invoice`` to each emulator's target, with tokens in an
environment mapping of its own; the fan-out creates the same two runs everywhere:
one planned to succeed, one planned to fail.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Mapping
from typing import Any

import attrs

from runbridge import ClientOptions, Outcome, Run, RunbridgeError, RunClient, RunStatus, WaitTimeout
from runbridge.emulation import Plan
from runbridge.testing import emulated_fanout, emulated_providers

from .emulate import build_emulator
from .exits import OK, RUN_FAILED, UsageError
from .progress import StatusBoard
from .records import run_to_dict
from .render import Output, runs_table

TARGET = "invoice"
"""The logical target every demo profile defines."""


@attrs.frozen
class Scenario:
    """One logical run of the demo and what it is planned to end as."""

    invoice: str
    expected: RunStatus
    outputs: Mapping[str, Any] | None = None

    def plan(self, position: int) -> Plan:
        """The emulator plan; later providers take a little longer, for a livelier display."""
        running = (4.0 if self.expected is RunStatus.SUCCEEDED else 2.0) + position
        outputs = dict(self.outputs) if self.outputs is not None else None
        return Plan(outcome=self.expected, queued=1.0, running=running, outputs=outputs)


SCENARIOS = (
    Scenario("INV-1001", RunStatus.SUCCEEDED, {"total": "1250.00", "currency": "EUR"}),
    Scenario("INV-1002", RunStatus.FAILED),
)


@attrs.frozen
class Row:
    """A demo run at the end: the run (or the error that stopped it) against the plan."""

    provider: str
    scenario: Scenario
    run: Run | None
    error: BaseException | None = None

    @property
    def as_planned(self) -> bool:
        """Whether the run ended as its plan said."""
        return (
            self.error is None
            and self.run is not None
            and (self.run.status is self.scenario.expected)
        )


async def demo(args: argparse.Namespace, output: Output) -> int:
    """Run the demo; 0 when every run reached its planned outcome."""
    names = emulated_providers()  # asked of the registry: every one that ships an emulator
    if not names:
        raise UsageError("no installed provider ships an emulator")
    emulators = {p: build_emulator(p, speed=args.speed) for p in names}
    # Production client options (retries that wait), not the testing ones.
    served = emulated_fanout(*names, emulators=emulators, target=TARGET, options=ClientOptions())
    async with served as (fan, _):
        output.note(
            f"Emulators of {', '.join(names)} serving on 127.0.0.1; creating "
            f"{len(SCENARIOS)} runs on each through one profile set",
            style="dim",
        )
        created: list[tuple[Scenario, list[Outcome]]] = []
        for scenario in SCENARIOS:
            for position, emulator in enumerate(emulators.values()):
                emulator.plan_next(scenario.plan(position))
            outcomes = await fan.create(TARGET, inputs={"invoice": scenario.invoice})
            created.append((scenario, outcomes))
        with StatusBoard(output) as board:
            rows = await asyncio.gather(
                *(
                    _follow(fan.clients[o.member], o, scenario, board, args.timeout)
                    for scenario, outcomes in created
                    for o in outcomes
                )
            )
    rows.sort(key=lambda r: (names.index(r.provider), r.scenario.invoice))
    if output.json:
        for row in rows:
            if row.run is not None:
                output.line(run_to_dict(row.run))
    else:
        output.out.print(
            runs_table([(r.provider, r.run, "" if r.error is None else str(r.error)) for r in rows])
        )
    for row in rows:
        if row.error is not None:
            output.note(f"runbridge: error: {row.error}", style="red")
    missed = [r for r in rows if not r.as_planned]
    if missed:
        output.note(f"{len(missed)} of {len(rows)} runs did not end as planned", style="red")
        return RUN_FAILED
    output.note(f"{len(rows)} runs on {len(names)} providers, each ended as planned", style="green")
    return OK


async def _follow(
    client: RunClient, outcome: Outcome, scenario: Scenario, board: StatusBoard, timeout: float
) -> Row:
    if outcome.run is None:
        return Row(outcome.provider, scenario, None, outcome.error)
    line = board.add(f"{outcome.provider:<12} {scenario.invoice}")
    try:
        run = await client.wait(
            outcome.run,
            timeout=timeout,
            poll_interval=0.2,
            max_interval=0.5,
            on_poll=lambda r: board.update(line, r),
        )
    except WaitTimeout as exc:
        return Row(outcome.provider, scenario, exc.run, exc)
    except RunbridgeError as exc:
        return Row(outcome.provider, scenario, outcome.run, exc)
    return Row(outcome.provider, scenario, run)
