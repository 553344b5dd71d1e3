"""The benchmark harness still runs end to end (small counts; no figures are judged)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "run.py"


def test_the_benchmark_harness_runs_and_reports_every_case() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for heading in ("### Targets", "### 1.", "### 2.", "### 3.", "### 4.", "### 5.", "### 6."):
        assert heading in done.stdout
    for row in (
        "cyberdesk page of 1,000",
        "kognitos page of 100",
        "runflow page of 100",
        "runbridge kognitos",
        "concurrency 256",
        "runbridge.providers() on top",
    ):
        assert row in done.stdout
