"""Native statuses: every value the adapter's ``StatusMap`` declares, and every value the
emulator documents, read back through the adapter on demand (``force_status``)."""

from __future__ import annotations

from ... import RunClient, RunStatus
from ...emulation import Emulator, NativeStatuses
from ._base import SETTLE, ConformanceBase

UNDECLARED = "runbridge-kit-undeclared-status"
"""A native value no adapter declares."""


def _documented_meanings(statuses: NativeStatuses) -> dict[str, RunStatus]:
    """The canonical status each documented native means, as the emulator states it."""
    return {
        native: RunStatus(meaning)
        for native in statuses.documented
        if (meaning := statuses.meaning(native)) is not None
    }


class StatusConformance(ConformanceBase):
    """Every status mapping, including values the emulator's clock never produces: the
    adapter reads each as its ``StatusMap`` declares (failure kinds too), the map agrees
    with what the emulator documents, and unknown values read as ``unknown``."""

    async def test_every_declared_status_reads_as_declared(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        statuses = self.declared_statuses(client)
        documented = set(emulator.statuses.documented)
        emulator.plan_next(queued=10_000)
        run = await client.create(target)
        wrong: list[str] = []
        for native in [*statuses.to_canonical, UNDECLARED]:
            emulator.force_status(run.id, native, undocumented=native not in documented)
            got = await client.get(run)
            declared = statuses.canonical(native)
            if got.native_status != native:
                wrong.append(f"{native!r}: native_status reads {got.native_status!r}")
            held = got.hold.kind if got.hold is not None else None
            if held != statuses.hold_kind(native):
                wrong.append(
                    f"{native!r}: hold reads {held!r}, declared {statuses.hold_kind(native)!r}"
                )
            if got.status is not declared:
                wrong.append(f"{native!r}: reads as {got.status}, declared {declared}")
            elif declared is RunStatus.FAILED:
                kind = statuses.failure_kind(native)
                if got.failure is None:
                    wrong.append(f"{native!r}: failed without a failure")
                elif got.failure.kind != kind:
                    wrong.append(
                        f"{native!r}: failure kind {got.failure.kind!r}, declared {kind!r}"
                    )
            elif got.failure is not None:
                wrong.append(f"{native!r}: {declared} with a failure ({got.failure.kind})")
        assert not wrong, "runs in these native statuses read wrongly: " + "; ".join(wrong)

    async def test_documented_statuses_are_declared_as_documented(
        self, client: RunClient, emulator: Emulator
    ) -> None:
        statuses = self.declared_statuses(client)
        documented = emulator.statuses
        meanings = _documented_meanings(documented)
        wrong: list[str] = []
        for native in documented.documented:
            if native not in statuses.to_canonical:
                wrong.append(f"{native!r} is documented but not in the StatusMap")
                continue
            meaning = meanings.get(native)
            declared = statuses.canonical(native)
            if statuses.hold_kind(native) != documented.holds.get(native):
                wrong.append(
                    f"{native!r} is documented as held {documented.holds.get(native)!r}, "
                    f"declared {statuses.hold_kind(native)!r}"
                )
            if meaning is not None and declared is not meaning:
                wrong.append(f"{native!r} is documented as {meaning}, declared {declared}")
            elif meaning is RunStatus.FAILED and native in documented.failed.values():
                kinds = sorted(k for k, v in documented.failed.items() if v == native)
                if statuses.failure_kind(native) not in kinds:
                    wrong.append(
                        f"{native!r} is documented for failures of kind {' or '.join(kinds)}, "
                        f"declared {statuses.failure_kind(native)!r}"
                    )
        assert not wrong, "the StatusMap disagrees with the emulator: " + "; ".join(wrong)

    async def test_unknown_native_status_maps_to_unknown(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        emulator.plan_next(native="quantum_entangled")
        run = await client.create(target)
        emulator.advance(SETTLE)
        got = await client.get(run)
        assert got.status is RunStatus.UNKNOWN
        assert not got.status.is_terminal
        assert got.native_status == "quantum_entangled"
